"""The answer to a sync step 1: what a room's doc has beyond the peer's state vector.

Small answers are one SYNC_STEP2 frame. A doc larger than
:data:`~engine.protocol.PART_BYTES` (a long meeting with many revisions passes the frame
limit) goes as several updates (:func:`engine.split_update`): UPDATE frames, then the last
part as the SYNC_STEP2, so a y-websocket client counts itself synced only once it has all
of it. For a peer that has none of the doc (a newcomer, or a loop of requests), the answer
is encoded once per version of the doc: a 2-hour transcript takes tens of ms, holding the
GIL. Splitting runs in a worker process: cutting a 1.4 MiB doc of 15,000 items took 213 ms
of pure Python, which in the relay's process stalled every room (p99 204 ms under
``bench/relay.py --attacks`` 5).

Example:
    >>> from pycrdt import Text
    >>> doc = Doc(); doc["t"] = Text("x" * 3000)
    >>> answers = SyncAnswers(doc, part_bytes=1024)
    >>> frames = anyio.run(lambda: answers.frames(b"\\x00", version=1))
    >>> len(frames) > 1, {frame[:2] for frame in frames[:-1]}, frames[-1][:2]
    (True, {b'\\x00\\x02'}, b'\\x00\\x01')
    >>> anyio.run(lambda: answers.frames(b"\\x00", version=1)) is frames  # cached
    True
"""

from __future__ import annotations

import anyio
import anyio.to_process
from pycrdt import Doc

from engine import decode_state, protocol, split_update


class SyncAnswers:
    """Answers to sync step 1 for one doc, the whole doc's cached per version."""

    def __init__(self, doc: Doc, *, part_bytes: int = protocol.PART_BYTES) -> None:
        self.doc = doc
        self.part_bytes = part_bytes
        self._whole: tuple[int, list[bytes]] | None = None
        self._encoding = anyio.Lock()  # newcomers at once share one encoding

    async def frames(self, state: bytes, *, version: int) -> list[bytes]:
        """The frames that bring a peer at ``state`` (a checked state vector) up to date
        with the doc at ``version``."""
        theirs = decode_state(state)
        if any(theirs.get(client, 0) for client in decode_state(self.doc.get_state())):
            return await self._encode(self.doc.get_update(state))
        async with self._encoding:
            if self._whole is None or self._whole[0] != version:
                self._whole = (version, await self._encode(self.doc.get_update()))
            return self._whole[1]

    async def _encode(self, update: bytes) -> list[bytes]:
        if len(update) <= self.part_bytes:
            return [protocol.sync_step2(update)]
        *parts, last = await anyio.to_process.run_sync(_split, update, self.part_bytes)
        return [protocol.update(part) for part in parts] + [protocol.sync_step2(last)]


def _split(update: bytes, max_bytes: int) -> list[bytes]:
    """:func:`engine.split_update`, in a worker process."""
    return split_update(update, max_bytes=max_bytes)

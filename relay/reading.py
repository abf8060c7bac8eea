"""Reading a transcript for a REST answer off the event loop.

Building the snapshot of a 2-hour transcript takes ~50 ms of pure Python, and loading its
stored updates first another ~70 ms: on the event loop, an export loop by one client
stalled every room (another room's round trip p99 280 ms). Here the event loop only
gathers bytes (the open room's encoded doc, a few ms, or the stored rows) and a worker
process builds the answer.

Example:
    >>> from engine import TranscriptDoc
    >>> doc = TranscriptDoc.create("t-1", title="Demo")
    >>> render([doc.encode_update()], "summary") is None
    True
"""

from __future__ import annotations

from typing import Any, Literal

import anyio.to_process

from engine import Format, TranscriptDoc, export

from .rooms import Rooms
from .updates import UpdateLog

Part = Literal["summary", "actions", "export", "snapshot"]


def render(updates: list[bytes], part: Part, fmt: Format = "md") -> Any:
    """``part`` of the snapshot of the doc the ``updates`` make (``export``: in ``fmt``)."""
    doc = TranscriptDoc()
    for data in updates:
        doc.apply_update(data)
    snapshot = doc.snapshot()
    if part == "export":
        return export(snapshot, fmt)
    if part == "snapshot":
        return snapshot
    return snapshot[part]


async def read_part(
    rooms: Rooms, log: UpdateLog, transcript_id: str, part: Part, fmt: Format = "md"
) -> Any:
    """``part`` of a transcript's merged doc: the open room's, or the stored one."""
    room = rooms.get(transcript_id)
    if room is not None:
        updates = [room.doc.get_update()]
    else:
        updates = await log.load(transcript_id)
    return await anyio.to_process.run_sync(render, updates, part, fmt)

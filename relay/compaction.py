"""Periodic compaction of the update log.

A transcript that an agent writes for two hours stores about 15,000 small updates (7 MiB);
the compactor replaces them with the doc they build, encoded as one update (1.4 MiB), in
the transaction that deletes them, so a cold room loads one small row (16 ms instead of
140 ms, ``bench/relay.py``). The encoded doc keeps every item id and every deletion, so
replicas still merge with it, and a restart rebuilds the identical doc (tested).

The work runs in a worker process: yrs holds the GIL while it decodes, and 15,000 rows
take it about 150 ms (``merge_updates``, which also keeps overwritten content, took 1.6 s),
which in the relay's process would stall every room.
"""

from __future__ import annotations

import logging

import anyio
import anyio.to_process
from pycrdt import Doc

from .leases import holder_id, take
from .metrics import Metrics
from .updates import UpdateLog

log = logging.getLogger("minuta.relay")


def squash(updates: list[bytes]) -> bytes:
    """The doc that ``updates`` build, as one update (run in a worker process).

    This is exactly what a restart would load, but for one case: the relay stores an
    update that arrived before one it depends on (so that the ack after that one does not
    cover what is not on disk), and if that dependency never came, yrs leaves the waiting
    update out here. No ack ever covered it: a state vector counts only what is applied.

    Example:
        >>> from pycrdt import Text
        >>> doc = Doc(); doc["t"] = text = Text("ab")
        >>> first = doc.get_update(); state = doc.get_state(); del text[0:1]
        >>> one = squash([first, doc.get_update(state)])
        >>> check = Doc(); check.apply_update(one); str(check.get("t", type=Text))
        'b'
    """
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc.get_update()


class Compactor:
    """Every ``every_s``, compact the transcripts with ``min_rows`` stored updates or more.

    Example:
        >>> from relay.db import connect, upgrade
        >>> from pycrdt import Doc, Text
        >>> engine = connect("sqlite://"); _ = upgrade(engine)
        >>> async def main() -> int:
        ...     async with UpdateLog(engine) as updates:
        ...         doc = Doc(); doc["t"] = text = Text()
        ...         for word in ("a", "b", "c"):
        ...             state = doc.get_state()
        ...             text.insert(len(text), word)
        ...             await updates.append("t-1", doc.get_update(state))
        ...         await Compactor(updates, min_rows=2).compact("t-1")
        ...         return len(await updates.rows("t-1"))
        >>> anyio.run(main)
        1
    """

    def __init__(
        self,
        updates: UpdateLog,
        *,
        every_s: float = 60.0,
        min_rows: int = 500,
        metrics: Metrics | None = None,
        leased: bool = False,
    ) -> None:
        self.updates = updates
        # Several relays on one database: one compacts a transcript (the others would
        # find their rows changed and give up, having done the work for nothing).
        self.leased = leased
        self.holder = holder_id("compactor")
        self.every_s = every_s
        self.min_rows = min_rows
        self.metrics = metrics or Metrics()

    async def run(self) -> None:
        """Compact what needs it, forever (cancel to stop: a compaction is atomic)."""
        while True:
            await anyio.sleep(self.every_s)
            await self.compact_all()

    async def compact_all(self) -> None:
        try:
            crowded = await self.updates.crowded(self.min_rows)
        except Exception:
            log.exception("could not list the transcripts to compact")
            self.metrics.errors.inc()
            return
        for transcript_id in crowded:
            try:
                if self.leased and not await self._leased(transcript_id):
                    continue
                await self.compact(transcript_id)
            except Exception:  # keep the rows as they are; try again next round
                log.exception("could not compact %s", transcript_id)
                self.metrics.errors.inc()

    async def _leased(self, transcript_id: str) -> bool:
        engine, ttl_s = self.updates.engine, 2 * self.every_s
        return await anyio.to_thread.run_sync(
            lambda: take(engine, "compaction", transcript_id, holder=self.holder, ttl_s=ttl_s)
        )

    async def compact(self, transcript_id: str) -> bool:
        """Fold every stored update of a transcript into one; False if nothing changed."""
        rows = await self.updates.rows(transcript_id)
        if len(rows) < 2:
            return False
        updates = [data for _, data in rows]
        merged = await anyio.to_process.run_sync(squash, updates)
        done = await self.updates.compact(
            transcript_id, merged, up_to_seq=rows[-1][0], rows=len(rows)
        )
        if done:
            self.metrics.compactions.inc()
        return done

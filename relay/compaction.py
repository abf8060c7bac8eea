"""Periodic compaction of the update log.

A transcript that an agent writes for two hours stores thousands of small updates; the
compactor folds them into one merged update (``pycrdt.merge_updates``, in a worker
thread) in the transaction that deletes them, so a cold room loads one row. Merging
loses nothing a replica needs: the merged update holds the same items and the same
deletions, and a restart rebuilds the identical doc (tested).
"""

from __future__ import annotations

import logging

import anyio
from pycrdt import merge_updates

from .metrics import Metrics
from .updates import UpdateLog

log = logging.getLogger("minuta.relay")


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
    ) -> None:
        self.updates = updates
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
                await self.compact(transcript_id)
            except Exception:  # keep the rows as they are; try again next round
                log.exception("could not compact %s", transcript_id)
                self.metrics.errors.inc()

    async def compact(self, transcript_id: str) -> bool:
        """Fold every stored update of a transcript into one; False if nothing changed."""
        rows = await self.updates.rows(transcript_id)
        if len(rows) < 2:
            return False
        merged = await anyio.to_thread.run_sync(merge_updates, *(data for _, data in rows))
        done = await self.updates.compact(
            transcript_id, merged, up_to_seq=rows[-1][0], rows=len(rows)
        )
        if done:
            self.metrics.compactions.inc()
        return done

"""SQL snapshots of the merged docs, refreshed with a debounce.

After a change a transcript is projected once things have been quiet for ``debounce_s``,
and at the latest ``max_wait_s`` after its first unprojected change, so a room that never
goes quiet is still snapshotted. The snapshot is taken on the event loop (pycrdt objects
stay on their thread); the SQL writes run in a worker thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from sqlalchemy import Engine, delete, insert
from sqlalchemy.orm import Session

from engine import Segment as SegmentData
from engine import Snapshot, TranscriptDoc, TranscriptError

from .db import Action, Segment, Transcript, writer
from .metrics import Metrics

log = logging.getLogger("minuta.relay")
MAX_REMEMBERED = 256  # transcripts whose last snapshot is kept, to write only changes


@dataclass
class _Dirty:
    doc: TranscriptDoc
    first: float
    last: float


class Projector:
    """Keeps ``transcripts``, ``segments`` and ``actions`` in step with the docs."""

    def __init__(
        self,
        engine: Engine,
        *,
        debounce_s: float = 1.0,
        max_wait_s: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.debounce_s = debounce_s
        self.max_wait_s = max_wait_s
        self.metrics = metrics or Metrics()
        self._dirty: dict[str, _Dirty] = {}
        # The segment rows last written per transcript, most recent last (see _write).
        self._written: dict[str, dict[str, dict[str, Any]]] = {}

    def touch(self, transcript_id: str, doc: TranscriptDoc) -> None:
        now = time.monotonic()
        entry = self._dirty.get(transcript_id)
        if entry is None:
            self._dirty[transcript_id] = _Dirty(doc, now, now)
        else:
            entry.last, entry.doc = now, doc

    async def run(self) -> None:
        """Project what is due, forever (cancel to stop; then call :meth:`flush_all`)."""
        while True:
            await anyio.sleep(min(self.debounce_s, self.max_wait_s) / 4)
            now = time.monotonic()
            due = [
                transcript_id
                for transcript_id, d in self._dirty.items()
                if now - d.last >= self.debounce_s or now - d.first >= self.max_wait_s
            ]
            for transcript_id in due:
                await self.flush(transcript_id)

    async def flush(self, transcript_id: str) -> None:
        """Write one transcript's snapshot now. A failure is logged and retried after
        the debounce: the doc is safe in the update log, only its projection waits."""
        entry = self._dirty.pop(transcript_id, None)
        if entry is None:
            return
        try:
            snapshot = entry.doc.snapshot()
        except TranscriptError:  # a doc a client broke: keep its last good snapshot
            log.warning("cannot snapshot %s: its doc is not a transcript", transcript_id)
            self.metrics.errors.inc()
            return
        try:
            await anyio.to_thread.run_sync(self._write, transcript_id, snapshot)
        except Exception:
            log.exception("could not write the snapshot of %s; will retry", transcript_id)
            self.metrics.errors.inc()
            if transcript_id not in self._dirty:
                now = time.monotonic()
                self._dirty[transcript_id] = _Dirty(entry.doc, now, now)
            return
        self.metrics.projections.inc()

    async def flush_all(self) -> None:
        for transcript_id in list(self._dirty):
            await self.flush(transcript_id)

    def _write(self, transcript_id: str, snapshot: Snapshot) -> None:
        meta = snapshot["meta"]
        segments = {s["segment_id"]: _segment_row(transcript_id, s) for s in snapshot["segments"]}
        # Only what changed since our last snapshot of this transcript: rewriting all 1,500
        # segments of a 2-hour transcript would hold SQLite's write lock long enough to
        # delay the update log's commits (and so every acknowledgement).
        before = self._written.pop(transcript_id, None) or {}
        stale = [k for k in before if k not in segments or before[k] != segments[k]]
        fresh = [row for k, row in segments.items() if before.get(k) != row]
        with Session(writer(self.engine)) as session, session.begin():
            row = session.get(Transcript, transcript_id)
            if row is None:  # deleted meanwhile
                return
            row.title = meta["title"]
            row.language = meta["language"]
            row.model = meta["model"]
            row.started_at = meta["started_at"] or row.started_at
            row.segment_count = len(segments)
            row.duration_s = max((s["t1"] for s in snapshot["segments"]), default=0.0)
            row.updated_at = datetime.now(UTC)
            mine = Segment.transcript_id == transcript_id
            if not before:  # first snapshot since we started: start from a clean slate
                session.execute(delete(Segment).where(mine))
            for chunk in range(0, len(stale), 500):
                ids = stale[chunk : chunk + 500]
                session.execute(delete(Segment).where(mine, Segment.segment_id.in_(ids)))
            if fresh:
                session.execute(insert(Segment), fresh)
            session.execute(delete(Action).where(Action.transcript_id == transcript_id))
            session.add_all(
                Action(
                    transcript_id=transcript_id,
                    action_id=a["action_id"],
                    text=a["text"],
                    owner=a["owner"],
                    due=a["due"],
                    status=a["status"],
                    conf=a["conf"],
                    segment_ids=a["segment_ids"],
                    origin=a["origin"],
                )
                for a in snapshot["actions"]
            )
        self._written[transcript_id] = segments
        while len(self._written) > MAX_REMEMBERED:  # forget the least recently written
            del self._written[next(iter(self._written))]


def _segment_row(transcript_id: str, s: SegmentData) -> dict[str, Any]:
    return {
        "transcript_id": transcript_id,
        "segment_id": s["segment_id"],
        "rev": s["rev"],
        "t0": s["t0"],
        "t1": s["t1"],
        "text": s["text"],
        "speaker": s["speaker"],
        "conf": s["conf"],
        "final": s["final"],
        "lang": s["lang"],
        "source": s["source"],
        "edited_by": s["edited_by"],
        "edited_at": s["edited_at"],
    }

"""SQL snapshots of the merged docs, refreshed with a debounce.

After a change a transcript is projected once things have been quiet for ``debounce_s``,
and at the latest ``max_wait_s`` after its first unprojected change, so a room that never
goes quiet is still snapshotted. Only encoding the doc happens on the event loop (pycrdt
objects stay on their thread; a few ms for a 2-hour transcript): the snapshot is read in a
worker process (~40 ms of pure Python for that transcript, which on the loop stalled every
room each time), and the SQL writes run in a worker thread.

A failed projection is retried after ``retry_s`` (1 s), doubling up to a minute, at most
``MAX_RETRIES`` times in a row without a new change (and with changes, no faster than
that back-off): a write that keeps failing must not spin, nor log a traceback a second.
What a snapshot leaves out as unreadable is counted once per part in
``minuta_unreadable_total{root=...}``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_process
from sqlalchemy import Engine, delete, insert
from sqlalchemy.orm import Session

from engine import Segment as SegmentData
from engine import Snapshot, TranscriptDoc

from .db import Action, Segment, Transcript, writer
from .leases import holder_id, take
from .metrics import Metrics

log = logging.getLogger("minuta.relay")
MAX_REMEMBERED = 256  # transcripts whose last snapshot is kept, to write only changes
MAX_RETRIES = 8  # failed projections in a row retried without a new change
MAX_BACKOFF_S = 60.0


@dataclass
class _Dirty:
    doc: TranscriptDoc
    first: float
    last: float


@dataclass
class _Failing:
    count: int  # failures in a row
    not_before: float  # no new attempt before this (monotonic time)


class Projector:
    """Keeps ``transcripts``, ``segments`` and ``actions`` in step with the docs."""

    def __init__(
        self,
        engine: Engine,
        *,
        debounce_s: float = 1.0,
        max_wait_s: float = 5.0,
        retry_s: float = 1.0,
        metrics: Metrics | None = None,
        lease_s: float | None = None,
    ) -> None:
        self.engine = engine
        # Several relays on one database: one at a time writes a transcript's projection,
        # holding a lease this long after its last write (None: this relay is alone).
        self.lease_s = lease_s
        self.holder = holder_id("projector")
        self.debounce_s = debounce_s
        self.max_wait_s = max_wait_s
        self.retry_s = retry_s  # the first back-off; it doubles at each failure in a row
        self.metrics = metrics or Metrics()
        self._dirty: dict[str, _Dirty] = {}
        # The segment rows last written per transcript, most recent last (see _write).
        self._written: dict[str, dict[str, dict[str, Any]]] = {}
        self._failing: dict[str, _Failing] = {}
        self._unreadable: dict[str, set[tuple[str, str]]] = {}  # already counted

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
                if (now - d.last >= self.debounce_s or now - d.first >= self.max_wait_s)
                and now >= self._not_before(transcript_id)
            ]
            for transcript_id in due:
                await self.flush(transcript_id)

    def _not_before(self, transcript_id: str) -> float:
        failing = self._failing.get(transcript_id)
        return 0.0 if failing is None else failing.not_before

    async def flush(self, transcript_id: str) -> None:
        """Write one transcript's snapshot now. A failure is logged and retried with a
        back-off: the doc is safe in the update log, only its projection waits."""
        entry = self._dirty.pop(transcript_id, None)
        if entry is None:
            return
        if self.lease_s is not None and not await self._leased(transcript_id):
            # Another relay writes it now: try again once its lease may have lapsed.
            self._dirty[transcript_id] = entry
            self._failing[transcript_id] = _Failing(0, time.monotonic() + self.lease_s / 2)
            return
        try:
            # Never raises for what a client wrote.
            snapshot = await anyio.to_process.run_sync(_snapshot, entry.doc.encode_update())
            self._count_unreadable(transcript_id, snapshot)
            await anyio.to_thread.run_sync(self._write, transcript_id, snapshot)
        except Exception as exc:
            self._failed(transcript_id, entry, exc)
            return
        self._failing.pop(transcript_id, None)
        self.metrics.projections.inc()

    async def _leased(self, transcript_id: str) -> bool:
        lease_s, holder = self.lease_s or 0.0, self.holder
        return await anyio.to_thread.run_sync(
            lambda: take(self.engine, "projection", transcript_id, holder=holder, ttl_s=lease_s)
        )

    def _failed(self, transcript_id: str, entry: _Dirty, exc: Exception) -> None:
        self.metrics.errors.inc()
        failing = self._failing.pop(transcript_id, None) or _Failing(0, 0.0)
        failing.count += 1
        delay = min(MAX_BACKOFF_S, self.retry_s * 2.0 ** (failing.count - 1))
        failing.not_before = time.monotonic() + delay
        self._failing[transcript_id] = failing  # most recent last
        while len(self._failing) > MAX_REMEMBERED:
            del self._failing[next(iter(self._failing))]
        if failing.count == 1:  # one traceback per run of failures
            log.exception("could not write the snapshot of %s; will retry", transcript_id)
        else:
            log.warning(
                "could not write the snapshot of %s (%d times in a row: %r)",
                transcript_id, failing.count, exc,
            )  # fmt: skip
        if failing.count >= MAX_RETRIES:
            log.error("giving up on the snapshot of %s until its next change", transcript_id)
        elif transcript_id not in self._dirty:
            now = time.monotonic()
            self._dirty[transcript_id] = _Dirty(entry.doc, now, now)

    def _count_unreadable(self, transcript_id: str, snapshot: Snapshot) -> None:
        found = {(u["root"], u["key"]) for u in snapshot["unreadable"]}
        counted = self._unreadable.pop(transcript_id, set())
        for u in snapshot["unreadable"]:
            if (u["root"], u["key"]) not in counted:
                self.metrics.unreadable.labels(u["root"]).inc()
                # The reason may quote the value (a segment's text): at DEBUG only.
                log.warning(
                    "%s: %s[%r] left out of its snapshot", transcript_id, u["root"], u["key"]
                )
                log.debug("%s: %s[%r]: %s", transcript_id, u["root"], u["key"], u["reason"])
        if found:  # healed parts are forgotten, so they count again if broken again
            self._unreadable[transcript_id] = found
            while len(self._unreadable) > MAX_REMEMBERED:
                del self._unreadable[next(iter(self._unreadable))]

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
            # Meta comes from clients' updates, unchecked by any request: fit it to the
            # columns (PostgreSQL refuses a longer value or a NUL, and would keep refusing).
            row.title = _sql_text(meta["title"], 500) or ""
            row.language = _sql_text(meta["language"], 16)
            row.model = _sql_text(meta["model"], 200)
            row.started_at = _sql_text(meta["started_at"], 40) or row.started_at
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
                    text=_sql_text(a["text"], None) or "",
                    owner=_sql_text(a["owner"], 200),
                    due=_sql_text(a["due"], 40),
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
        "text": _sql_text(s["text"], None),
        "speaker": _sql_text(s["speaker"], 200),
        "conf": s["conf"],
        "final": s["final"],
        "lang": _sql_text(s["lang"], 16),
        "source": s["source"],
        "edited_by": _sql_text(s["edited_by"], 128),
        "edited_at": _sql_text(s["edited_at"], 40),
    }


def _sql_text(value: str | None, max_chars: int | None) -> str | None:
    """``value`` as any SQL column takes it: no NUL, no lone surrogate, at most
    ``max_chars`` characters."""
    if value is None:
        return None
    clean = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return clean if max_chars is None else clean[:max_chars]


def _snapshot(update: bytes) -> Snapshot:
    """:meth:`TranscriptDoc.snapshot` of the doc ``update`` makes, in a worker process."""
    return TranscriptDoc.from_update(update).snapshot()

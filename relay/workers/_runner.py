"""Running the summary and action workers on the relay's rooms.

The relay tells :class:`Workers` about every stored client update (``touch``). A
transcript's run is due when 20 final segments are new or changed since its last run, or
once its activity has lasted 30 s and paused for 2 s, and at the latest 60 s after the
activity began (``WorkerOptions``). A transcript never has two runs at once.

A run reads the merged doc (human corrections included) on the event loop, computes in a
worker thread (the backend may be an LLM server), and writes back in one change with
origin "worker", stored and relayed like any client's update so browsers see it live:

- each action found becomes ``a-<segment_id>`` (one per segment, so reruns update it);
  fields a person changed stay theirs (see ``TranscriptDoc.edit_action``), and a
  person's own actions are never touched;
- an earlier action no longer found (its segment deleted, or corrected into something
  else) is marked stale, not removed;
- the summary is replaced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

import anyio
import anyio.to_process

from engine import Segment, TranscriptDoc
from engine.insights import ActionItem, SummaryResult, extract_actions, summarize

from ..leases import holder_id, take
from ..metrics import Metrics
from ..rooms import Room, Rooms

log = logging.getLogger("minuta.workers")
ACTION_PREFIX = "a-"
MAX_REMEMBERED = 256  # transcripts whose final texts at the last run are kept


class Backend(Protocol):
    """What computes actions and summaries: the heuristics, or an LLM."""

    name: str

    def actions(
        self, segments: list[Segment], *, language: str | None, today: date
    ) -> list[ActionItem]: ...

    def summary(self, segments: list[Segment], *, language: str | None) -> SummaryResult: ...


class HeuristicBackend:
    """The default: ``engine.insights``, no model needed."""

    name = "heuristic"

    def actions(
        self, segments: list[Segment], *, language: str | None, today: date
    ) -> list[ActionItem]:
        return extract_actions(segments, language=language, today=today)

    def summary(self, segments: list[Segment], *, language: str | None) -> SummaryResult:
        return summarize(segments, language=language)


class DocHost(Protocol):
    """Where the workers read and write docs: the relay's rooms, or a remote relay."""

    def peek(self, transcript_id: str) -> TranscriptDoc | None:
        """The doc if it is open here now (no loading)."""
        ...

    async def open(self, transcript_id: str) -> TranscriptDoc:
        """The merged doc, loaded or connected if need be."""
        ...

    async def change(self, transcript_id: str, fn: Callable[[TranscriptDoc], None]) -> None:
        """Apply ``fn`` to the open doc and return once the change is stored."""
        ...

    def release(self, transcript_id: str) -> None:
        """Done with it for now (a host may unload it)."""
        ...

    async def lease(self, transcript_id: str, holder: str, ttl_s: float) -> bool:
        """Whether ``holder`` may run on the transcript now (no other process does)."""
        ...


class RoomsHost:
    """The relay's own rooms (the workers run inside the relay)."""

    def __init__(self, rooms: Rooms, on_written: Callable[[Room], None] | None = None) -> None:
        self.rooms = rooms
        self.on_written = on_written
        self._open: dict[str, Room] = {}

    def peek(self, transcript_id: str) -> TranscriptDoc | None:
        room = self.rooms.get(transcript_id)
        return None if room is None else TranscriptDoc(room.doc)

    async def open(self, transcript_id: str) -> TranscriptDoc:
        room = self._open[transcript_id] = await self.rooms.open(transcript_id)
        return TranscriptDoc(room.doc)

    async def change(self, transcript_id: str, fn: Callable[[TranscriptDoc], None]) -> None:
        room = self._open[transcript_id]
        await room.change(fn)
        if self.on_written is not None:
            self.on_written(room)

    def release(self, transcript_id: str) -> None:
        room = self._open.pop(transcript_id, None)
        if room is not None:
            self.rooms.unload_if_idle(room)

    async def lease(self, transcript_id: str, holder: str, ttl_s: float) -> bool:
        engine = self.rooms.log.engine
        return await anyio.to_thread.run_sync(
            lambda: take(engine, "workers", transcript_id, holder=holder, ttl_s=ttl_s)
        )


# How long a worker process owns a transcript's runs after its last, when several share
# one database: a process that died (or restarted) hands them on this much later.
WORKER_LEASE_S = 60.0


@dataclass(frozen=True)
class WorkerOptions:
    every_finals: int = 20  # new or changed final segments that make a run due at once
    min_wait_s: float = 30.0  # otherwise, activity this long…
    quiet_s: float = 2.0  # …then paused this long
    max_wait_s: float = 60.0  # and at the latest this long after it began
    poll_s: float = 0.5
    # Several worker processes (relays, ``minuta worker``) on one database: one owns a
    # transcript's runs, this long after its last (None: this process is the only one).
    lease_s: float | None = None


@dataclass
class _Activity:
    first: float
    last: float


class Workers:
    """Runs the backend on transcripts as they change; ``run()`` until cancelled."""

    def __init__(
        self,
        host: DocHost | Rooms,
        backend: Backend | None = None,
        *,
        options: WorkerOptions | None = None,
        on_written: Callable[[Room], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.host: DocHost = RoomsHost(host, on_written) if isinstance(host, Rooms) else host
        self.backend: Backend = backend or HeuristicBackend()
        self.options = options or WorkerOptions()
        self.metrics = metrics or Metrics()
        self._activity: dict[str, _Activity] = {}
        self._seen: dict[str, dict[str, str]] = {}  # final texts at the last run
        self._locks: dict[str, anyio.Lock] = {}
        self.holder = holder_id("workers")

    def touch(self, transcript_id: str) -> None:
        """A client's update to ``transcript_id`` was stored."""
        now = time.monotonic()
        activity = self._activity.get(transcript_id)
        if activity is None:
            self._activity[transcript_id] = _Activity(now, now)
        else:
            activity.last = now

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            while True:
                await anyio.sleep(self.options.poll_s)
                for transcript_id in await self._due():
                    tg.start_soon(self._run_logged, transcript_id)

    async def _due(self) -> list[str]:
        o = self.options
        due = []
        for transcript_id, activity in list(self._activity.items()):
            if self._lock(transcript_id).locked():
                continue  # running: its changes are looked at again afterwards
            doc = self.host.peek(transcript_id)
            try:
                changed = await self._changed(transcript_id, doc) if doc is not None else 1
            except Exception:  # a reader bug: never the end of the workers' loop
                log.exception("cannot read the final texts of %s", transcript_id)
                self.metrics.errors.inc()
                self._activity.pop(transcript_id, None)  # the next change looks again
                continue
            now = time.monotonic()
            if changed == 0:
                if now - activity.last >= o.quiet_s:
                    self._activity.pop(transcript_id, None)  # nothing final changed
                continue
            waited = now - activity.first
            if (
                changed >= o.every_finals
                or (waited >= o.min_wait_s and now - activity.last >= o.quiet_s)
                or waited >= o.max_wait_s
            ):
                self._activity.pop(transcript_id, None)
                due.append(transcript_id)
        return due

    async def _changed(self, transcript_id: str, doc: TranscriptDoc) -> int:
        seen = self._seen.get(transcript_id, {})
        # Reading the final texts of a 2-hour transcript takes ~33 ms of pure Python, twice
        # a second while it changes: in a worker process, or it stalls every room.
        now = await anyio.to_process.run_sync(_final_texts, doc.encode_update())
        return sum(seen.get(k) != v for k, v in now.items()) + len(seen.keys() - now.keys())

    def _lock(self, transcript_id: str) -> anyio.Lock:
        return self._locks.setdefault(transcript_id, anyio.Lock())

    async def _run_logged(self, transcript_id: str) -> None:
        try:
            # Across relays and worker processes on one database, one of them runs on a
            # transcript: it keeps the lease while it stays busy with it.
            lease_s = self.options.lease_s
            if lease_s is not None and not await self.host.lease(
                transcript_id, self.holder, lease_s
            ):
                self._seen.pop(transcript_id, None)  # its owner runs; look afresh if we own it
                return
            if await self.run_now(transcript_id):
                log.info("ran on %s", transcript_id)
        except Exception:  # the next change tries again
            log.exception("the workers failed on %s", transcript_id)
            self.metrics.errors.inc()

    async def run_now(self, transcript_id: str) -> bool:
        """Run on ``transcript_id`` now (after any run in progress); False if it has no
        stored doc.

        Raises:
            RoomClosedError: the results could not be stored.
        """
        async with self._lock(transcript_id):
            started = time.perf_counter()
            doc = await self.host.open(transcript_id)
            try:
                return await self._run(transcript_id, doc)
            finally:
                self.host.release(transcript_id)
                self.metrics.worker_seconds.observe(time.perf_counter() - started)

    async def _run(self, transcript_id: str, doc: TranscriptDoc) -> bool:
        if isinstance(self.backend, HeuristicBackend):
            # Pure Python: read and compute in a worker process, or the GIL would stall
            # every room for the few hundred ms a 2-hour transcript takes. Only encoding
            # the doc (a few ms) happens here.
            reading, actions, summary = await anyio.to_process.run_sync(
                _heuristic_run, doc.encode_update()
            )
        else:  # an LLM: mostly waiting on the network
            reading = _read(doc)
            finals, language, today = reading.finals, reading.language, reading.today

            def compute() -> tuple[list[ActionItem], SummaryResult]:
                return (
                    self.backend.actions(finals, language=language, today=today),
                    self.backend.summary(finals, language=language),
                )

            actions, summary = await anyio.to_thread.run_sync(compute)
        if reading.seen is None:
            return False  # no transcript stored under this id
        seen, previous = reading.seen, reading.previous

        def write(doc: TranscriptDoc) -> None:
            found = set()
            for item in actions:
                action_id = ACTION_PREFIX + item.segment_id
                found.add(action_id)
                doc.upsert_action(
                    action_id,
                    text=item.text,
                    owner=item.owner,
                    due=item.due,
                    conf=round(item.conf, 2),
                    segment_ids=[item.segment_id],
                    source_span=None
                    if item.source_span is None
                    else {"from": item.source_span[0], "to": item.source_span[1]},
                )
                doc.mark_stale(action_id, False)
            for action_id in previous - found:
                doc.mark_stale(action_id)
            doc.set_summary(
                bullets=summary.bullets,
                risks=summary.risks,
                topics=summary.topics,
                model=self.backend.name,
            )

        await self.host.change(transcript_id, write)
        self._seen.pop(transcript_id, None)
        self._seen[transcript_id] = seen  # most recent last
        while len(self._seen) > MAX_REMEMBERED:
            del self._seen[next(iter(self._seen))]
        self.metrics.worker_runs.inc()
        return True


@dataclass(frozen=True)
class _Reading:
    """What a run reads from the doc."""

    seen: dict[str, str] | None  # final texts (None: the doc holds no transcript)
    previous: set[str]  # the worker's earlier actions
    finals: list[Segment]
    language: str | None
    today: date


def _read(doc: TranscriptDoc) -> _Reading:
    snapshot = doc.snapshot()
    meta = snapshot["meta"]
    return _Reading(
        seen=doc.final_texts() if meta["transcript_id"] else None,
        previous={
            a["action_id"]
            for a in snapshot["actions"]
            if a["origin"] == "worker" and a["action_id"].startswith(ACTION_PREFIX)
        },
        finals=[s for s in snapshot["segments"] if s["final"]],
        language=meta["language"],
        today=_meeting_date(meta["started_at"]),
    )


def _final_texts(update: bytes) -> dict[str, str]:
    """:meth:`TranscriptDoc.final_texts`, in a worker process."""
    return TranscriptDoc.from_update(update).final_texts()


def _heuristic_run(update: bytes) -> tuple[_Reading, list[ActionItem], SummaryResult]:
    """Read and compute from the encoded doc (in a worker process)."""
    doc = TranscriptDoc()  # not from_update: a doc without meta reads as "no transcript"
    doc.apply_update(update)
    reading = _read(doc)
    backend = HeuristicBackend()
    return (
        reading,
        backend.actions(reading.finals, language=reading.language, today=reading.today),
        backend.summary(reading.finals, language=reading.language),
    )


def _meeting_date(started_at: str | None) -> date:
    try:
        return date.fromisoformat(str(started_at)[:10])
    except ValueError:
        return datetime.now(UTC).date()

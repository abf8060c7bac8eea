"""Retention: transcripts older than their retention period are deleted, with their audio.

Each org has ``retention_days`` (90 unless changed with ``minuta db retention --org``); a
transcript's own period, set by an admin (``PATCH /transcripts/{id}``, which writes it
into the doc's meta too), overrides it; 0 keeps forever. Age counts from when
the transcript was created. The job runs every ``every_s`` (hourly) in the relay, and
``minuta db retention`` runs it once. It holds a lease (``job_leases``), so several relays
on one database run it once; each transcript is deleted in its own transaction
(:func:`relay.deletion.forget`, which writes an ``expire`` audit event), so a stop
mid-run loses nothing and the next run goes on with what is left.

Example:
    >>> from datetime import datetime, UTC
    >>> expires_at(datetime(2026, 1, 1, tzinfo=UTC), 90).isoformat()
    '2026-04-01T00:00:00+00:00'
    >>> expires_at(datetime(2026, 1, 1, tzinfo=UTC), 0) is None
    True
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from .audio import AudioStore
from .db import Org, Transcript, as_utc
from .deletion import forget, sweep_audio
from .leases import holder_id, release, take

log = logging.getLogger("minuta.relay")
DEFAULT_DAYS = 90


def expires_at(created_at: datetime, days: int) -> datetime | None:
    """When a transcript made at ``created_at`` expires (None: kept forever)."""
    if days <= 0:
        return None
    return as_utc(created_at) + timedelta(days=days)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetentionOptions:
    every_s: float = 3600.0
    batch: int = 200  # transcripts per query; the lease is renewed between batches
    lease_s: float = 300.0


@dataclass
class Retention:
    """The retention job over one database (and the relay's audio folder, if any).

    ``now`` is the clock (a test passes a fake one); ``on_deleted`` is told each deleted
    id after its commit (the relay closes its room's connections).
    """

    engine: Engine
    audio: AudioStore | None = None
    options: RetentionOptions = field(default_factory=RetentionOptions)
    now: Callable[[], datetime] = utc_now
    on_deleted: Callable[[str], Awaitable[None]] | None = None
    holder: str = field(default_factory=lambda: holder_id("retention"))

    async def run(self) -> None:
        """Delete what has expired every ``every_s``, forever (cancel to stop)."""
        while True:
            await self.run_once()
            await anyio.sleep(self.options.every_s)

    async def run_once(self) -> int:
        """One pass: every expired transcript deleted; how many (0 if another process
        holds the job)."""
        deleted = 0
        while True:
            if not await anyio.to_thread.run_sync(self._lease):
                return deleted
            batch = await anyio.to_thread.run_sync(self.expired)
            for transcript_id, org_id, days in batch:
                if await anyio.to_thread.run_sync(self._forget, transcript_id, days):
                    deleted += 1
                    log.info("retention: deleted %s of %s (%d days)", transcript_id, org_id, days)
                    if self.on_deleted is not None:
                        await self.on_deleted(transcript_id)
            if len(batch) < self.options.batch:
                break
        if self.audio is not None:
            await anyio.to_thread.run_sync(sweep_audio, self.engine, self.audio)
        await anyio.to_thread.run_sync(
            lambda: release(self.engine, "retention", "*", holder=self.holder)
        )
        return deleted

    def _lease(self) -> bool:
        return take(self.engine, "retention", "*", holder=self.holder, ttl_s=self.options.lease_s)

    def expired(self) -> list[tuple[str, str, int]]:
        """Up to ``batch`` expired transcripts: (transcript_id, org_id, retention days)."""
        now = self.now()
        days = func.coalesce(Transcript.retention_days, Org.retention_days)
        found: list[tuple[str, str, int]] = []
        with Session(self.engine) as session:
            periods = session.scalars(
                select(days).join(Org, Org.org_id == Transcript.org_id).distinct()
            ).all()
            # One query per period: date arithmetic in SQL differs by database.
            for period in sorted(p for p in periods if p is not None and p > 0):
                rows = session.execute(
                    select(Transcript.transcript_id, Transcript.org_id)
                    .join(Org, Org.org_id == Transcript.org_id)
                    .where(days == period, Transcript.created_at < now - timedelta(days=period))
                    .order_by(Transcript.created_at)
                    .limit(self.options.batch - len(found))
                ).all()
                found += [(r.transcript_id, r.org_id, period) for r in rows]
                if len(found) >= self.options.batch:
                    break
        return found

    def _forget(self, transcript_id: str, days: int) -> bool:
        return forget(
            self.engine, transcript_id, action="expire", audio=self.audio,
            retention_days=days, expired_at=self.now().isoformat(),
        )  # fmt: skip

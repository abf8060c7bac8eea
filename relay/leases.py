"""Leases: one process at a time does a background job on a transcript, across relays
and ``minuta worker`` processes sharing one database.

A lease is a row (``job_leases``): its holder keeps it by taking it again before
``until``; anyone may take one that has lapsed, so when its holder dies the job moves on
within one lease time. Taking is one short transaction (row locked on PostgreSQL, the
whole database on SQLite), so two processes never both hold it.

Example:
    >>> from relay.db import connect, upgrade
    >>> engine = connect("sqlite://")
    >>> _ = upgrade(engine)
    >>> take(engine, "workers", "t-1", holder="relay-a", ttl_s=60)
    True
    >>> take(engine, "workers", "t-1", holder="relay-b", ttl_s=60)
    False
    >>> take(engine, "workers", "t-1", holder="relay-a", ttl_s=60)  # renewed
    True
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import JobLease, as_utc, writer

JOBS = ("workers",)


def holder_id(role: str) -> str:
    """A name for this process as a lease holder, unique to it (a restart is another)."""
    return f"{role}-{socket.gethostname()[:24]}-{os.getpid()}-{secrets.token_hex(3)}"


def take(engine: Engine, job: str, transcript_id: str, *, holder: str, ttl_s: float) -> bool:
    """Hold ``job`` on ``transcript_id`` for ``ttl_s`` more seconds, if it is free, lapsed
    or ``holder``'s already; False if another holds it."""
    now = datetime.now(UTC)
    try:
        with Session(writer(engine)) as session, session.begin():
            lease = session.get(JobLease, (job, transcript_id), with_for_update=True)
            if lease is None:
                session.add(
                    JobLease(job=job, transcript_id=transcript_id, holder=holder,
                             until=now + timedelta(seconds=ttl_s))
                )  # fmt: skip
                return True
            until = as_utc(lease.until)
            if lease.holder != holder and until > now:
                return False
            lease.holder, lease.until = holder, now + timedelta(seconds=ttl_s)
            return True
    except IntegrityError:
        return False  # another process inserted it first


def release(engine: Engine, job: str, transcript_id: str, *, holder: str) -> None:
    """Give up ``holder``'s lease at once (a job done before its lease ran out)."""
    with Session(writer(engine)) as session, session.begin():
        lease = session.get(JobLease, (job, transcript_id), with_for_update=True)
        if lease is not None and lease.holder == holder:
            session.delete(lease)

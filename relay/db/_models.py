"""The SQL tables, as SQLAlchemy 2 typed ORM classes.

``doc_updates`` is the source of truth for a transcript's content: every Yjs update, in
arrival order. ``segments`` and ``actions`` are projections of the merged doc, rebuilt
from it and never the other way round (a room is always loaded from ``doc_updates``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a log.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ROLES = ("admin", "editor", "viewer")


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(at: datetime) -> datetime:
    """``at`` with its UTC offset: SQLite gives back the stored UTC times as naive.

    Example:
        >>> as_utc(datetime(2026, 12, 4, 9, 30)).isoformat()
        '2026-12-04T09:30:00+00:00'
    """
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def iso(at: datetime | None) -> str | None:
    """RFC 3339, with its offset (None stays None)."""
    return None if at is None else as_utc(at).isoformat()


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # How long its transcripts are kept after they were created (relay/retention.py).
    retention_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.org_id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Transcript(Base):
    __tablename__ = "transcripts"

    transcript_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.org_id"), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    language: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200))
    segment_count: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str | None] = mapped_column(String(128))
    # Its own retention period, overriding the org's (None: the org's). Set by an admin
    # (PATCH), who also writes it into the doc's meta; never taken from the meta, which
    # any editor's client can write (a short one would delete what editors cannot).
    retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class DeletedTranscript(Base):
    """A transcript id that was deleted: it is never stored or created again, by anyone
    (an update still in flight at the delete, or an agent's offline copy, would bring the
    deleted content back)."""

    __tablename__ = "deleted_transcripts"

    transcript_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Segment(Base):
    """A projection of one visible segment of the merged doc. Triggers index its text for
    search (migration 0005; :data:`relay.db.SEARCH_OBJECTS`)."""

    __tablename__ = "segments"

    transcript_id: Mapped[str] = mapped_column(
        ForeignKey("transcripts.transcript_id", ondelete="CASCADE"), primary_key=True
    )
    segment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    rev: Mapped[int] = mapped_column(Integer)
    t0: Mapped[float] = mapped_column(Float)
    t1: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(String(200))
    conf: Mapped[float | None] = mapped_column(Float)
    final: Mapped[bool] = mapped_column(Boolean)
    lang: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8))
    edited_by: Mapped[str | None] = mapped_column(String(128))
    edited_at: Mapped[str | None] = mapped_column(String(40))


class Action(Base):
    """A projection of one action item of the merged doc."""

    __tablename__ = "actions"

    transcript_id: Mapped[str] = mapped_column(
        ForeignKey("transcripts.transcript_id", ondelete="CASCADE"), primary_key=True
    )
    action_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    due: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    conf: Mapped[float | None] = mapped_column(Float)
    segment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    origin: Mapped[str] = mapped_column(String(8))


class AuditEvent(Base):
    __tablename__ = "audit_events"

    event_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)
    org_id: Mapped[str | None] = mapped_column(String(64), index=True)
    username: Mapped[str | None] = mapped_column(String(128))
    # login, connect, reject, export, delete, expire, audio…
    action: Mapped[str] = mapped_column(String(32))
    transcript_id: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DocUpdate(Base):
    """One Yjs update, as received; a transcript's doc is the merge of its rows in order."""

    __tablename__ = "doc_updates"
    __table_args__ = (Index("ix_doc_updates_transcript_seq", "transcript_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transcript_id: Mapped[str] = mapped_column(String(128))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class JobLease(Base):
    """Who does a background job on a transcript now (relay/leases.py): a process holds
    it until ``until``, renewing it while it works; when it dies, it lapses."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    transcript_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))

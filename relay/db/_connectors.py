"""The connectors' tables: each org's configured targets, the outbox of pushes, and the
ids of what each push made at the vendor.

A push is a set of ``connector_pushes`` rows, committed before the API answers, and the
dispatcher works them off (:mod:`relay.connectors`); ``connector_links`` remembers the
vendor's id per (connector, transcript, item), so that pushing again updates rather than
duplicates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy import Text as SqlText
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, BigId, utc_now

PUSH_STATES = ("queued", "sending", "sent", "failed", "dead")
FINAL_STATES = ("sent", "failed", "dead")


class Connector(Base):
    __tablename__ = "connectors"

    connector_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.org_id"), index=True)
    target: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    destination: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # AES-GCM: 12-byte nonce + ciphertext of the credential's JSON (relay/connectors/_secrets.py).
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    send: Mapped[str] = mapped_column(String(8))  # note, actions, both
    include_transcript: Mapped[bool] = mapped_column(Boolean, default=False)
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class ConnectorPush(Base):
    """One item to send: the note, or one action (``item`` is ``note`` or
    ``action:<action_id>``). ``payload`` is what to send, fixed when the push was asked for."""

    __tablename__ = "connector_pushes"
    __table_args__ = (
        Index("ix_connector_pushes_due", "state", "next_at"),
        Index("ix_connector_pushes_item", "connector_id", "transcript_id", "item"),
    )

    push_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    connector_id: Mapped[str] = mapped_column(
        ForeignKey("connectors.connector_id", ondelete="CASCADE")
    )
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    transcript_id: Mapped[str] = mapped_column(String(128), index=True)
    item: Mapped[str] = mapped_column(String(160))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(SqlText)
    external_id: Mapped[str | None] = mapped_column(String(200))
    requested_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConnectorLink(Base):
    """What a connector made for an item at the vendor, and the digest of what it sent."""

    __tablename__ = "connector_links"

    connector_id: Mapped[str] = mapped_column(
        ForeignKey("connectors.connector_id", ondelete="CASCADE"), primary_key=True
    )
    transcript_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    item: Mapped[str] = mapped_column(String(160), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

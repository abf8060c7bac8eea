"""Claiming outbox rows, and recording what became of them.

A dispatcher *claims* a due row by setting a lease: a dispatcher that dies mid-flight
leaves the row ``sending`` until its lease runs out, and the next claim asks the vendor
for the object the first try may have made (:meth:`Target.find`) before making one. A
result counts only while the claim still holds the row (its push_id and attempt): after a
lease ran out, the row is someone else's.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from ..db import FINAL_STATES, AuditEvent, Connector, ConnectorLink, ConnectorPush, writer
from ._payload import NOTE_ITEM, digest
from .targets import target_of


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claimed:
    """A row this dispatcher holds until its lease runs out, with what sending it needs
    (the credential still sealed: only a holder of the key opens it)."""

    push_id: int
    attempt: int
    connector_id: str
    org_id: str
    transcript_id: str
    item: str
    payload: dict[str, Any]
    external_id: str | None  # what an earlier push of this item made
    note_id: str | None  # this transcript's note at the vendor, if sent
    target: str
    destination: dict[str, Any]
    sealed: bytes

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "sealed": base64.b64encode(self.sealed).decode()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Claimed:
        return cls(**{**data, "sealed": base64.b64decode(data["sealed"])})


def claim(
    engine: Engine, *, lease_s: float, limit: int, org_id: str | None = None
) -> list[Claimed]:
    """Take up to ``limit`` due rows (of ``org_id``, if given): queued ones whose time has
    come, and ``sending`` ones whose dispatcher's lease ran out (it died mid-flight)."""
    now = _now()
    with Session(writer(engine)) as session, session.begin():
        query = select(ConnectorPush).where(
            or_(
                (ConnectorPush.state == "queued") & (ConnectorPush.next_at <= now),
                (ConnectorPush.state == "sending") & (ConnectorPush.lease_until <= now),
            )
        )
        if org_id is not None:
            query = query.where(ConnectorPush.org_id == org_id)
        due = session.scalars(
            query.order_by(ConnectorPush.push_id).limit(limit * 4).with_for_update(skip_locked=True)
        ).all()
        taken: list[Claimed] = []
        connectors: dict[str, Connector | None] = {}
        for row in due:
            if row.connector_id not in connectors:
                connectors[row.connector_id] = session.get(Connector, row.connector_id)
            connector = connectors[row.connector_id]
            if connector is None:
                continue
            needs_note = target_of(connector.target).needs_note
            if len(taken) == limit or _waits(session, row, needs_note):
                continue
            row.state = "sending"
            row.attempts += 1
            row.lease_until = now + timedelta(seconds=lease_s)
            links = {
                link.item: link.external_id
                for link in session.scalars(
                    select(ConnectorLink).where(
                        ConnectorLink.connector_id == row.connector_id,
                        ConnectorLink.transcript_id == row.transcript_id,
                        ConnectorLink.item.in_([row.item, NOTE_ITEM]),
                    )
                )
            }
            taken.append(
                Claimed(
                    push_id=row.push_id,
                    attempt=row.attempts,
                    connector_id=row.connector_id,
                    org_id=row.org_id,
                    transcript_id=row.transcript_id,
                    item=row.item,
                    payload=dict(row.payload),
                    external_id=links.get(row.item),
                    note_id=links.get(NOTE_ITEM),
                    target=connector.target,
                    destination=dict(connector.destination),
                    sealed=connector.secret,
                )
            )
        return taken


def _waits(session: Session, row: ConnectorPush, needs_note: bool) -> bool:
    """Whether an older row must go first: the same item's, or, for a task of a target
    that keeps tasks in the note (Notion), the note's."""
    items = [row.item, NOTE_ITEM] if needs_note and row.item != NOTE_ITEM else [row.item]
    older = session.scalar(
        select(ConnectorPush.push_id)
        .where(
            ConnectorPush.connector_id == row.connector_id,
            ConnectorPush.transcript_id == row.transcript_id,
            ConnectorPush.item.in_(items),
            ConnectorPush.push_id < row.push_id,
            ConnectorPush.state.not_in(FINAL_STATES),
        )
        .limit(1)
    )
    return older is not None


def _held(session: Session, push_id: int, attempt: int, org_id: str | None) -> ConnectorPush | None:
    """The row, if this claim still holds it (a lease that ran out may be someone else's)."""
    row = session.get(ConnectorPush, push_id)
    if row is None or row.state != "sending" or row.attempts != attempt:
        return None
    if org_id is not None and row.org_id != org_id:
        return None
    return row


def sent(
    engine: Engine, push_id: int, attempt: int, external_id: str, *, org_id: str | None = None
) -> bool:
    """Record the vendor's id; False if the row is no longer this claim's."""
    with Session(writer(engine)) as session, session.begin():
        row = _held(session, push_id, attempt, org_id)
        if row is None:
            return False
        row.state, row.external_id, row.sent_at = "sent", external_id, _now()
        row.lease_until, row.last_error = None, None
        key = (row.connector_id, row.transcript_id, row.item)
        link = session.get(ConnectorLink, key)
        if link is None:
            link = ConnectorLink(
                connector_id=key[0], transcript_id=key[1], item=key[2], external_id="", digest=""
            )
            session.add(link)
        link.external_id, link.digest, link.updated_at = external_id, digest(row.payload), _now()
        return True


def retry_later(
    engine: Engine,
    push_id: int,
    attempt: int,
    reason: str,
    delay_s: float,
    *,
    org_id: str | None = None,
) -> bool:
    with Session(writer(engine)) as session, session.begin():
        row = _held(session, push_id, attempt, org_id)
        if row is None:
            return False
        row.state, row.last_error, row.lease_until = "queued", reason[:2000], None
        row.next_at = _now() + timedelta(seconds=delay_s)
        return True


def give_up(
    engine: Engine,
    push_id: int,
    attempt: int,
    reason: str,
    *,
    dead: bool,
    org_id: str | None = None,
) -> bool:
    """A final failure: ``failed`` (the vendor refused for good) or ``dead`` (out of
    attempts), with an ``audit_events`` row. Returns whether this claim held the row."""
    state = "dead" if dead else "failed"
    with Session(writer(engine)) as session, session.begin():
        row = _held(session, push_id, attempt, org_id)
        if row is None:
            return False
        row.state, row.last_error, row.lease_until = state, reason[:2000], None
        session.add(
            AuditEvent(
                org_id=row.org_id,
                username=None,
                action="push_failed",
                transcript_id=row.transcript_id,
                detail={
                    "connector_id": row.connector_id,
                    "push_id": row.push_id,
                    "item": row.item,
                    "state": state,
                    "reason": reason[:300],
                },
            )
        )
        return True

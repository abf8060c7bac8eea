"""The durable outbox: a push is rows in ``connector_pushes``, committed before the API
answers, and worked off by the dispatcher (:mod:`relay.connectors._dispatch`).

- An item whose content was already sent (its digest is the link's) is not queued again;
  one queued or in flight with the same content is the same row (the idempotency key is
  the digest's): pushing twice never sends twice.
- A dispatcher *claims* a due row by setting a lease; a dispatcher that dies mid-flight
  leaves the row ``sending`` until its lease runs out, and the next claim asks the vendor
  for the object the first try may have made (:meth:`Target.find`) before making one.
- Per item, rows go out in order; a target whose tasks live in the note (Notion) gets a
  transcript's note first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from ..db import FINAL_STATES, Connector, ConnectorLink, ConnectorPush, writer
from ._payload import ACTION_ITEM, NOTE_ITEM, as_payload, digest, note_of, tasks_of
from .targets import target_of


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime | None) -> datetime | None:
    """SQLite gives back stored UTC times as naive."""
    return None if at is None else at if at.tzinfo else at.replace(tzinfo=UTC)


def push_json(row: ConnectorPush) -> dict[str, Any]:
    return {
        "push_id": row.push_id,
        "connector_id": row.connector_id,
        "transcript_id": row.transcript_id,
        "item": row.item,
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "external_id": row.external_id,
        "created_at": _iso(row.created_at),
        "next_at": _iso(row.next_at) if row.state in ("queued", "sending") else None,
        "sent_at": _iso(row.sent_at),
    }


def _iso(at: datetime | None) -> str | None:
    aware = _aware(at)
    return None if aware is None else aware.isoformat()


def enqueue(
    engine: Engine,
    connector: Mapping[str, Any],
    snapshot: Mapping[str, Any],
    *,
    requested_by: str | None,
) -> list[dict[str, Any]]:
    """Queue what ``connector`` sends of ``snapshot``; returns the rows that carry it
    (new, already queued, or sent before and unchanged)."""
    connector_id = str(connector["connector_id"])
    transcript_id = str(snapshot["meta"]["transcript_id"])
    target = target_of(str(connector["target"]))
    items: list[tuple[str, dict[str, Any]]] = []
    if connector["send"] in ("note", "both") or target.needs_note:
        note = note_of(snapshot, include_transcript=bool(connector["include_transcript"]))
        items.append((NOTE_ITEM, as_payload(note)))
    if connector["send"] in ("actions", "both"):
        items += [(ACTION_ITEM + t.action_id, as_payload(t)) for t in tasks_of(snapshot)]
    rows = []
    with Session(writer(engine)) as session, session.begin():
        links = {
            link.item: link
            for link in session.scalars(
                select(ConnectorLink).where(
                    ConnectorLink.connector_id == connector_id,
                    ConnectorLink.transcript_id == transcript_id,
                )
            )
        }
        for item, payload in items:
            version = digest(payload)
            link = links.get(item)
            if link is None and payload.get("status") == "dismissed":
                continue  # never sent: nothing to close
            key = hashlib.sha256(f"{connector_id}\0{transcript_id}\0{item}\0{version}".encode())
            row = session.scalar(
                select(ConnectorPush).where(ConnectorPush.idempotency_key == key.hexdigest())
            )
            if row is None:
                if link is not None and link.digest == version:
                    continue  # sent already, as it is now
                row = ConnectorPush(
                    connector_id=connector_id,
                    org_id=str(connector["org_id"]),
                    transcript_id=transcript_id,
                    item=item,
                    payload=payload,
                    idempotency_key=key.hexdigest(),
                    state="queued",
                    attempts=0,
                    next_at=_now(),
                    requested_by=requested_by,
                )
                session.add(row)
            elif row.state in ("failed", "dead"):
                # Asked again after a final failure: try again from the start.
                row.state, row.attempts, row.next_at, row.last_error = "queued", 0, _now(), None
            rows.append(row)
        session.flush()
        return [push_json(row) for row in rows]


def pushes(engine: Engine, org_id: str, transcript_id: str | None) -> list[dict[str, Any]]:
    with Session(engine) as session:
        query = select(ConnectorPush).where(ConnectorPush.org_id == org_id)
        if transcript_id is not None:
            query = query.where(ConnectorPush.transcript_id == transcript_id)
        rows = session.scalars(query.order_by(ConnectorPush.push_id).limit(1000))
        return [push_json(row) for row in rows]


@dataclass(frozen=True)
class Claimed:
    """A row this dispatcher holds until ``lease_until``."""

    push_id: int
    attempt: int
    connector_id: str
    org_id: str
    transcript_id: str
    item: str
    payload: dict[str, Any]
    external_id: str | None  # what an earlier push of this item made
    note_id: str | None  # this transcript's note at the vendor, if sent


def claim(engine: Engine, *, lease_s: float, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due rows: queued ones whose time has come, and ``sending``
    ones whose dispatcher's lease ran out (it died mid-flight)."""
    now = _now()
    with Session(writer(engine)) as session, session.begin():
        due = session.scalars(
            select(ConnectorPush)
            .where(
                or_(
                    (ConnectorPush.state == "queued") & (ConnectorPush.next_at <= now),
                    (ConnectorPush.state == "sending") & (ConnectorPush.lease_until <= now),
                )
            )
            .order_by(ConnectorPush.push_id)
            .limit(limit * 4)
            .with_for_update(skip_locked=True)
        ).all()
        taken: list[Claimed] = []
        needs_note: dict[str, bool] = {}
        for row in due:
            if row.connector_id not in needs_note:
                connector = session.get(Connector, row.connector_id)
                needs_note[row.connector_id] = bool(
                    connector and target_of(connector.target).needs_note
                )
            if len(taken) == limit or _waits(session, row, needs_note[row.connector_id]):
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


def _held(session: Session, claimed: Claimed) -> ConnectorPush | None:
    """The row, if this claim still holds it (a lease that ran out may be someone else's)."""
    row = session.get(ConnectorPush, claimed.push_id)
    if row is None or row.state != "sending" or row.attempts != claimed.attempt:
        return None
    return row


def sent(engine: Engine, claimed: Claimed, external_id: str) -> bool:
    """Record the vendor's id; False if the row is no longer this claim's."""
    with Session(writer(engine)) as session, session.begin():
        row = _held(session, claimed)
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


def retry_later(engine: Engine, claimed: Claimed, reason: str, delay_s: float) -> None:
    with Session(writer(engine)) as session, session.begin():
        row = _held(session, claimed)
        if row is not None:
            row.state, row.last_error, row.lease_until = "queued", reason, None
            row.next_at = _now() + timedelta(seconds=delay_s)


def give_up(engine: Engine, claimed: Claimed, reason: str, *, dead: bool) -> bool:
    """A final failure: ``failed`` (the vendor refused for good) or ``dead`` (out of
    attempts). Returns whether this claim still held the row."""
    with Session(writer(engine)) as session, session.begin():
        row = _held(session, claimed)
        if row is None:
            return False
        row.state, row.last_error, row.lease_until = ("dead" if dead else "failed"), reason, None
        return True

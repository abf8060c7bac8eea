"""The durable outbox: a push is rows in ``connector_pushes``, committed before the API
answers, and worked off by the dispatcher (:mod:`relay.connectors._dispatch`).

- An item whose content was already sent (its digest is the link's) is not queued again;
  one queued or in flight with the same content is the same row (the idempotency key is
  the digest's): pushing twice never sends twice.
- Dispatchers claim rows with a lease, and record their results: :mod:`._claims`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..db import ConnectorLink, ConnectorPush, iso, writer
from ._payload import ACTION_ITEM, NOTE_ITEM, as_payload, digest, note_of, tasks_of
from .targets import target_of


def _now() -> datetime:
    return datetime.now(UTC)


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
        "created_at": iso(row.created_at),
        "next_at": iso(row.next_at) if row.state in ("queued", "sending") else None,
        "sent_at": iso(row.sent_at),
    }


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

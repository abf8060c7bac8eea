"""Each org's connectors: added and removed by admins, credentials sealed at rest.

Rows are returned as plain dicts without the credential: it is opened only by the
dispatcher and ``test``, and never returned by the API or logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..db import Connector, iso, writer
from ._secrets import SecretBox
from .targets import TARGETS, target_of

SENDS = ("note", "actions", "both")
MAX_FIELD = 2000


class ConnectorError(ValueError):
    """A connector that cannot be added or used as asked; the message says why."""


@dataclass(frozen=True)
class ConnectorSpec:
    """What an admin gives to add a connector (``POST /connectors``, ``minuta connectors add``)."""

    target: str
    credential: Mapping[str, Any]
    destination: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    send: str = "both"
    include_transcript: bool = False

    def check(self) -> None:
        if self.target not in TARGETS:
            raise ConnectorError(f"unknown target {self.target!r}: one of {', '.join(TARGETS)}")
        if self.send not in SENDS:
            raise ConnectorError(f"send must be one of {', '.join(SENDS)}, got {self.send!r}")
        for what, values in (("credential", self.credential), ("destination", self.destination)):
            if not isinstance(values, Mapping):
                raise ConnectorError(f"{what} must be an object")
            for key, value in values.items():
                if not isinstance(value, str | int) or len(str(value)) > MAX_FIELD:
                    raise ConnectorError(f"{what}.{key} must be a string or number")
        if len(self.name) > 200:
            raise ConnectorError("name is longer than 200 characters")
        try:
            target_of(self.target).check_config(self.credential, self.destination)
        except ValueError as exc:
            raise ConnectorError(str(exc)) from None


def connector_json(row: Connector) -> dict[str, Any]:
    return {
        "connector_id": row.connector_id,
        "target": row.target,
        "name": row.name,
        "destination": dict(row.destination),
        "send": row.send,
        "include_transcript": row.include_transcript,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
    }


def add_connector(
    engine: Engine, box: SecretBox, org_id: str, spec: ConnectorSpec, *, created_by: str | None
) -> dict[str, Any]:
    spec.check()
    connector_id = "c-" + secrets.token_hex(6)
    row = Connector(
        connector_id=connector_id,
        org_id=org_id,
        target=spec.target,
        name=spec.name or spec.target,
        destination=dict(spec.destination),
        secret=box.seal(spec.credential, connector_id=connector_id, org_id=org_id),
        send=spec.send,
        include_transcript=spec.include_transcript,
        auto=False,
        created_by=created_by,
    )
    with Session(writer(engine)) as session, session.begin():
        session.add(row)
        session.flush()
        return connector_json(row)


def list_connectors(engine: Engine, org_id: str) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(Connector).where(Connector.org_id == org_id).order_by(Connector.created_at)
        )
        return [connector_json(row) for row in rows]


def remove_connector(engine: Engine, org_id: str, connector_id: str) -> bool:
    """Remove a connector with its queued pushes and remembered ids (the vendor's objects
    stay where they are)."""
    from ..db import ConnectorLink, ConnectorPush

    with Session(writer(engine)) as session, session.begin():
        row = session.get(Connector, connector_id)
        if row is None or row.org_id != org_id:
            return False
        for table in (ConnectorPush, ConnectorLink):
            session.query(table).filter(table.connector_id == connector_id).delete()
        session.delete(row)
        return True


@dataclass(frozen=True)
class Opened:
    """A connector with its credential open: for the dispatcher and ``test`` only."""

    row: dict[str, Any]
    credential: dict[str, Any]

    @property
    def connector_id(self) -> str:
        return str(self.row["connector_id"])


def open_connector(
    engine: Engine, box: SecretBox, org_id: str | None, connector_id: str
) -> Opened | None:
    """The connector (of ``org_id``, unless None) with its credential, or None."""
    with Session(engine) as session:
        row = session.get(Connector, connector_id)
        if row is None or (org_id is not None and row.org_id != org_id):
            return None
        credential = box.open(row.secret, connector_id=row.connector_id, org_id=row.org_id)
        return Opened({**connector_json(row), "org_id": row.org_id}, credential)


def pick_connector(
    engine: Engine, org_id: str, target: str, connector_id: str | None
) -> dict[str, Any]:
    """The connector a push to ``target`` means: the one named, or the org's only one of
    that target."""
    matches = [
        c
        for c in list_connectors(engine, org_id)
        if c["target"] == target and (connector_id is None or c["connector_id"] == connector_id)
    ]
    if not matches:
        raise ConnectorError(
            f"no {target} connector" + (f" {connector_id}" if connector_id else "")
        )
    if len(matches) > 1:
        raise ConnectorError(
            f"this org has {len(matches)} {target} connectors: name one with connector_id"
        )
    return matches[0]

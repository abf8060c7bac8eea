"""What every route module shares: the app's config and services, the bearer-token check,
SQL off the event loop, and the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
from quart import request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..audio import AudioStore
from ..auth import Claims, LoginGate, TokenError, verify
from ..config import RelayConfig, Services
from ..db import AuditEvent, Transcript, iso, writer
from ..errors import ApiError
from ..fanout import SendBudget
from ..limits import KeyedBuckets
from ..metrics import Metrics, ReconnectTracker
from ..rooms import Rooms


@dataclass
class RouteContext:
    config: RelayConfig
    services: Services
    reconnects: ReconnectTracker = field(default_factory=ReconnectTracker)
    connects: KeyedBuckets = field(init=False)
    send_budget: SendBudget = field(init=False)
    logins: LoginGate = field(init=False)

    def __post_init__(self) -> None:
        self.connects = KeyedBuckets(self.config.limits.connects)
        self.send_budget = SendBudget(self.config.limits.behind_total_bytes)
        self.logins = LoginGate(self.engine, self.config.tokens, self.audit, self.config.login)

    @property
    def engine(self) -> Engine:
        return self.config.engine

    @property
    def metrics(self) -> Metrics:
        return self.services.metrics

    @property
    def audio(self) -> AudioStore | None:
        folder = self.config.audio_dir
        return None if folder is None else AudioStore(folder)

    def rooms(self) -> Rooms:
        return self.services.rooms

    async def run_db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a worker thread: SQL never blocks the event loop."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))

    def audit(
        self, action: str, claims: Claims | None, transcript_id: str | None = None, **detail: Any
    ) -> None:
        with Session(writer(self.engine)) as session, session.begin():
            session.add(
                AuditEvent(
                    org_id=claims.org_id if claims else None,
                    username=claims.username if claims else None,
                    action=action,
                    transcript_id=transcript_id,
                    detail=detail,
                )
            )

    def bearer(self) -> Claims:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        try:
            return verify(self.config.tokens, token)
        except TokenError as exc:
            raise ApiError(401, str(exc)) from None

    async def visible(self, transcript_id: str, claims: Claims) -> dict[str, Any]:
        """The transcript's row, if it is the caller's org's (else 404, as for none)."""
        row = await self.run_db(find, self.engine, transcript_id)
        if row is None or row["org_id"] != claims.org_id:
            raise ApiError(404, f"no transcript {transcript_id}")
        return dict(row)


def find(engine: Engine, transcript_id: str) -> dict[str, Any] | None:
    with Session(engine) as session:
        row = session.get(Transcript, transcript_id)
        return None if row is None else row_json(row)


def row_json(row: Transcript) -> dict[str, Any]:
    return {
        "transcript_id": row.transcript_id,
        "org_id": row.org_id,
        "title": row.title,
        "language": row.language,
        "started_at": row.started_at,
        "segment_count": row.segment_count,
        "duration_s": row.duration_s,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def transcript_json(meta: Any, transcript_id: str) -> dict[str, Any]:
    return {
        "transcript_id": transcript_id,
        "org_id": meta["org_id"],
        "title": meta["title"],
        "language": meta["language"],
        "started_at": meta["started_at"],
    }

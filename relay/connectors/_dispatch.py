"""The dispatcher: works the outbox off, one vendor call per row.

- A vendor's 429 waits what its ``Retry-After`` says; other retryable failures (5xx,
  timeouts, a dropped connection) back off exponentially with full jitter, from
  ``base_delay_s`` up to ``max_delay_s``; after ``max_attempts`` the row is dead.
- Any other 4xx is permanent: the row is ``failed`` with the vendor's reason.
- Both final outcomes write an ``audit_events`` row.
- A row retried without a known vendor id first asks the vendor for an object with its
  marker: an earlier try may have been made and its answer lost (a timeout, or a
  dispatcher killed mid-flight), and a second create would be a duplicate.

It runs inside the relay (``minuta relay``) and, for a separate process,
``minuta connectors dispatch``; any number may run against one database.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..db import AuditEvent, writer
from ._outbox import Claimed, claim, give_up, retry_later, sent
from ._payload import NOTE_ITEM, from_payload, marker
from ._registry import open_connector
from ._secrets import SecretBox, SecretError
from .targets import Note, PermanentError, RetryableError, target_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchOptions:
    poll_s: float = 1.0  # how often to look for due rows when nobody woke us
    lease_s: float = 120.0  # a row's claim; longer than any one call (timeout_s)
    batch: int = 8  # rows claimed, and sent concurrently, at a time
    max_attempts: int = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 900.0
    timeout_s: float = 20.0  # per vendor request


class Dispatcher:
    """Example (a sketch; tests run it against local vendor servers)::

    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(engine, SecretBox.from_env(), http=http)
        await dispatcher.run()  # until cancelled
    """

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        options: DispatchOptions | None = None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.engine, self.box = engine, box
        self.options = options or DispatchOptions()
        self._http = http
        self._wake = anyio.Event()

    def wake(self) -> None:
        """Look for due rows now (a push was just queued)."""
        self._wake.set()

    async def run(self) -> None:
        async with self._client() as http:
            while True:
                if await self._round(http) == 0:
                    with anyio.move_on_after(self.options.poll_s):
                        await self._wake.wait()
                    self._wake = anyio.Event()

    async def run_once(self) -> int:
        """One round: claim what is due and send it; returns how many rows were tried."""
        async with self._client() as http:
            return await self._round(http)

    def _client(self) -> Any:
        if self._http is not None:
            return _Borrowed(self._http)
        return httpx.AsyncClient(timeout=self.options.timeout_s, follow_redirects=False)

    async def _round(self, http: httpx.AsyncClient) -> int:
        claimed = await anyio.to_thread.run_sync(
            lambda: claim(self.engine, lease_s=self.options.lease_s, limit=self.options.batch)
        )
        async with anyio.create_task_group() as tg:
            for row in claimed:
                tg.start_soon(self._send, http, row)
        return len(claimed)

    async def _send(self, http: httpx.AsyncClient, row: Claimed) -> None:
        try:
            external_id = await self._call(http, row)
        except PermanentError as exc:
            await self._final(row, exc.reason, dead=False)
        except RetryableError as exc:
            await self._again(row, exc.reason, exc.retry_after)
        except SecretError as exc:
            await self._final(row, str(exc), dead=False)
        except Exception as exc:  # a target's bug must not stop the other rows
            log.exception("push %s to connector %s failed", row.push_id, row.connector_id)
            await self._again(row, f"{type(exc).__name__}: {exc}", None)
        else:
            stored = await anyio.to_thread.run_sync(lambda: sent(self.engine, row, external_id))
            if not stored:
                log.warning("push %s: its lease ran out before the vendor answered", row.push_id)

    async def _call(self, http: httpx.AsyncClient, row: Claimed) -> str:
        opened = await anyio.to_thread.run_sync(
            lambda: open_connector(self.engine, self.box, None, row.connector_id)
        )
        if opened is None:
            raise PermanentError("the connector was removed")
        target = target_of(str(opened.row["target"]))
        credential, destination = opened.credential, opened.row["destination"]
        tag = marker(row.connector_id, row.transcript_id, row.item)
        item = from_payload(row.payload)
        kind: Literal["note", "task"] = "note" if row.item == NOTE_ITEM else "task"
        external_id = row.external_id
        if external_id is None and row.attempt > 1:
            external_id = await target.find(http, credential, destination, kind=kind, marker=tag)
        if isinstance(item, Note):
            return await target.push_note(
                http, credential, destination, item, external_id=external_id, marker=tag
            )
        return await target.push_task(
            http,
            credential,
            destination,
            item,
            external_id=external_id,
            marker=tag,
            note_id=row.note_id,
        )

    async def _again(self, row: Claimed, reason: str, retry_after: float | None) -> None:
        if row.attempt >= self.options.max_attempts:
            await self._final(row, f"gave up after {row.attempt} attempts: {reason}", dead=True)
            return
        if retry_after is not None:
            delay = retry_after + random.uniform(0, 0.1 * retry_after + 0.05)
        else:
            ceiling = min(self.options.max_delay_s, self.options.base_delay_s * 2**row.attempt)
            delay = random.uniform(self.options.base_delay_s / 2, ceiling)
        await anyio.to_thread.run_sync(lambda: retry_later(self.engine, row, reason, delay))

    async def _final(self, row: Claimed, reason: str, *, dead: bool) -> None:
        def record() -> None:
            if give_up(self.engine, row, reason, dead=dead):
                with Session(writer(self.engine)) as session, session.begin():
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
                                "state": "dead" if dead else "failed",
                                "reason": reason[:300],
                            },
                        )
                    )

        log.warning("push %s to connector %s: %s", row.push_id, row.connector_id, reason)
        await anyio.to_thread.run_sync(record)


class _Borrowed:
    """A client someone else owns, as a context manager that does not close it."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.http

    async def __aexit__(self, *exc: object) -> None:
        return None

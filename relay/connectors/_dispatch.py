"""The dispatcher: works the outbox off, one vendor call per row.

- A vendor's 429 waits what its ``Retry-After`` says; other retryable failures (5xx,
  timeouts, a dropped connection) back off exponentially with full jitter, from
  ``base_delay_s`` up to ``max_delay_s``; after ``max_attempts`` the row is dead.
- Any other 4xx is permanent: the row is ``failed`` with the vendor's reason.
- Both final outcomes write an ``audit_events`` row.
- A row retried without a known vendor id first asks the vendor for an object with its
  marker: an earlier try may have been made and its answer lost (a timeout, or a
  dispatcher killed mid-flight), and a second create would be a duplicate.

The rows come from an :class:`Outbox`: the database itself (:class:`SqlOutbox`, inside
the relay and ``minuta connectors dispatch``) or the relay's REST API
(:class:`~relay.connectors._remote.RemoteOutbox`, for ``minuta worker --dispatch``). Any
number of dispatchers may share one outbox. Credentials arrive sealed and are opened here,
with the dispatcher's own key.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import anyio
import httpx
from sqlalchemy import Engine

from . import _claims
from ._claims import Claimed
from ._payload import NOTE_ITEM, from_payload, marker
from ._secrets import SecretBox, SecretError
from .targets import Note, PermanentError, RetryableError, target_of
from .targets._base import vendor_client

log = logging.getLogger(__name__)
# A failure's head: "HTTP 400", "gave up after 5 attempts: HTTP 429" (not what follows).
_HEAD = re.compile(r"(?:gave up after \d+ attempts: )?[^:]*")


@dataclass(frozen=True)
class DispatchOptions:
    poll_s: float = 1.0  # how often to look for due rows when nobody woke us
    lease_s: float = 120.0  # a row's claim; longer than any one call (timeout_s)
    batch: int = 8  # rows claimed, and sent concurrently, at a time
    max_attempts: int = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 900.0
    timeout_s: float = 20.0  # per vendor request


class Outbox(Protocol):
    """Where a dispatcher takes rows from and tells what became of them."""

    async def claim(self, *, lease_s: float, limit: int) -> list[Claimed]: ...

    async def sent(self, row: Claimed, external_id: str) -> bool: ...

    async def retry_later(self, row: Claimed, reason: str, delay_s: float) -> None: ...

    async def give_up(self, row: Claimed, reason: str, *, dead: bool) -> None: ...


class SqlOutbox:
    """The outbox in the relay's database (SQL in worker threads)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def claim(self, *, lease_s: float, limit: int) -> list[Claimed]:
        return await anyio.to_thread.run_sync(
            lambda: _claims.claim(self.engine, lease_s=lease_s, limit=limit)
        )

    async def sent(self, row: Claimed, external_id: str) -> bool:
        return await anyio.to_thread.run_sync(
            lambda: _claims.sent(self.engine, row.push_id, row.attempt, external_id)
        )

    async def retry_later(self, row: Claimed, reason: str, delay_s: float) -> None:
        await anyio.to_thread.run_sync(
            lambda: _claims.retry_later(self.engine, row.push_id, row.attempt, reason, delay_s)
        )

    async def give_up(self, row: Claimed, reason: str, *, dead: bool) -> None:
        await anyio.to_thread.run_sync(
            lambda: _claims.give_up(self.engine, row.push_id, row.attempt, reason, dead=dead)
        )


class Dispatcher:
    """Example (a sketch; tests run it against local vendor servers)::

    dispatcher = Dispatcher(engine, SecretBox.from_env())
    await dispatcher.run()  # until cancelled
    """

    def __init__(
        self,
        outbox: Engine | Outbox,
        box: SecretBox,
        options: DispatchOptions | None = None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.outbox: Outbox = SqlOutbox(outbox) if isinstance(outbox, Engine) else outbox
        self.box = box
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
        return vendor_client(self.options.timeout_s)

    async def _round(self, http: httpx.AsyncClient) -> int:
        claimed = await self.outbox.claim(lease_s=self.options.lease_s, limit=self.options.batch)
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
            if not await self.outbox.sent(row, external_id):
                log.warning("push %s: its lease ran out before the vendor answered", row.push_id)

    async def _call(self, http: httpx.AsyncClient, row: Claimed) -> str:
        credential = self.box.open(row.sealed, connector_id=row.connector_id, org_id=row.org_id)
        target = target_of(row.target)
        destination = row.destination
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
        await self.outbox.retry_later(row, reason, delay)

    async def _final(self, row: Claimed, reason: str, *, dead: bool) -> None:
        # A vendor's answer may quote what was pushed (a summary, an action): its head here
        # ("HTTP 400"), the whole of it at DEBUG and with the push (give_up stores it).
        match = _HEAD.match(reason)
        head = match.group(0) if match else reason
        log.warning("push %s to connector %s: %s", row.push_id, row.connector_id, head)
        log.debug("push %s to connector %s: %s", row.push_id, row.connector_id, reason)
        await self.outbox.give_up(row, reason, dead=dead)


class _Borrowed:
    """A client someone else owns, as a context manager that does not close it."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.http

    async def __aexit__(self, *exc: object) -> None:
        return None

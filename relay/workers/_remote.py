"""A relay's transcripts as local docs, for ``minuta worker`` (the workers' remote host).

The workers run inside the relay by default. ``minuta worker`` runs them in another
process instead: it watches the relay's transcript list (each row's ``updated_at`` moves
when its doc changes), keeps a synced copy of each active transcript over its own
websocket (:class:`WorkerSync`), and writes the results into that copy, which syncs them
back: the relay stores and relays them like any client's update.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio
import httpx
from anyio.abc import TaskGroup

from engine import Origin, TranscriptDoc

from ._client import RelayLogin, RelayLoginError, WorkerSync

log = logging.getLogger("minuta.workers")


@dataclass
class _Session:
    doc: TranscriptDoc
    sync: WorkerSync
    scope: anyio.CancelScope
    last_change: float = field(default_factory=time.monotonic)


class RemoteDocs:
    """The :class:`DocHost` of ``minuta worker``; ``run()`` until cancelled."""

    def __init__(
        self,
        login: RelayLogin,
        *,
        on_change: Callable[[str], None],
        poll_s: float = 5.0,
        recent: timedelta = timedelta(minutes=10),
        idle_s: float = 600.0,
    ) -> None:
        self.login = login
        self.on_change = on_change
        self.poll_s = poll_s
        self.recent = recent
        self.idle_s = idle_s
        self._sessions: dict[str, _Session] = {}
        self._seen: dict[str, str] = {}  # transcript_id -> updated_at last seen
        self._tg: TaskGroup | None = None

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            since = datetime.now(UTC) - self.recent
            while True:
                try:
                    await self._poll(since)
                except (httpx.HTTPError, RelayLoginError) as exc:
                    log.warning("cannot list the relay's transcripts: %s", exc)
                    if isinstance(exc, httpx.TransportError):
                        self.login.fail_over()
                self._close_idle()
                await anyio.sleep(self.poll_s)

    async def _poll(self, since: datetime) -> None:
        for row in await self._list():
            transcript_id, updated = str(row["transcript_id"]), row.get("updated_at")
            if not updated or self._seen.get(transcript_id) == updated:
                continue
            first_sight = transcript_id not in self._seen
            self._seen[transcript_id] = str(updated)
            if first_sight and datetime.fromisoformat(str(updated)).replace(tzinfo=UTC) < since:
                continue  # history from before we started: not ours to redo
            await self._ensure(transcript_id)
            self.on_change(transcript_id)

    async def lease(self, transcript_id: str, holder: str, ttl_s: float) -> bool:
        """Through the relay (``POST /transcripts/{id}/lease``): one process runs on a
        transcript however many ``minuta worker`` processes and relays there are."""
        response = await self.login.request(
            "POST",
            f"/transcripts/{transcript_id}/lease",
            json={"job": "workers", "holder": holder, "ttl_s": ttl_s},
        )
        response.raise_for_status()
        return bool(response.json()["granted"])

    async def _list(self) -> list[dict[str, object]]:
        response = await self.login.request("GET", "/transcripts", params={"limit": 200})
        response.raise_for_status()
        return list(response.json()["items"])

    async def _ensure(self, transcript_id: str) -> _Session:
        session = self._sessions.get(transcript_id)
        if session is not None:
            return session
        assert self._tg is not None, "run() first"
        doc = TranscriptDoc()
        sync = WorkerSync(doc, self.login, transcript_id)
        scope = anyio.CancelScope()
        session = self._sessions[transcript_id] = _Session(doc, sync, scope)

        def changed(_update: bytes, origin: Origin | None) -> None:
            session.last_change = time.monotonic()
            if origin != Origin.WORKER:  # our own results are not news
                self.on_change(transcript_id)

        doc.observe(changed)

        async def keep_synced() -> None:
            with scope:
                await sync.run()

        self._tg.start_soon(keep_synced)
        return session

    def _close_idle(self) -> None:
        now = time.monotonic()
        for transcript_id, session in list(self._sessions.items()):
            if now - session.last_change > self.idle_s:
                session.scope.cancel()
                del self._sessions[transcript_id]

    # The DocHost interface.

    def peek(self, transcript_id: str) -> TranscriptDoc | None:
        session = self._sessions.get(transcript_id)
        return None if session is None else session.doc

    async def open(self, transcript_id: str) -> TranscriptDoc:
        session = await self._ensure(transcript_id)
        with anyio.fail_after(60):
            await session.sync.wait_acked()  # the first ACK comes after the relay's content
        return session.doc

    async def change(self, transcript_id: str, fn: Callable[[TranscriptDoc], None]) -> None:
        session = await self._ensure(transcript_id)
        # One transaction, so one update: a reader never sees the actions of a run
        # without its summary (as with the relay's own rooms).
        with session.doc.doc.transaction(origin=Origin.WORKER):
            fn(session.doc)
        with anyio.fail_after(60):
            await session.sync.wait_acked()

    def release(self, transcript_id: str) -> None:
        """Sessions stay open while the transcript is active; idle ones close themselves."""

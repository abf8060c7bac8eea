"""Local transcripts the relay has not acknowledged, sent by ``minuta sync``.

A transcript is due while its log holds rows the relay has not acknowledged
(:meth:`LocalStore.pending_rows`), or it was never sent. Sending one is a
:class:`~agent.sync.RelaySync` on its stored doc: it creates the transcript on the relay
if need be, the sync handshake sends whatever the relay lacks, and each ACK is recorded
in the store. Rows another process appends meanwhile (``minuta record`` on the same
transcript) are read from the log into the doc (:meth:`LocalStore.tail`), and sent.

While the relay does not answer, the outbox probes it with exponential backoff (one probe
for all transcripts), so fifty pending transcripts do not mean fifty reconnect loops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import anyio
import httpx

from engine import TranscriptDoc
from engine.syncclient import Backoff

from .credentials import CredentialStore, Tokens
from .relay_api import creation
from .store import LocalStore, StoreError, local_transcript_ids
from .sync import RelaySync

log = logging.getLogger("minuta.sync")
State = Literal["synced", "refused", "pending"]


@dataclass(frozen=True)
class OutboxOptions:
    storage_dir: Path
    watch: bool = False  # keep running, sending each new or changed transcript
    poll_s: float = 1.0  # how often to look at the logs
    linger_s: float = 15.0  # --watch: a synced transcript's connection stays this long idle
    wait_s: float = 60.0  # without --watch: how long to wait for a relay that is down
    parallel: int = 8  # transcripts sent at once


@dataclass(frozen=True)
class Outcome:
    transcript_id: str
    state: State
    reason: str = ""


class RelayGate:
    """``await wait_up()`` returns once the relay answers ``/healthz``: one probe at a
    time for every waiter, ``backoff`` between failed ones (0.5 s doubling to 30 s)."""

    def __init__(self, relay_url: str, backoff: Backoff | None = None) -> None:
        self.relay_url = relay_url
        self.backoff = backoff or Backoff(first_s=0.5, max_s=30.0)
        self.probes = 0
        self._lock = anyio.Lock()
        self._up_until = 0.0

    async def wait_up(self) -> None:
        async with self._lock:
            attempt = 0
            while time.monotonic() > self._up_until:
                if await self._probe():
                    self._up_until = time.monotonic() + 5.0
                    return
                await anyio.sleep(self.backoff.delay(attempt))
                attempt += 1

    async def _probe(self) -> bool:
        self.probes += 1
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                return (await http.get(f"{self.relay_url}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False


def _existing(transcript_id: str) -> Callable[[], TranscriptDoc]:
    def refuse() -> TranscriptDoc:
        raise StoreError(f"{transcript_id}: the local log is empty")

    return refuse


class Outbox:
    """Send what the relay lacks; ``run()`` returns each transcript's outcome (with
    ``watch``, it runs until cancelled)."""

    def __init__(
        self,
        options: OutboxOptions,
        credentials: CredentialStore,
        relay_url: str,
        *,
        report: Callable[[Outcome], None] = lambda _outcome: None,
    ) -> None:
        self.options = options
        self.credentials = credentials
        self.relay_url = relay_url
        self.report = report
        self.gate = RelayGate(relay_url)
        self.outcomes: dict[str, Outcome] = {}
        self._running: set[str] = set()
        self._refused: set[str] = set()  # not tried again in this run
        self._deadline: float | None = None  # without --watch: when to give up

    def due(self) -> list[str]:
        """Transcripts with rows the relay has not acknowledged, or never sent."""
        found = []
        for transcript_id in local_transcript_ids(self.options.storage_dir):
            try:
                with LocalStore(self.options.storage_dir, transcript_id) as store:
                    if store.pending_rows(self.relay_url) != 0:
                        found.append(transcript_id)
            except StoreError as exc:
                log.warning("%s", exc)
        return found

    async def run(self) -> dict[str, Outcome]:
        if not self.options.watch:
            self._deadline = time.monotonic() + self.options.wait_s
        limit = anyio.CapacityLimiter(self.options.parallel)
        async with anyio.create_task_group() as tg:
            while True:
                for transcript_id in self.due():
                    if transcript_id not in self._running | self._refused:
                        self._running.add(transcript_id)
                        tg.start_soon(self._send_limited, transcript_id, limit)
                if not self.options.watch:
                    break
                await anyio.sleep(self.options.poll_s)
        return self.outcomes

    async def _send_limited(self, transcript_id: str, limit: anyio.CapacityLimiter) -> None:
        try:
            async with limit:
                outcome = await self.send(transcript_id)
        except StoreError as exc:
            outcome = Outcome(transcript_id, "pending", str(exc))
        finally:
            self._running.discard(transcript_id)
        if outcome.state == "refused":
            self._refused.add(transcript_id)
        if self.outcomes.get(transcript_id) != outcome:  # --watch said "synced" already
            self.report(outcome)
        self.outcomes[transcript_id] = outcome

    async def send(self, transcript_id: str) -> Outcome:
        """Send one transcript until the relay holds all of it (with ``watch``: and it
        stayed unchanged ``linger_s``), or refuses it."""
        o, deadline = self.options, self._deadline
        with anyio.move_on_after(float("inf") if deadline is None else deadline - time.monotonic()):
            await self.gate.wait_up()
        if deadline is not None and time.monotonic() >= deadline:
            return Outcome(transcript_id, "pending", f"{self.relay_url} does not answer")
        tokens = self._tokens()
        with LocalStore(o.storage_dir, transcript_id) as store:
            doc = store.open_doc(_existing(transcript_id))
            sync: RelaySync | None = None

            def acked(state: bytes) -> None:
                complete = sync is not None and not sync.pending()
                store.set_acked(tokens.relay_url, state, complete=complete)

            sync = RelaySync(
                doc, tokens, credentials=self.credentials, on_ack=acked, client="sync",
                create=creation(doc),
            )  # fmt: skip
            async with anyio.create_task_group() as tg:
                tg.start_soon(sync.run)
                outcome = await self._follow(transcript_id, store, sync, deadline)
                tg.cancel_scope.cancel()
        return outcome

    async def _follow(
        self, transcript_id: str, store: LocalStore, sync: RelaySync, deadline: float | None
    ) -> Outcome:
        """Until the relay holds everything (new rows of the log included)."""
        quiet_since = time.monotonic()
        while True:
            if store.tail():
                quiet_since = time.monotonic()
            if sync.stopped is not None:
                return Outcome(transcript_id, "refused", sync.stopped)
            now = time.monotonic()
            if not sync.pending():
                synced = Outcome(transcript_id, "synced")
                if not self.options.watch or now - quiet_since >= self.options.linger_s:
                    return synced
                if self.outcomes.get(transcript_id) != synced:  # say so now, not at the end
                    self.outcomes[transcript_id] = synced
                    self.report(synced)
            if deadline is not None and now >= deadline:
                return Outcome(transcript_id, "pending", f"{self.relay_url} did not acknowledge")
            step = min(self.options.poll_s, 0.25)
            if not sync.pending():
                await anyio.sleep(step)  # lingering: new rows come through the log
                continue
            with anyio.move_on_after(step):
                await sync.wait_acked()

    def _tokens(self) -> Tokens:
        # Read again for each transcript: another one's sync may have refreshed them.
        tokens = self.credentials.get(self.relay_url)
        if tokens is None:
            raise StoreError(f"not logged in to {self.relay_url}")
        return tokens

"""The workers' own relay client, for ``minuta worker``: a login and one doc kept in sync.

Smaller than the agent's: a worker is a service, so it signs in with a username and a
password it keeps (``$MINUTA_PASSWORD``) and signs in again when its refresh token runs
out, and it keeps nothing on disk. The protocol's decisions (parts, ACKs, when to give
up, how long to wait) are :mod:`engine.syncclient`'s, as for the agent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import websockets
from pycrdt import Provider
from websockets.asyncio.client import ClientConnection

from engine import TranscriptDoc, protocol
from engine.syncclient import (
    CLOSE_UNAUTHORIZED,
    GIVE_UP,
    Backoff,
    ClientFrames,
    FrameTooLargeError,
    only,
)

CLOSE_ABNORMAL = 1006  # the connection dropped with no close frame (a relay died)

log = logging.getLogger("minuta.workers")


class RelayLoginError(Exception):
    """The relay refused the worker's account, or could not be reached."""


@dataclass
class RelayLogin:
    """A signed-in account on ``relay_url``; :meth:`renew` when a token is refused."""

    relay_url: str
    username: str
    password: str = field(repr=False)
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    # Other relays of the same service: where to go when ``relay_url`` stops answering.
    alternates: list[str] = field(default_factory=list)

    def fail_over(self) -> None:
        """Go on with the next relay of the service (none: stay)."""
        if self.alternates:
            self.relay_url, self.alternates = self.alternates[0], [
                *self.alternates[1:], self.relay_url,
            ]  # fmt: skip

    async def sign_in(self) -> None:
        await self._tokens("/auth/login", {"username": self.username, "password": self.password})

    async def renew(self) -> None:
        """New tokens: refreshed, or signed in again once the refresh token is spent."""
        try:
            await self._tokens("/auth/refresh", {"refresh_token": self.refresh_token})
        except RelayLoginError:
            await self.sign_in()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def request(
        self, method: str, path: str, *, timeout_s: float = 10.0, **kwargs: Any
    ) -> httpx.Response:
        """A REST call to the relay with the access token, sent again once with new tokens
        if the relay refused the old ones (401)."""
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            response = await http.request(
                method, self.relay_url + path, headers=self.headers, **kwargs
            )
            if response.status_code == 401:
                await self.renew()
                response = await http.request(
                    method, self.relay_url + path, headers=self.headers, **kwargs
                )
        return response

    async def _tokens(self, path: str, body: dict[str, str]) -> None:
        for tried in range(len(self.alternates) + 1):
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    response = await http.post(f"{self.relay_url}{path}", json=body)
                break
            except httpx.HTTPError as exc:
                if tried == len(self.alternates):
                    raise RelayLoginError(
                        f"cannot reach the relay at {self.relay_url}: {exc}"
                    ) from None
                self.fail_over()
        if response.status_code != 200:
            raise RelayLoginError(f"the relay refused {self.username} ({response.status_code})")
        tokens = response.json()
        self.access_token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]


class _Channel:
    """The websocket as a Provider channel, minus Minuta's own frames."""

    def __init__(self, ws: ClientConnection, path: str, frames: ClientFrames) -> None:
        self.ws, self._path, self.frames = ws, path, frames
        self.closed = anyio.Event()

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> _Channel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except websockets.ConnectionClosed:
            self.closed.set()
            raise StopAsyncIteration from None

    async def recv(self) -> bytes:
        while (frame := self.frames.incoming(_as_bytes(await self.ws.recv()))) is None:
            pass
        return frame

    async def send(self, message: bytes) -> None:
        try:
            for frame in self.frames.outgoing(message):
                await self.ws.send(frame)
        except FrameTooLargeError as exc:  # the workers write short texts: a bug of ours
            log.error("cannot send to %s: %s", self.path, exc)
            await self.ws.close()


def _as_bytes(frame: str | bytes) -> bytes:
    return frame.encode() if isinstance(frame, str) else frame


class WorkerSync:
    """Keep ``doc`` in sync with one transcript on the relay, until cancelled or refused."""

    def __init__(
        self,
        doc: TranscriptDoc,
        login: RelayLogin,
        transcript_id: str,
        backoff: Backoff | None = None,
    ) -> None:
        self.doc, self.login, self.transcript_id = doc, login, transcript_id
        self.backoff = backoff or Backoff()
        self.frames = ClientFrames(on_ack=lambda _state: self._acked.set())
        self.stopped: str | None = None
        self._acked = anyio.Event()

    def pending(self) -> bool:
        return self.frames.pending(self.doc.state_vector())

    async def wait_acked(self) -> None:
        """Return once the relay has acknowledged everything the doc holds now."""
        while self.pending():
            self._acked = anyio.Event()
            await self._acked.wait()

    async def run(self) -> None:
        attempt = 0
        while True:
            base = self.login.relay_url.replace("http", "ws", 1)
            # "worker", not "agent": the workers' copy does not make a transcript live.
            url = f"{base}/sync/{self.transcript_id}?client=worker&token={self.login.access_token}"
            code = await self._session(url)
            if code in GIVE_UP:
                self.stopped = GIVE_UP[code]
                log.warning("stopped syncing %s: %s", self.transcript_id, self.stopped)
                return
            if code == CLOSE_UNAUTHORIZED:
                try:
                    await self.login.renew()
                    continue
                except RelayLoginError as exc:
                    log.warning("cannot sign in again: %s", exc)
            if code is None or code == CLOSE_ABNORMAL:
                self.login.fail_over()  # that relay is gone: the next one of the service
            await anyio.sleep(self.backoff.delay(attempt))
            attempt = 0 if code is not None else attempt + 1

    async def _session(self, url: str) -> int | None:
        """One connection until it closes: its close code (None: no connection)."""
        try:
            ws = await websockets.connect(url, max_size=protocol.MAX_FRAME_BYTES)
        except (OSError, websockets.InvalidHandshake, TimeoutError):
            return None
        try:
            self.frames.connected()
            channel = _Channel(ws, f"/sync/{self.transcript_id}", self.frames)
            try:
                async with Provider(self.doc.doc, channel):
                    await channel.closed.wait()
            except Exception as exc:  # the Provider's tasks wrap a closed socket
                if not only(exc, websockets.ConnectionClosed):
                    raise
            return ws.close_code
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                await ws.close()
            ws.transport.abort()

"""Keep the agent's local doc in sync with a relay, whenever the network allows.

``pycrdt.Provider`` speaks the sync protocol over one websocket; it never reconnects, so
:class:`RelaySync` wraps it in a loop with capped exponential backoff and jitter, reusing
the same doc. Offline is normal: the local store keeps every change, and on reconnect the
sync handshake sends whatever the relay lacks. The relay's ACK frames (type 100, its state
once our update is committed) are consumed here, before the Provider sees the stream.

What the Provider sends larger than the relay's part size (the sync of a long meeting
recorded offline) goes as several update frames (:func:`engine.split_update`). A close
that sending again cannot fix (the transcript is gone, or the relay refuses what we send)
stops the loop, with the relay's reason in :attr:`RelaySync.stopped`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import anyio
import websockets
from pycrdt import Provider
from websockets.asyncio.client import ClientConnection

from engine import TranscriptDoc, decode_state, protocol, split_update

from .credentials import CredentialStore, LoginError, Tokens, refresh

CLOSE_TOO_LARGE = 4413
# Close codes after which retrying cannot help.
GIVE_UP = {
    4400: "the relay refused what this client sent",
    4403: "this transcript belongs to another organization",  # relays before 2026-12
    4404: "no such transcript (unknown, deleted, or another organization's)",
    4413: "an update too large to send",
}


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnects: ``first_s`` doubling up to ``max_s``, ±``jitter``.

    The cap is low on purpose: the agent should be back within ~3 s of the relay.
    """

    first_s: float = 0.25
    max_s: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.max_s, self.first_s * 2**attempt)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


def _closed(exc: BaseException) -> bool:
    """Whether ``exc`` (maybe a group, from the Provider's tasks) is only a closed socket."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_closed(e) for e in exc.exceptions)
    return isinstance(exc, websockets.ConnectionClosed)


class _Channel:
    """The websocket as a Provider channel, minus Minuta's own frames."""

    def __init__(self, ws: ClientConnection, path: str, on_ack: Callable[[bytes], None]) -> None:
        self.ws = ws
        self._path = path
        self.on_ack = on_ack
        self.notices: list[str] = []
        self.closed = anyio.Event()
        self.refused: str | None = None  # why we closed: something we cannot send
        # The relay answers every update frame with one ACK, in order: the difference is
        # what is in flight (deletions included, which state vectors do not show).
        self.unacked = 0

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

    async def send(self, message: bytes) -> None:
        if message[:2] not in (bytes([protocol.SYNC, 1]), bytes([protocol.SYNC, 2])):
            await self.ws.send(message)
            return
        frames = [message]
        if len(message) > protocol.PART_BYTES:
            update = protocol.parse(message, max_bytes=len(message)).payload
            parts = split_update(update, max_bytes=protocol.PART_BYTES)
            frames = [protocol.update(part) for part in parts]
        for frame in frames:
            if len(frame) > protocol.MAX_FRAME_BYTES:
                # One value larger than a frame (no Minuta client writes one). Sending it
                # would get the connection closed, and again at every reconnect.
                self.refused = (
                    f"frames are limited to {protocol.MAX_FRAME_BYTES} bytes, and one value "
                    f"in the doc takes {len(frame)}"
                )
                await self.ws.close()
                return
            self.unacked += 1
            await self.ws.send(frame)

    async def recv(self) -> bytes:
        while True:
            frame = await self.ws.recv()
            if isinstance(frame, str):
                frame = frame.encode()
            if frame[:1] == bytes([protocol.ACK]):
                state, frames = protocol.parse_ack(frame)
                self.unacked = max(0, self.unacked - frames)
                self.on_ack(state)
            elif frame[:1] == bytes([protocol.NOTICE]):
                self.notices.append(protocol.parse_payload(frame).decode(errors="replace"))
            else:
                return frame


class RelaySync:
    """Sync ``doc`` with ``relay_url`` until cancelled (or refused for good).

    ``acked`` is the relay's state vector from its last ACK: everything the local doc
    holds up to it is committed on the relay. ``on_ack`` lets the caller record it.
    ``client`` says what connects: ``"agent"`` (recording) makes the transcript live.
    """

    def __init__(
        self,
        doc: TranscriptDoc,
        tokens: Tokens,
        *,
        credentials: CredentialStore | None = None,
        backoff: Backoff | None = None,
        on_ack: Callable[[bytes], None] | None = None,
        transcript_id: str | None = None,
        client: str | None = None,
    ) -> None:
        self.doc = doc
        self.client = client
        # Given when the doc starts empty (a worker's copy): its meta comes from the relay.
        self.transcript_id = transcript_id or doc.transcript_id
        self.tokens = tokens
        self.credentials = credentials
        self.backoff = backoff or Backoff()
        self.on_ack = on_ack
        self.acked: bytes | None = None
        self.connected = anyio.Event()
        self.connects = 0
        self.stopped: str | None = None  # why syncing gave up, if it did
        self._acked_event = anyio.Event()
        self._channel: _Channel | None = None

    @property
    def url(self) -> str:
        base = self.tokens.relay_url.replace("http://", "ws://").replace("https://", "wss://")
        return f"{base}/sync/{self.transcript_id}"

    def pending(self) -> bool:
        """Whether the local doc holds changes the relay has not acknowledged."""
        if self.acked is None or (self._channel is not None and self._channel.unacked):
            return True
        acked = decode_state(self.acked)
        return any(
            clock > acked.get(client, 0)
            for client, clock in decode_state(self.doc.state_vector()).items()
        )

    async def wait_acked(self) -> None:
        """Return once the relay has acknowledged everything the doc holds now."""
        while self.pending():
            self._acked_event = anyio.Event()
            await self._acked_event.wait()

    def _ack(self, state: bytes) -> None:
        self.acked = state
        if self.on_ack is not None:
            self.on_ack(state)
        self._acked_event.set()

    async def run(self) -> None:
        attempt = 0
        while True:
            code, reason = await self._session()
            if code is not None and code in GIVE_UP:
                self.stopped = GIVE_UP[code] + (f": {reason}" if reason else "")
                return
            if code == 4401:
                try:
                    self.tokens = await refresh(self.tokens)
                except LoginError as exc:
                    self.stopped = str(exc)
                    return
                if self.credentials is not None:
                    self.credentials.put(self.tokens)
                continue
            await anyio.sleep(self.backoff.delay(attempt))
            attempt = 0 if self.connected.is_set() else attempt + 1
            self.connected = anyio.Event()

    async def _session(self) -> tuple[int | None, str]:
        """One connection, until it closes; returns the close code (None: no connection)
        and reason."""
        try:
            query = urlencode(
                {"token": self.tokens.access_token}
                | ({"client": self.client} if self.client else {})
            )
            ws = await websockets.connect(f"{self.url}?{query}", max_size=protocol.MAX_FRAME_BYTES)
        except (OSError, websockets.InvalidHandshake, TimeoutError):
            return None, ""
        try:
            self.connects += 1
            self.connected.set()
            channel = self._channel = _Channel(ws, self.url, self._ack)
            try:
                async with Provider(self.doc.doc, channel):
                    await channel.closed.wait()
            except (websockets.ConnectionClosed, BaseExceptionGroup) as exc:
                if not _closed(exc):
                    raise
            if channel.refused is not None:
                return CLOSE_TOO_LARGE, channel.refused
            return ws.close_code, ws.close_reason or ""
        finally:
            self._channel = None
            # Even when cancelled (the command is done): close, or the socket leaks.
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                await ws.close()
            ws.transport.abort()

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

from collections.abc import Callable, Sequence
from dataclasses import replace
from urllib.parse import urlencode

import anyio
import websockets
from pycrdt import Provider
from websockets.asyncio.client import ClientConnection

from engine import TranscriptDoc, protocol
from engine.syncclient import (
    CLOSE_TOO_LARGE,
    CLOSE_UNAUTHORIZED,
    GIVE_UP,
    Backoff,
    ClientFrames,
    FrameTooLargeError,
    only,
)

from .credentials import CredentialStore, LoginError, Tokens, refresh
from .relay_api import RelayRefusedError, RelayUnreachableError, create_transcript


class _Channel:
    """The websocket as a Provider channel, minus Minuta's own frames (``frames``)."""

    def __init__(self, ws: ClientConnection, path: str, frames: ClientFrames) -> None:
        self.ws = ws
        self._path = path
        self.frames = frames
        self.closed = anyio.Event()
        self.refused: str | None = None  # why we closed: something we cannot send

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
        try:
            frames = self.frames.outgoing(message)
        except FrameTooLargeError as exc:
            # No Minuta client writes such a value; sending it would get the connection
            # closed, and again at every reconnect.
            self.refused = str(exc)
            await self.ws.close()
            return
        for frame in frames:
            await self.ws.send(frame)

    async def recv(self) -> bytes:
        while True:
            received = await self.ws.recv()
            frame = self.frames.incoming(
                received.encode() if isinstance(received, str) else received
            )
            if frame is not None:
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
        create: dict[str, object] | None = None,
        alternates: Sequence[str] = (),
    ) -> None:
        self.doc = doc
        # Other relays of the same service (one database): a connection that fails or
        # drops goes on with the next one. ``tokens.relay_url`` stays the service's name.
        self.bases = [tokens.relay_url, *alternates]
        self._base = 0
        # The body that creates the transcript on the relay, if it may not exist there
        # yet (recorded offline): sent before the first connection, until it is answered.
        self.create = create
        self.client = client
        # Given when the doc starts empty (a worker's copy): its meta comes from the relay.
        self.transcript_id = transcript_id or doc.transcript_id
        self.tokens = tokens
        self.credentials = credentials
        self.backoff = backoff or Backoff()
        self.on_ack = on_ack
        self.frames = ClientFrames(on_ack=self._ack)
        self.connected = anyio.Event()
        self.connects = 0
        self.stopped: str | None = None  # why syncing gave up, if it did
        self._acked_event = anyio.Event()

    @property
    def url(self) -> str:
        base = self.bases[self._base].replace("http://", "ws://").replace("https://", "wss://")
        return f"{base}/sync/{self.transcript_id}"

    @property
    def acked(self) -> bytes | None:
        """The relay's state vector from its last ACK."""
        return self.frames.acked

    def pending(self) -> bool:
        """Whether the local doc holds changes the relay has not acknowledged."""
        return self.frames.pending(self.doc.state_vector())

    async def wait_acked(self) -> None:
        """Return once the relay has acknowledged everything the doc holds now."""
        while self.pending():
            self._acked_event = anyio.Event()
            await self._acked_event.wait()

    def _ack(self, state: bytes) -> None:
        if self.on_ack is not None:
            self.on_ack(state)
        self._acked_event.set()

    async def run(self) -> None:
        attempt = 0
        while self.create is not None:
            try:
                await create_transcript(self.tokens, self.create)
                self.create = None
            except RelayUnreachableError:
                await anyio.sleep(self.backoff.delay(attempt))
                attempt += 1
            except RelayRefusedError as exc:
                if exc.status != 401 or not await self._refresh():
                    self.stopped = self.stopped or str(exc)
                    return
        attempt = 0
        while True:
            code, reason = await self._session()
            if code is not None and code in GIVE_UP:
                self.stopped = GIVE_UP[code] + (f": {reason}" if reason else "")
                return
            if code == CLOSE_UNAUTHORIZED:
                if not await self._refresh():
                    return
                continue
            self._base = (self._base + 1) % len(self.bases)  # the next relay, if any
            await anyio.sleep(self.backoff.delay(attempt))
            attempt = 0 if self.connected.is_set() else attempt + 1
            self.connected = anyio.Event()

    async def _refresh(self) -> bool:
        """New tokens; False (with the reason in ``stopped``) if the login is over."""
        for n, base in enumerate(self.bases):
            try:
                fresh = await refresh(replace(self.tokens, relay_url=base))
            except LoginError as exc:
                if n + 1 < len(self.bases):
                    continue  # that relay may be the one that is down: ask another
                self.stopped = str(exc)
                return False
            self.tokens = replace(fresh, relay_url=self.bases[0])
            break
        if self.credentials is not None:
            self.credentials.put(self.tokens)
        return True

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
            self.frames.connected()
            channel = _Channel(ws, self.url, self.frames)
            try:
                async with Provider(self.doc.doc, channel):
                    await channel.closed.wait()
            except Exception as exc:  # the Provider's tasks wrap a closed socket
                if not only(exc, websockets.ConnectionClosed):
                    raise
            if channel.refused is not None:
                return CLOSE_TOO_LARGE, channel.refused
            return ws.close_code, ws.close_reason or ""
        finally:
            # Even when cancelled (the command is done): close, or the socket leaks.
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                await ws.close()
            ws.transport.abort()

"""Quart's websocket connection, with a bounded receive queue and a way to cut a peer off.

Quart moves each frame Hypercorn hands it into an unbounded ``asyncio.Queue`` at once, so
a relay that stops reading a connection (its rate limit, a viewer's writes it drops)
still buffers everything the peer sends: a viewer pushed 2.3 GiB in 8 s. Here that queue
holds at most :data:`MAX_QUEUED_BYTES` (and one frame) in :data:`MAX_QUEUED_FRAMES` frames,
so Hypercorn's own queue (one event, ``relay.server``) fills, Hypercorn stops reading the
socket, and TCP pushes back. (A bound in bytes alone let 200,000 tiny frames in, each
parsed by Hypercorn at full speed: most of a core.)

A relay that does not read a socket does not see its peer go either: a throttled peer
that vanished would keep its handler busy with its backlog for minutes. So while the
queue is full the socket's TCP state is looked at (Linux), and a peer that is gone ends
its handler at once, as Quart does when it reads the disconnect.

ASGI has no way to drop a connection whose peer does not read (a close frame would wait
behind what it has not read): :func:`writer_of` finds the transport under Hypercorn's
send callable, so :mod:`relay.fanout` can abort it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import Callable
from typing import Any

from quart.asgi import ASGIWebsocketConnection
from quart.signals import websocket_received
from quart.typing import ASGIReceiveCallable, ASGISendCallable

# Frames received and not yet read by the handler, per connection.
MAX_QUEUED_BYTES = 2**20
MAX_QUEUED_FRAMES = 64
# How often a peer whose queue is full is checked for being gone.
GONE_POLL_S = 0.5
# The scope key under which a connection's abort function is kept.
ABORT = "minuta.abort"
_TCP_ESTABLISHED = 1  # tcp_info's first byte, Linux


class BoundedQueue:
    """What Quart needs of its queue (``put`` and ``get``), bounded in bytes and frames.

    Example:
        >>> async def main():
        ...     queue = BoundedQueue(limit=4)
        ...     await queue.put(b"abcdef")  # one frame always fits
        ...     return await queue.get()
        >>> asyncio.run(main())
        b'abcdef'
    """

    def __init__(self, limit: int = MAX_QUEUED_BYTES, frames: int = MAX_QUEUED_FRAMES) -> None:
        self.limit = limit
        self.frames = frames
        self.size = 0
        self._items: collections.deque[Any] = collections.deque()
        self._changed = asyncio.Condition()

    async def put(self, message: Any, gone: Callable[[], bool] | None = None) -> bool:
        """Queue ``message`` once there is room; False (not queued) if ``gone()`` says
        the peer went meanwhile."""
        while True:
            async with self._changed:
                if self._has_room():
                    self._items.append(message)
                    self.size += _size(message)
                    self._changed.notify_all()
                    return True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(GONE_POLL_S if gone is not None else None):
                        await self._changed.wait()
            if gone is not None and gone():
                return False

    async def get(self) -> Any:
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._items))
            message = self._items.popleft()
            self.size -= _size(message)
            self._changed.notify_all()
            return message

    def _has_room(self) -> bool:
        return self.size < self.limit and len(self._items) < self.frames


def _size(message: Any) -> int:
    return len(message) if isinstance(message, str | bytes) else 0


class BoundedWebsocketConnection(ASGIWebsocketConnection):
    """Set as ``app.asgi_websocket_class``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bounded = BoundedQueue()
        self.queue = self._bounded  # type: ignore[assignment]
        self._gone: Callable[[], bool] | None = None

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        writer = writer_of(send)
        self.scope[ABORT] = writer.transport.abort if writer else None  # type: ignore[literal-required]
        self._gone = peer_gone(writer) if writer else None
        try:
            await super().__call__(receive, send)
        finally:
            release_reader(receive)

    async def handle_messages(self, receive: ASGIReceiveCallable) -> None:
        """Quart's, with a bounded queue; returning ends the handler (Quart cancels it)."""
        while True:
            event = await receive()
            if event["type"] == "websocket.receive":
                message = event.get("bytes") or event["text"]
                await websocket_received.send_async(message)
                if not await self._bounded.put(message, self._gone):
                    return  # the peer is gone: what it sent after is never read
            elif event["type"] == "websocket.disconnect":
                return


def release_reader(receive: Any) -> None:
    """Once the app is done with a connection: Hypercorn's reader may be waiting to hand
    over a frame that nobody will take (its queue holds one), and would wait, with its
    buffers, until the relay stops. Let it go on: what it still reads goes into the queue
    unread, a bounded rest, as the socket closes when the app returns."""
    queue = getattr(receive, "__self__", None)
    putters = getattr(queue, "_putters", None)
    if not isinstance(queue, asyncio.Queue) or putters is None:
        return
    queue._maxsize = 0  # type: ignore[attr-defined]  # unbounded: a put no longer waits
    for putter in list(putters):
        if not putter.done():
            putter.set_result(None)


def writer_of(send: Any) -> asyncio.StreamWriter | None:
    """The stream under Hypercorn's ASGI ``send`` (``WSStream.app_send`` ->
    ``H11Protocol`` -> ``TCPServer.writer``), or None under another server."""
    owner = getattr(send, "__self__", None)
    for _ in range(4):
        writer = getattr(owner, "writer", None)
        if isinstance(writer, asyncio.StreamWriter):
            return writer
        owner = getattr(getattr(owner, "send", None), "__self__", None)
    return None


def peer_gone(writer: asyncio.StreamWriter) -> Callable[[], bool] | None:
    """Whether the peer closed or reset the connection, from its TCP state (which the
    kernel knows even while nobody reads the socket); None where it cannot be read."""
    sock = writer.get_extra_info("socket")
    if sock is None or not hasattr(socket, "TCP_INFO"):
        return None

    def gone() -> bool:
        try:
            return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != _TCP_ESTABLISHED
        except OSError:
            return True

    return gone

"""Fan-out: a room never waits for one peer.

Each connection's frames go through its :class:`Outbox`: ``send`` queues a frame and
returns at once, and the outbox's own task writes the frames to the socket in order. A
peer too far behind (more than ``behind_bytes`` or ``behind_frames`` waiting behind the
frame being written, or all the relay's outboxes together over ``behind_total_bytes``) is
dropped: its socket is aborted,
since a close frame would wait behind everything it does not read. The y-websocket client
reconnects and syncs again. A slow peer costs its room nothing, and the relay at most the
bound.

The parts of a sync answer (a large doc, :mod:`relay.syncanswer`) are queued all at once,
in order, outside the bounds: they are the room's cached encoding, shared by every peer,
and a peer gets its next answer only once the last one is written, so its own reading
paces it.

Example:
    >>> sent = []
    >>> async def send(frame): sent.append(frame)
    >>> async def close(code, reason): sent.append(code)
    >>> async def main():
    ...     box = Outbox(send, close, ConnectionLimits(), SendBudget(2**20))
    ...     async with anyio.create_task_group() as tg:
    ...         tg.start_soon(box.run)
    ...         await box.send(b"a"); await box.send(b"b"); await box.close(1000, "bye")
    >>> anyio.run(main); sent
    [b'a', b'b', 1000]
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio

from .limits import ConnectionLimits, Throttle

# How long a peer may take to receive what is queued for it, and the close, once the
# relay closes its connection: past that its socket is aborted.
CLOSE_TIMEOUT_S = 2.0


class PeerTooSlowError(Exception):
    """A peer fell too far behind what its room sends; its socket was aborted."""


@dataclass(eq=False)
class Connection:
    """One client in a room: how to send it a frame, and what it may do."""

    send: Callable[[bytes], Awaitable[None]]  # queues the frame: never waits for the peer
    username: str
    can_write: bool
    close: Callable[[int, str], Awaitable[None]] | None = None
    agent: bool = False  # a recording agent (``?client=agent``): the transcript is live
    announced: bool = False  # it sent presence, so it renews it (see presence_silence_s)
    throttle: Throttle | None = None  # charged for what its frames cost the relay
    told: set[str] = field(default_factory=set)  # the notices it was sent (once each)
    # Queues the frames of one sync answer, once the previous answer is written.
    parts: Callable[[Sequence[bytes]], Awaitable[None]] | None = None

    async def send_parts(self, frames: Sequence[bytes]) -> None:
        """Send the frames of a sync answer, in order."""
        if self.parts is not None:
            await self.parts(frames)
            return
        for frame in frames:
            await self.send(frame)


@dataclass
class SendBudget:
    """Bytes queued in all the outboxes of a relay (a frame sent to several peers counts
    once for each: an upper bound)."""

    limit: int
    used: int = 0


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


@dataclass(frozen=True)
class _Part:
    """A frame of a sync answer (outside the bounds)."""

    frame: bytes


class Outbox:
    """The frames on their way to one peer.

    ``send`` and ``close`` never wait; :meth:`run` writes them and returns once the close
    is sent (or the peer was cut off for taking too long to read it), and raises
    :class:`PeerTooSlowError` when the peer fell too far behind.
    """

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        limits: ConnectionLimits,
        budget: SendBudget,
        abort: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        self._close = close
        self._abort = abort
        self._limits = limits
        self._budget = budget
        self._in, self._out = anyio.create_memory_object_stream[bytes | _Part | _Close](math.inf)
        self.queued = 0  # bytes waiting behind the frame being written
        self._writing = 0  # bytes of that frame
        self.behind = False
        self.closed = anyio.Event()  # run() is over: the close was sent, or the peer cut off
        self._parts_left = 0  # bytes of the sync answer being sent
        self._parts_done = anyio.Event()
        self._parts_done.set()
        self._closing = False
        self._close_sent = False
        self._scope = anyio.CancelScope()

    async def send(self, frame: bytes) -> None:
        """Queue ``frame`` (a :class:`Connection`'s ``send``)."""
        self.put(frame)

    def put(self, frame: bytes) -> None:
        if self.behind or self._closing or self.closed.is_set():
            return
        size = len(frame)
        # Into an empty queue anything goes (the sync of a large doc, however long it
        # takes to write), beyond that the bounds hold.
        if self.queued and (
            self.queued + size > self._limits.behind_bytes
            or self._out.statistics().current_buffer_used >= self._limits.behind_frames
            or self._budget.used + size > self._budget.limit
        ):
            self.behind = True
            self._scope.cancel()
            return
        self.queued += size
        self._budget.used += size
        self._in.send_nowait(frame)

    async def send_parts(self, frames: Sequence[bytes]) -> None:
        """Queue the frames of a sync answer (a :class:`Connection`'s ``parts``), once
        the previous answer is written: a peer that does not read waits here."""
        await self._parts_done.wait()
        if self.behind or self._closing or self.closed.is_set():
            return
        self._parts_done = anyio.Event()
        for frame in frames:
            self._parts_left += len(frame)
            self._in.send_nowait(_Part(frame))

    async def close(self, code: int, reason: str) -> None:
        """Close after what is queued (a :class:`Connection`'s ``close``); a peer that
        does not take it all within CLOSE_TIMEOUT_S is cut off."""
        if self._closing or self.closed.is_set():
            return
        self._closing = True
        self._in.send_nowait(_Close(code, reason))
        self._scope.deadline = min(self._scope.deadline, anyio.current_time() + CLOSE_TIMEOUT_S)

    async def run(self) -> None:
        """Write the queued frames in order, until the close.

        Raises:
            PeerTooSlowError: the peer fell too far behind (its socket is aborted).
        """
        try:
            with self._scope:
                async for item in self._out:
                    if isinstance(item, _Close):
                        await self._close_once(item.code, item.reason)
                        return
                    if isinstance(item, _Part):
                        if not await self._send_part(item.frame):
                            return
                        continue
                    self.queued -= len(item)
                    self._writing = len(item)
                    try:
                        await self._send(item)
                    except Exception:  # the peer is gone: its handler is ending
                        return
                    self._budget.used -= self._writing
                    self._writing = 0
            if self._scope.cancelled_caught:  # too far behind, or too slow to take the close
                if self._abort is not None:
                    self._abort()
                if self.behind:
                    raise PeerTooSlowError(f"{self.queued} bytes behind")
        finally:
            self.release()

    async def _send_part(self, frame: bytes) -> bool:
        """Write one part; False if the peer is gone."""
        try:
            await self._send(frame)
        except Exception:
            return False
        finally:
            self._parts_left -= len(frame)
            if not self._parts_left:
                self._parts_done.set()
        return True

    async def close_now(self, code: int, reason: str) -> None:
        """Close at once, once :meth:`run` is over (what was queued is dropped); a peer
        that does not take the close within CLOSE_TIMEOUT_S is cut off."""
        with anyio.move_on_after(CLOSE_TIMEOUT_S) as waited:
            await self._close_once(code, reason)
        if waited.cancelled_caught and self._abort is not None:
            self._abort()

    async def _close_once(self, code: int, reason: str) -> None:
        if self._close_sent:
            return
        self._close_sent = True
        with contextlib.suppress(Exception):  # the peer is gone already
            await self._close(code, reason)

    def release(self) -> None:
        """Give back what is still queued to the budget (safe to call again)."""
        self._budget.used -= self.queued + self._writing
        self.queued = self._writing = 0
        self._in.close()
        self._out.close()
        self.closed.set()
        self._parts_done.set()

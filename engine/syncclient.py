"""A sync client's side of the protocol, without the socket: what any Minuta client that
keeps a doc in sync with a relay (the agent, ``minuta worker``) decides the same way.

:class:`ClientFrames` sits between ``pycrdt.Provider`` and the websocket: it splits what
the Provider sends into parts the relay takes, counts the update frames in flight,
consumes the relay's ACK and NOTICE frames, and says whether the relay holds everything
the doc holds. :class:`Backoff` and :data:`GIVE_UP` say when to reconnect.

Example:
    >>> from engine import TranscriptDoc
    >>> doc = TranscriptDoc.create("t-1")
    >>> frames = ClientFrames()
    >>> frames.pending(doc.state_vector())  # nothing acknowledged yet
    True
    >>> _ = frames.outgoing(protocol.update(doc.encode_update()))
    >>> frames.incoming(protocol.ack(doc.state_vector())) is None  # consumed
    True
    >>> frames.pending(doc.state_vector())
    False
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from . import protocol
from ._split import split_update
from ._state import decode_state

# Close codes after which reconnecting cannot help.
GIVE_UP = {
    4400: "the relay refused what this client sent",
    4403: "this transcript belongs to another organization",  # relays before 2026-12
    4404: "no such transcript (unknown, deleted, or another organization's)",
    4413: "an update too large to send",
}
CLOSE_TOO_LARGE = 4413
CLOSE_UNAUTHORIZED = 4401  # the access token expired: refresh it, then reconnect


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnects: ``first_s`` doubling up to ``max_s``, ±``jitter``.

    The cap is low on purpose: a client should be back within ~3 s of the relay.

    Example:
        >>> Backoff(jitter=0).delay(0), Backoff(jitter=0).delay(10)
        (0.25, 2.0)
    """

    first_s: float = 0.25
    max_s: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base: float = min(self.max_s, self.first_s * 2.0**attempt)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


def only(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` is nothing but ``kind``: the Provider's task group wraps a closed
    socket in groups, and its update task in a task failure whose cause it is.

    Example:
        >>> only(ExceptionGroup("tasks", [OSError(), OSError()]), OSError)
        True
    """
    if isinstance(exc, BaseExceptionGroup):
        return all(only(e, kind) for e in exc.exceptions)
    if isinstance(exc, kind):
        return True
    return exc.__cause__ is not None and only(exc.__cause__, kind)


class FrameTooLargeError(ValueError):
    """One value in the doc is larger than a frame: the relay would refuse it at every
    reconnect, so the client stops instead."""


_SYNC_CARRIES_UPDATE = (bytes([protocol.SYNC, 1]), bytes([protocol.SYNC, 2]))


class ClientFrames:
    """One client's frames to and from the relay, over every connection it makes."""

    def __init__(self, on_ack: Callable[[bytes], None] | None = None) -> None:
        self.on_ack = on_ack
        self.acked: bytes | None = None  # the relay's state at its last ACK
        self.notices: list[str] = []
        # The relay answers every update frame with one ACK, in order: the difference is
        # what is in flight (deletions included, which state vectors do not show).
        self.unacked = 0

    def connected(self) -> None:
        """A new connection: what was in flight on the last one will not be acknowledged
        (the sync handshake sends again whatever the relay lacks)."""
        self.unacked = 0

    def outgoing(self, message: bytes) -> list[bytes]:
        """The frames to send for one Provider message (an update larger than a part
        goes as several).

        Raises:
            FrameTooLargeError: one value is larger than any frame the relay takes.
        """
        if message[:2] not in _SYNC_CARRIES_UPDATE:
            return [message]
        frames = [message]
        if len(message) > protocol.PART_BYTES:
            update = protocol.parse(message, max_bytes=len(message)).payload
            frames = [
                protocol.update(p) for p in split_update(update, max_bytes=protocol.PART_BYTES)
            ]
        for frame in frames:
            if len(frame) > protocol.MAX_FRAME_BYTES:
                raise FrameTooLargeError(
                    f"frames are limited to {protocol.MAX_FRAME_BYTES} bytes, and one value "
                    f"in the doc takes {len(frame)}"
                )
        self.unacked += len(frames)
        return frames

    def incoming(self, frame: bytes) -> bytes | None:
        """The frame for the Provider, or None if it was Minuta's own (ACK, NOTICE)."""
        if frame[:1] == bytes([protocol.ACK]):
            state, count = protocol.parse_ack(frame)
            self.unacked = max(0, self.unacked - count)
            self.acked = state
            if self.on_ack is not None:
                self.on_ack(state)
            return None
        if frame[:1] == bytes([protocol.NOTICE]):
            self.notices.append(protocol.parse_payload(frame).decode(errors="replace"))
            return None
        return frame

    def pending(self, state_vector: bytes) -> bool:
        """Whether a doc at ``state_vector`` holds changes the relay has not acknowledged."""
        if self.acked is None or self.unacked:
            return True
        acked = decode_state(self.acked)
        return any(clock > acked.get(c, 0) for c, clock in decode_state(state_vector).items())

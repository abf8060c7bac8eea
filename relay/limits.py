"""Per-connection rate limits: token buckets that hold a fast sender back.

A client over its limit is slowed down, not dropped: the relay stops reading its frames
for a while, so TCP pushes back on it, and an agent uploading an hour of offline work
still gets through, while one connection cannot take the relay's time from the others.

Example:
    >>> now = [0.0]
    >>> bucket = TokenBucket(RateLimit(per_s=10, burst=2), clock=lambda: now[0])
    >>> bucket.take(), bucket.take(), bucket.take()
    (0.0, 0.0, 0.1)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """``per_s`` units a second on average, and up to ``burst`` at once."""

    per_s: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_s <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs per_s > 0 and burst >= 1")


class TokenBucket:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._tokens = limit.burst
        self._at = clock()

    def take(self, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens; returns how long to wait first (0.0: go on now)."""
        now = self.clock()
        self._tokens = min(self.limit.burst, self._tokens + (now - self._at) * self.limit.per_s)
        self._at = now
        self._tokens -= min(cost, self.limit.burst)  # a frame larger than the burst still passes
        return 0.0 if self._tokens >= 0 else -self._tokens / self.limit.per_s

    def try_take(self, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are that many; never goes into debt."""
        now = self.clock()
        self._tokens = min(self.limit.burst, self._tokens + (now - self._at) * self.limit.per_s)
        self._at = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True


@dataclass(frozen=True)
class ConnectionLimits:
    """What one websocket connection may send."""

    frames: RateLimit = RateLimit(per_s=1000, burst=2000)
    bytes: RateLimit = RateLimit(per_s=4 * 2**20, burst=8 * 2**20)
    # New connections per user (and, before a token is checked, per address): a page
    # reconnects once after a network change, a script in a loop a thousand times.
    connects: RateLimit = RateLimit(per_s=5, burst=30)
    # A browser renews its presence every 15 s (once a minute in a hidden tab, whose timers
    # the browser slows down). One that announced itself and then says nothing for this
    # long has lost its network without a close: its connection and presence are dropped,
    # instead of lingering until TCP gives up, many minutes later. Agents, which announce
    # nothing, may stay silent as long as they like.
    presence_silence_s: float = 120.0
    # What the relay queues for a peer that reads slower than its room writes, beyond
    # what the socket buffers hold (relay/fanout.py): past it the peer is dropped, and
    # y-websocket reconnects and syncs again, rather than the room waiting for it. (What
    # a peer asks for, a sync answer, does not count: it is paced by the peer's reading.
    # 8 MiB is minutes of a live meeting's updates; a frame queued for several peers is
    # held once.)
    behind_bytes: int = 8 * 2**20
    behind_frames: int = 4096
    behind_total_bytes: int = 512 * 2**20  # all connections together


class Throttle:
    """Both buckets of one connection.

    Example:
        >>> throttle = Throttle(ConnectionLimits(frames=RateLimit(1, 1)))
        >>> throttle.delay(10) == 0.0, throttle.delay(10) > 0.9
        (True, True)
        >>> costly = Throttle(ConnectionLimits(bytes=RateLimit(1000, 1000)))
        >>> costly.charge(1000); costly.delay(10) > 0
        True
    """

    def __init__(self, limits: ConnectionLimits, clock: Callable[[], float] = time.monotonic):
        self.frames = TokenBucket(limits.frames, clock)
        self.bytes = TokenBucket(limits.bytes, clock)

    def delay(self, size: int) -> float:
        return max(self.frames.take(), self.bytes.take(size))

    def charge_frames(self, count: int) -> None:
        """Count ``count`` more frames against the connection (one frame that does the
        work of several)."""
        self.frames.take(count)

    def charge(self, size: int) -> None:
        """Count ``size`` more bytes against the connection, for what one of its frames
        cost the relay beyond its own size (a sync step 1 answered with the whole doc):
        the next frame waits for them."""
        self.bytes.take(size)


class KeyedBuckets:
    """One bucket per key (a user, an address), for the ``max_keys`` most recent keys.

    Example:
        >>> gate = KeyedBuckets(RateLimit(per_s=1, burst=2), clock=lambda: 0.0)
        >>> [gate.allow("ana") for _ in range(3)], gate.allow("bo")
        ([True, True, False], True)
    """

    def __init__(
        self, limit: RateLimit, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, key: str) -> bool:
        bucket = self._buckets.pop(key, None) or TokenBucket(self.limit, self.clock)
        self._buckets[key] = bucket  # most recent last
        if len(self._buckets) > self.max_keys:
            del self._buckets[next(iter(self._buckets))]
        return bucket.try_take()

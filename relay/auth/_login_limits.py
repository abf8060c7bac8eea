"""How many login attempts the relay takes: per-key lockouts with backoff, and audit rates.

A username, and an address, may get a few passwords wrong; after that each further
mistake locks the key for twice as long as the one before (1 s, 2 s, 4 s ... capped at
5 minutes), and its attempts get 429 with ``Retry-After`` without any hash being run. A
success clears the username's mistakes; mistakes are forgotten after 15 quiet minutes.
Built on relay/limits.py rather than quart-rate-limiter, whose memory store keeps every
key forever (random usernames would grow it without bound) and which counts requests,
not mistakes, with no backoff.

Example:
    >>> now = [0.0]
    >>> lock = Lockout(Backoff(free=2, first_s=1, max_s=60), clock=lambda: now[0])
    >>> for _ in range(3):
    ...     lock.begin("ana"), lock.end("ana", ok=False)
    (0.0, None)
    (0.0, None)
    (0.0, None)
    >>> lock.begin("ana")  # the third mistake locked it for 1 s
    1.0
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..limits import KeyedBuckets, RateLimit, TokenBucket


@dataclass(frozen=True)
class Backoff:
    """``free`` mistakes, then locks of ``first_s`` doubling up to ``max_s``."""

    free: int
    first_s: float = 1.0
    max_s: float = 300.0

    def lock_s(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return float(min(self.max_s, self.first_s * 2 ** min(failures - self.free - 1, 30)))


@dataclass(frozen=True)
class LoginLimits:
    """What ``POST /auth/login`` takes (the README's relay section lists these)."""

    per_username: Backoff = Backoff(free=5)
    # An office behind one NAT shares an address: more mistakes, then the same backoff.
    per_address: Backoff = Backoff(free=20)
    forget_after_s: float = 900.0
    max_keys: int = 10_000  # per lockout: the least recent key goes first
    max_username_chars: int = 128  # the users table's column
    max_password_chars: int = 1024
    max_body_bytes: int = 8192
    # One Argon2id verification takes ~0.12 s and about 1.2 cores here (4 lanes): one at
    # a time leaves the other core to the event loop and the rooms.
    concurrent_hashes: int = 1
    max_waiting_hashes: int = 16  # beyond that: 503 with Retry-After
    # Rejected logins written to audit_events: per address, and for the whole relay.
    audit_per_address: RateLimit = field(default_factory=lambda: RateLimit(per_s=0.1, burst=10))
    audit_total: RateLimit = field(default_factory=lambda: RateLimit(per_s=1, burst=100))


@dataclass
class _State:
    failures: int = 0
    pending: int = 0  # attempts whose hash is running
    locked_until: float = 0.0
    last_failure: float = 0.0


class Lockout:
    """Mistakes and locks for up to ``max_keys`` keys (usernames, or addresses)."""

    def __init__(
        self,
        backoff: Backoff,
        forget_after_s: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backoff = backoff
        self.forget_after_s = forget_after_s
        self.max_keys = max_keys
        self.clock = clock
        self._keys: dict[str, _State] = {}

    def wait_s(self, key: str) -> float:
        """How long ``key`` must wait before its next attempt (0.0: it may try now)."""
        state = self._state(key, create=False)
        if state is None:
            return 0.0
        now = self.clock()
        if now < state.locked_until:
            return state.locked_until - now
        # Past its free mistakes, a key tries one password at a time: parallel attempts
        # would each get a hash before the first mistake is counted.
        if state.pending and state.failures + state.pending >= self.backoff.free:
            return 1.0
        return 0.0

    def begin(self, key: str) -> float:
        """Start an attempt; returns 0.0, or how long to wait (the attempt is refused)."""
        wait = self.wait_s(key)
        if wait == 0.0:
            state = self._state(key, create=True)
            assert state is not None
            state.pending += 1
        return wait

    def end(self, key: str, *, ok: bool) -> None:
        """Finish an attempt that :meth:`begin` let through."""
        state = self._state(key, create=True)
        assert state is not None
        state.pending = max(0, state.pending - 1)
        if ok:
            state.failures, state.locked_until = 0, 0.0
            return
        now = self.clock()
        state.failures += 1
        state.last_failure = now
        state.locked_until = now + self.backoff.lock_s(state.failures)

    def cancel(self, key: str) -> None:
        """An attempt that never reached its verdict (a refusal further on, a cancel)."""
        state = self._state(key, create=False)
        if state is not None:
            state.pending = max(0, state.pending - 1)

    def __len__(self) -> int:
        return len(self._keys)

    def _state(self, key: str, *, create: bool) -> _State | None:
        state = self._keys.pop(key, None)
        quiet = state is not None and self.clock() - state.last_failure > self.forget_after_s
        if state is not None and not state.pending and quiet:
            state = _State()  # quiet long enough: mistakes forgotten
        if state is None:
            if not create:
                return None
            state = _State()
        self._keys[key] = state  # most recent last
        if len(self._keys) > self.max_keys:
            del self._keys[next(iter(self._keys))]
        return state


class TooManyAttempts(Exception):
    """A login refused before any hash: 429 (a lock) or 503 (too many hashes waiting)."""

    def __init__(self, status: int, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class LoginLimiter:
    """The username and address lockouts together, and the audit rates."""

    def __init__(self, limits: LoginLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.usernames = Lockout(limits.per_username, limits.forget_after_s, limits.max_keys, clock)
        self.addresses = Lockout(limits.per_address, limits.forget_after_s, limits.max_keys, clock)
        self._audits = KeyedBuckets(limits.audit_per_address, limits.max_keys, clock)
        self._audit_total = TokenBucket(limits.audit_total, clock)

    def begin(self, username: str, address: str) -> None:
        """Start an attempt for both keys, or refuse it for both.

        Raises:
            TooManyAttempts: either key is locked (429).
        """
        wait = max(self.usernames.wait_s(username), self.addresses.wait_s(address))
        if wait > 0:
            raise TooManyAttempts(429, "too many login attempts: try again later", wait)
        self.usernames.begin(username)
        self.addresses.begin(address)

    def end(self, username: str, address: str, *, ok: bool) -> None:
        self.usernames.end(username, ok=ok)
        # A success clears the username only: one good account must not reset the
        # count of an address that guesses at others.
        if ok:
            self.addresses.cancel(address)
        else:
            self.addresses.end(address, ok=False)

    def cancel(self, username: str, address: str) -> None:
        self.usernames.cancel(username)
        self.addresses.cancel(address)

    def may_audit(self, address: str) -> bool:
        """Whether a rejected login from ``address`` is written to ``audit_events`` now."""
        return self._audits.allow(address) and self._audit_total.try_take()

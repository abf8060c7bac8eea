"""The relay's Prometheus metrics, served at ``/metrics``.

Each relay owns one :class:`Metrics` (its own registry, no global state), so several
relays in one process (tests) keep separate counts.

Example:
    >>> metrics = Metrics()
    >>> metrics.updates.inc(3)
    >>> b"minuta_updates_total 3.0" in metrics.render()
    True
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Latencies from 0.5 ms to 5 s: a commit takes a few ms, a stall hundreds.
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
RECONNECT_WINDOW_S = 60.0


class RateMeter:
    """Events per second over a sliding window (for a human reading ``/metrics``; a
    Prometheus server computes rates from the counters itself).

    Example:
        >>> now = [0.0]
        >>> meter = RateMeter(window_s=10, clock=lambda: now[0])
        >>> meter.add(50); now[0] = 5.0; meter.add(50)
        >>> meter.rate()
        10.0
    """

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self._events: deque[tuple[float, int]] = deque()
        self._total = 0

    def add(self, n: int = 1) -> None:
        self._events.append((self.clock(), n))
        self._total += n
        self._trim()

    def rate(self) -> float:
        self._trim()
        return self._total / self.window_s

    def _trim(self) -> None:
        horizon = self.clock() - self.window_s
        while self._events and self._events[0][0] < horizon:
            self._total -= self._events.popleft()[1]


class Metrics:
    """Counters, gauges and histograms of one relay."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.connections = Gauge("minuta_connections", "Open websocket connections", registry=r)
        self.rooms = Gauge("minuta_rooms", "Rooms loaded in memory", registry=r)
        self.updates = Counter("minuta_updates", "Updates stored", registry=r)
        self.updates_rate = RateMeter()
        Gauge(
            "minuta_updates_per_second", "Updates stored per second, last 10 s", registry=r
        ).set_function(self.updates_rate.rate)
        self.persist_seconds = Histogram(
            "minuta_persist_seconds",
            "From an update's arrival to its commit",
            buckets=_BUCKETS,
            registry=r,
        )
        self.ack_seconds = Histogram(
            "minuta_ack_seconds",
            "From an update's arrival to its acknowledgement being sent",
            buckets=_BUCKETS,
            registry=r,
        )
        self.reconnects = Counter(
            "minuta_reconnects",
            f"Connections of a user to a transcript they left less than {RECONNECT_WINDOW_S:.0f} s before",
            registry=r,
        )
        self.backlog = Gauge(
            "minuta_backlog", "Updates received and waiting for their commit", registry=r
        )
        self.rejected = Counter(
            "minuta_rejected_frames", "Frames refused, by reason", ["reason"], registry=r
        )
        self.throttled_seconds = Counter(
            "minuta_throttled_seconds",
            "Time connections were held back by the per-connection rate limit",
            registry=r,
        )
        self.compactions = Counter(
            "minuta_compactions", "Update-log compactions of a transcript", registry=r
        )
        self.projections = Counter("minuta_projections", "SQL snapshots written", registry=r)
        self.worker_runs = Counter(
            "minuta_worker_runs", "Summary and action runs written back", registry=r
        )
        self.worker_seconds = Histogram(
            "minuta_worker_seconds",
            "One worker run: read, compute, write back",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
            registry=r,
        )
        self.errors = Counter(
            "minuta_background_errors", "Failed snapshots or compactions (retried)", registry=r
        )
        self.unreadable = Counter(
            "minuta_unreadable",
            "Parts of a doc left out of its snapshot as malformed, by root (each counted once)",
            ["root"],
            registry=r,
        )
        self.task_failures = Counter(
            "minuta_task_failures",
            "Background jobs that raised and were restarted, by job",
            ["task"],
            registry=r,
        )

    def stored(self, n: int = 1) -> None:
        self.updates.inc(n)
        self.updates_rate.add(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ReconnectTracker:
    """Counts reconnects: a user coming back to a transcript soon after leaving it.

    Example:
        >>> now = [0.0]
        >>> tracker = ReconnectTracker(clock=lambda: now[0])
        >>> tracker.connected("ana", "t-1")
        False
        >>> tracker.left("ana", "t-1"); now[0] = 2.0
        >>> tracker.connected("ana", "t-1")
        True
    """

    def __init__(
        self, window_s: float = RECONNECT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self.clock = clock
        self._left: dict[tuple[str, str], float] = {}

    def connected(self, username: str, transcript_id: str) -> bool:
        now = self.clock()
        when = self._left.pop((username, transcript_id), None)
        if len(self._left) > 10_000:  # forget old departures now and then
            self._left = {k: t for k, t in self._left.items() if now - t < self.window_s}
        return when is not None and now - when < self.window_s

    def left(self, username: str, transcript_id: str) -> None:
        self._left[(username, transcript_id)] = self.clock()

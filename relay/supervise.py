"""Background jobs that outlive their own failures.

The relay's jobs (SQL snapshots, compaction, the workers) read documents that clients
wrote. Whatever a document holds, an exception from a job must never leave
``serve_relay``'s task group: that would stop the process, and it would stop again after
a restart at the next edit of the same transcript. :func:`supervised` runs a job, and when
it raises, logs it, counts it in ``minuta_task_failures_total{task=...}``, waits (1 s,
doubling up to a minute) and starts it again.

Example:
    >>> import anyio
    >>> from relay.metrics import Metrics
    >>> runs = []
    >>> async def job() -> None:
    ...     runs.append(1)
    ...     if len(runs) < 3:
    ...         raise ValueError("a doc a client broke")
    >>> anyio.run(lambda: supervised("demo", job, Metrics(), first_delay_s=0))
    >>> len(runs)
    3
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from .metrics import Metrics

log = logging.getLogger(__name__)

MAX_DELAY_S = 60.0
# A job that ran this long before failing starts again from the first delay.
_HEALTHY_S = 300.0


async def supervised(
    name: str,
    job: Callable[[], Coroutine[Any, Any, None]],
    metrics: Metrics,
    *,
    first_delay_s: float = 1.0,
) -> None:
    """Run ``job`` until it returns, restarting it after each exception (not on cancel)."""
    delay = first_delay_s
    while True:
        started = time.monotonic()
        try:
            await job()
            return
        except Exception:
            metrics.task_failures.labels(name).inc()
            if time.monotonic() - started > _HEALTHY_S:
                delay = first_delay_s
            log.exception("background job %r failed; restarting in %.0f s", name, delay)
        await anyio.sleep(delay)
        delay = min(MAX_DELAY_S, delay * 2)

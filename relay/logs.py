"""The relay's logs, with personal data masked (:mod:`engine.redact`), on stderr.

On by default: ``MINUTA_LOG_REDACT=off`` turns it off, and
``MINUTA_LOG_REDACT=/path/to/patterns`` adds patterns of one's own (one regex a line, or
``label<TAB>regex``). It covers every line the relay process writes through logging (its
own, Hypercorn's error log, Python's warnings, tracebacks) and the ``error`` of every JSON
error answer (:mod:`relay.errors`).

Example:
    >>> load("on").redact("no transcript ana@acme.es"), load("off").redact("ana@acme.es")
    ('no transcript [email]', 'ana@acme.es')
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from engine import CommandError
from engine.redact import SETTING, RedactFilter, Redactor, from_setting

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
# Hypercorn's own format (hypercorn/logging.py), kept for its lines.
HYPERCORN_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
HYPERCORN_DATES = "[%Y-%m-%d %H:%M:%S %z]"

_current: Redactor | None = None


def redactor() -> Redactor:
    """This process's redactor, from :data:`SETTING` on first use (a bad setting is a
    :class:`~engine.CommandError`)."""
    global _current
    if _current is None:
        _current = load()
    return _current


def load(value: str | None = None) -> Redactor:
    """The redactor ``value`` (default: the environment's :data:`SETTING`) asks for."""
    setting = os.environ.get(SETTING) if value is None else value
    try:
        return from_setting(setting, lambda path: Path(path).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def redact(text: str) -> str:
    return redactor().redact(text)


def setup(level: int = logging.INFO) -> logging.Logger:
    """Log to stderr through the redactor: every logger (ours at ``level``), Python's
    warnings, and the last-resort handler. Returns the logger to give Hypercorn as its
    error log (``Config.errorlog``), on stderr in its own format, redacted too."""
    mask = RedactFilter(redactor())
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(mask)
    # On the root: loggers named after modules (relay.errors, asyncio, sqlalchemy) too.
    logging.getLogger().addHandler(handler)
    logging.getLogger("minuta").setLevel(level)
    logging.captureWarnings(True)  # warnings.warn goes through logging, so it is masked
    # Whatever logs before a handler is there (or on a logger that stops propagating).
    if logging.lastResort is not None:
        logging.lastResort.addFilter(mask)
    hypercorn = logging.getLogger("hypercorn.error")
    own = logging.StreamHandler()
    own.setFormatter(logging.Formatter(HYPERCORN_FORMAT, HYPERCORN_DATES))
    own.addFilter(mask)
    hypercorn.handlers = [own]
    hypercorn.propagate = False  # not twice, through the root
    hypercorn.setLevel(logging.INFO)
    return hypercorn

"""What the agent writes on stderr, with personal data masked (:mod:`engine.redact`).

stderr carries the agent's messages: its log warnings (through logging's last-resort
handler: the agent configures no other), Python's warnings, progress bars and the one-line
errors of :func:`agent.cli.main`, some of which echo the relay's answers or the user's
input. :func:`redacted_stderr` masks all of them, line by line, for one command. stdout,
the product (the transcript a user asked for), is left alone.

On by default: ``MINUTA_LOG_REDACT=off`` turns it off, ``MINUTA_LOG_REDACT=PATH`` adds the
patterns in that file (one regex a line, or ``label<TAB>regex``), as for the relay.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> stream = RedactingStream(out, load("on"))
    >>> print("sent to ana@acme.es", file=stream)
    >>> out.getvalue()
    'sent to [email]\\n'
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from engine import CommandError
from engine.redact import SETTING, RedactFilter, Redactor, from_setting

# A line ends at a newline or a carriage return (a progress bar redraws itself).
_LINE_END = re.compile(r"[\r\n]")


def load(value: str | None = None) -> Redactor:
    """The redactor ``value`` (default: the environment's :data:`SETTING`) asks for; a bad
    setting is a :class:`~engine.CommandError`."""
    setting = os.environ.get(SETTING) if value is None else value
    try:
        return from_setting(setting, lambda path: Path(path).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class RedactingStream:
    """A text stream that writes whole lines of ``target``, masked. A partial line waits
    for its end, or for :meth:`flush` (a prompt), so a number split across two writes is
    still seen whole."""

    def __init__(self, target: TextIO, redactor: Redactor) -> None:
        self.target = target
        self.redactor = redactor
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        cut = 0
        for end in _LINE_END.finditer(self._pending):
            cut = end.end()
        if cut:
            done, self._pending = self._pending[:cut], self._pending[cut:]
            self.target.write(self.redactor.redact(done))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            done, self._pending = self._pending, ""
            self.target.write(self.redactor.redact(done))
        self.target.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.flush()
        self.target.close()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, closed...
        return getattr(self.target, name)


@contextlib.contextmanager
def redacted_stderr(redactor: Redactor | None = None) -> Iterator[Redactor]:
    """``sys.stderr`` masked while inside (and log records, for a handler with a stream of
    its own); the real one back, flushed, on the way out."""
    redactor = redactor or load()
    mask = RedactFilter(redactor)
    last_resort = logging.lastResort
    if last_resort is not None:
        last_resort.addFilter(mask)
    real = sys.stderr
    stream = RedactingStream(real, redactor)
    sys.stderr = stream
    try:
        yield redactor
    finally:
        if sys.stderr is stream:
            sys.stderr = real
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
            stream.flush()
        if last_resort is not None:
            last_resort.removeFilter(mask)

"""Helpers shared by the commands: reading transcripts and writing outputs safely."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from engine import CommandError, TranscriptDoc, loads_json

from ..credentials import CredentialStore, normalize

# A transcript file larger than this is refused rather than read into memory.
MAX_INPUT_BYTES = 512 * 1024 * 1024


# The agent's commands say CliError; the relay's raise the same class (relay/cli/).
CliError = CommandError


def default_relay(relay: str | None, credentials: CredentialStore) -> str:
    """``--relay``, or the one relay logged in to (normalized)."""
    if relay:
        return normalize(relay)
    relays = credentials.relays()
    if len(relays) != 1:
        known = f" (logged in to {', '.join(relays)})" if relays else ""
        raise CliError(f"which relay? pass --relay URL{known}")
    return relays[0]


def user_error(exc: BaseException, *kinds: type[Exception]) -> BaseException:
    """The first ``kinds`` error inside ``exc`` (task groups and pycrdt observers wrap
    errors in exception groups) as a CliError; ``exc`` itself when there is none."""
    if isinstance(exc, kinds):
        return CliError(str(exc))
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = user_error(inner, *kinds)
            if isinstance(found, CliError):
                return found
    return exc


def read_transcript(path: str) -> TranscriptDoc:
    """Load a JSON export or a stored Yjs update, telling which from the content."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_INPUT_BYTES:
            raise CliError(f"{path}: larger than {MAX_INPUT_BYTES // 2**20} MiB")
        data = p.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise CliError(f"{path}: the file is empty")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CliError(f"{path}: not UTF-8 text ({exc.reason})") from None
        return loads_json(text)
    return TranscriptDoc.from_update(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(text: str, out: str | None) -> None:
    """Write UTF-8 text to ``out``, or to stdout when ``out`` is None or ``-``.

    A file is written whole or not at all: a full disk leaves any earlier file intact.
    """
    data = text.encode("utf-8")
    if out in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(out)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.")
        try:
            # mkstemp makes the file 0600; give it the mode a plain open() would.
            os.chmod(tmp, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None

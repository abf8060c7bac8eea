"""Where a transcript's uploaded audio lives: a file per transcript, outside SQL.

Only the agent's ``--upload-audio`` sends any (Ogg/Opus, after the session). An upload is
resumable: the bytes so far are in ``<id>.part`` and what the whole must be (size and
SHA-256) in ``<id>.part.json``; each piece is appended at the offset the relay reports,
so a piece sent twice is refused, not doubled. When the last piece is in, the digest is
checked and the file renamed to ``<id>.ogg``, the only name that is served.

Example:
    >>> import tempfile, hashlib
    >>> store = AudioStore(Path(tempfile.mkdtemp()))
    >>> data = b"OggS..."
    >>> digest = hashlib.sha256(data).hexdigest()
    >>> store.append("t-1", 0, len(data), digest, data).complete
    True
    >>> store.path("t-1").read_bytes() == data
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_AUDIO_BYTES = 2**30  # a day of 32 kbit/s Opus is ~350 MB
_HEX = set("0123456789abcdef")


class UploadError(Exception):
    """An upload piece that does not fit: ``status`` (400, 409, 413) says why."""

    def __init__(self, status: int, message: str, received: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.received = received


@dataclass(frozen=True)
class UploadState:
    received: int
    size: int | None
    sha256: str | None
    complete: bool

    def json(self) -> dict[str, object]:
        return {"received": self.received, "size": self.size, "sha256": self.sha256,
                "complete": self.complete}  # fmt: skip


class AudioStore:
    """The audio folder (blocking file I/O: call it from a worker thread)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, transcript_id: str) -> Path:
        return self.root / f"{transcript_id}.ogg"

    def has(self, transcript_id: str) -> bool:
        return self.path(transcript_id).is_file()

    def _part(self, transcript_id: str) -> tuple[Path, Path]:
        return self.root / f"{transcript_id}.part", self.root / f"{transcript_id}.part.json"

    def state(self, transcript_id: str) -> UploadState:
        done = self.path(transcript_id)
        meta = self._read_meta(transcript_id)
        if done.is_file():
            size = done.stat().st_size
            return UploadState(size, size, str(meta["sha256"]) if meta else None, True)
        part, _ = self._part(transcript_id)
        if meta is None:
            return UploadState(0, None, None, False)
        received = part.stat().st_size if part.is_file() else 0
        return UploadState(received, int(meta["size"]), str(meta["sha256"]), False)

    def _read_meta(self, transcript_id: str) -> dict[str, Any] | None:
        _, meta = self._part(transcript_id)
        try:
            value = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def append(
        self, transcript_id: str, offset: int, size: int, sha256: str, data: bytes
    ) -> UploadState:
        """Add ``data`` at ``offset`` of the upload of ``size`` bytes digesting to ``sha256``.

        Raises:
            UploadError: 413 over the cap; 409 another upload, or not at the relay's offset
                (``received`` says where to go on); 400 the whole does not match its digest
                (the partial is dropped: start again).
        """
        sha256 = sha256.lower()
        if len(sha256) != 64 or not set(sha256) <= _HEX:
            raise UploadError(400, "sha256: the file's SHA-256, as 64 hex digits")
        if not 0 < size <= MAX_AUDIO_BYTES:
            raise UploadError(413, f"size: 1 to {MAX_AUDIO_BYTES} bytes")
        state = self.state(transcript_id)
        if state.complete:
            if state.sha256 == sha256:
                return state  # sent again after an answer that got lost
            raise UploadError(409, "this transcript has other audio already", state.received)
        if state.size is not None and (state.size, state.sha256) != (size, sha256):
            raise UploadError(409, "another upload of this transcript's audio is under way",
                              state.received)  # fmt: skip
        if offset != state.received:
            raise UploadError(409, f"the upload goes on at byte {state.received}", state.received)
        if offset + len(data) > size:
            raise UploadError(400, "more bytes than the size given", state.received)
        self.root.mkdir(parents=True, exist_ok=True)
        part, meta = self._part(transcript_id)
        if state.size is None:
            meta.write_text(json.dumps({"size": size, "sha256": sha256}), encoding="utf-8")
        with part.open("ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        received = offset + len(data)
        if received < size:
            return UploadState(received, size, sha256, False)
        digest = hashlib.sha256()
        with part.open("rb") as f:
            for block in iter(lambda: f.read(2**20), b""):
                digest.update(block)
        if digest.hexdigest() != sha256:
            self.delete(transcript_id)
            raise UploadError(400, "the file does not match its sha256: upload it again", 0)
        os.replace(part, self.path(transcript_id))
        return UploadState(size, size, sha256, True)

    def delete(self, transcript_id: str) -> bool:
        """Remove the audio and any partial upload; whether there was anything."""
        removed = False
        for path in (self.path(transcript_id), *self._part(transcript_id)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed = True
        return removed

    def transcript_ids(self) -> set[str]:
        """The transcripts with audio or a partial upload here."""
        if not self.root.is_dir():
            return set()
        found = set()
        for path in self.root.iterdir():
            for suffix in (".ogg", ".part.json", ".part"):
                if path.name.endswith(suffix):
                    found.add(path.name[: -len(suffix)])
                    break
        return found

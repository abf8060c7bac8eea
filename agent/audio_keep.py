"""Opt-in kept audio (``--keep-audio``): the session's 16 kHz mono int16 PCM, encrypted at rest.

Layout: ``<storage_dir>/<transcript_id>/audio.enc``, next to ``doc.sqlite``. The key is a
32-byte random file made 0600 in the user's config dir (``audio.key``, or
``$MINUTA_AUDIO_KEY_FILE``), never next to the audio: a copied transcript folder alone
does not give the recording away.

The file is a 16-byte header (magic, key id) and then records, appended as the audio
arrives, each sealed with AES-GCM on its own::

    length u32 | start u64 | nonce 12 bytes | ciphertext (PCM + 16-byte tag)

``start`` is the record's first sample on the transcript's timeline (a resumed session
starts at ``Resume.start``, so the audio plays in sync with the segments' t0/t1). The AAD
binds each record to the transcript id, its start and its index, so a record cannot be
moved in time, between transcripts, or dropped from the middle unnoticed. A record torn by
a crash (``kill -9`` mid-write) is the last one and shorter than its length says: it is
dropped on read, and cut off before the next append, and everything before it stays
readable. Reading builds one timeline: gaps are silence, and where a resumed file run heard
a stretch again, the later record wins.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from cryptography.exceptions import InvalidTag

from .credentials import config_dir
from .store import _SAFE_ID
from .vad import SAMPLE_RATE, as_int16

AUDIO_FILE = "audio.enc"
KEY_ENV = "MINUTA_AUDIO_KEY_FILE"
KEY_BYTES = 32
_MAGIC = b"MINUTAU1"
_SEALED_MAGIC = b"MINUTAO1"
_HEADER = len(_MAGIC) + 8  # magic, key id
_RECORD = struct.Struct(">IQ12s")  # ciphertext length, start sample, nonce
_TAG = 16
# A record holds this much audio: small enough that a crash loses little, large enough
# that the 40 bytes of framing and one write a second cost nothing.
RECORD_S = 1.0
# No record this program writes is longer; a longer length is damage, not a torn tail.
MAX_RECORD_BYTES = 60 * SAMPLE_RATE * 2 + _TAG


class KeptAudioError(Exception):
    """The kept audio cannot be written or read back; one sentence for the user."""


class AudioKeyError(KeptAudioError):
    """The key is missing, unreadable, or not the one the audio was kept under."""


class AudioTamperedError(KeptAudioError):
    """A complete record does not authenticate: the file was changed or damaged."""


def AESGCM(key: bytes) -> Any:
    """cryptography's AES-GCM, imported on first use: every ``minuta`` command loads this
    module (through the commands' entry points), and most never touch audio."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _AESGCM

    return _AESGCM(key)


def key_path() -> Path:
    """Where the local audio key lives: ``$MINUTA_AUDIO_KEY_FILE``, else the config dir."""
    if env := os.environ.get(KEY_ENV):
        return Path(env)
    return config_dir() / "audio.key"


def kept_audio_path(storage_dir: Path, transcript_id: str) -> Path:
    if not _SAFE_ID.match(transcript_id):
        raise KeptAudioError(f"{transcript_id!r} is not a transcript id")
    return Path(storage_dir) / transcript_id / AUDIO_FILE


def load_key(path: Path | None = None, *, create: bool = False) -> bytes:
    """The 32-byte audio key; with ``create``, made (0600) if there is none yet.

    Made in a private temporary file and hard-linked into place, so two commands starting
    at once agree on one key and none ever reads a half-written one.
    """
    path = path or key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        if not create:
            raise AudioKeyError(
                f"the audio key {path} is missing: the kept audio cannot be decrypted"
            ) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another command made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
        return _read_key(path)
    except OSError as exc:
        raise AudioKeyError(f"cannot create the audio key {path}: {exc.strerror or exc}") from None


def _read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise AudioKeyError(f"cannot read the audio key {path}: {exc.strerror or exc}") from None
    if len(key) != KEY_BYTES:
        raise AudioKeyError(f"{path} is not an audio key ({KEY_BYTES} bytes)")
    return key


def key_id(key: bytes) -> bytes:
    """8 bytes that tell keys apart (a wrong key says so, rather than "damaged")."""
    return hashlib.sha256(b"minuta-audio-key-id\0" + key).digest()[:8]


def _aad(transcript_id: str, index: int, start: int) -> bytes:
    return b"minuta-audio\0" + transcript_id.encode() + b"\0" + struct.pack(">QQ", index, start)


def _check_header(header: bytes, path: Path, key: bytes, magic: bytes = _MAGIC) -> None:
    if header[: len(magic)] != magic:
        raise KeptAudioError(f"{path} is not audio kept by Minuta")
    if header[len(magic) : _HEADER] != key_id(key):
        raise AudioKeyError(f"{path} was kept under another key than {key_path()}")


def _scan(f: BinaryIO, size: int, path: Path) -> tuple[list[tuple[int, int, int]], int]:
    """The complete records after the header, as (offset, length, start), and where the
    last one ends: anything after that is a torn tail."""
    records: list[tuple[int, int, int]] = []
    offset = _HEADER
    while offset + _RECORD.size <= size:
        f.seek(offset)
        length, start, _ = _RECORD.unpack(f.read(_RECORD.size))
        if not _TAG <= length <= MAX_RECORD_BYTES or length % 2:
            raise AudioTamperedError(f"{path}: record {len(records)} is damaged")
        if offset + _RECORD.size + length > size:
            break  # torn: the crash came mid-write
        records.append((offset, length, start))
        offset += _RECORD.size + length
    return records, offset


class AudioKeeper:
    """Appends the audio a session reads to ``folder/audio.enc``, from ``start_s`` on the
    transcript's timeline.

    :meth:`append` takes chunks as the session does (int16, or float in [-1, 1]) and writes
    a record each :data:`RECORD_S` seconds; call it from the thread that reads the audio
    (:meth:`tee`, :meth:`tap`), not the event loop. A write that fails (disk full) stops the
    keeping, not the transcription: :attr:`failed` says why.
    """

    def __init__(
        self,
        folder: Path,
        transcript_id: str,
        key: bytes,
        *,
        start_s: float = 0.0,
        record_s: float = RECORD_S,
    ) -> None:
        self.path = Path(folder) / AUDIO_FILE
        self.transcript_id = transcript_id
        self._aes = AESGCM(key)
        self.position = round(start_s * SAMPLE_RATE)  # the next sample's place
        self.kept_samples = 0
        self.failed: str | None = None
        self._record_samples = max(1, round(record_s * SAMPLE_RATE))
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise KeptAudioError(f"cannot keep the audio in {self.path}: {exc.strerror}") from None
        try:
            self._index = self._prepare(key)
        except BaseException:
            os.close(self._fd)
            raise

    def _prepare(self, key: bytes) -> int:
        """Check an existing file's header, cut a torn tail off; the next record's index."""
        size = os.fstat(self._fd).st_size
        if size < _HEADER:  # new, or the crash came before the header was whole
            os.ftruncate(self._fd, 0)
            os.write(self._fd, _MAGIC + key_id(key))
            return 0
        with open(os.dup(self._fd), "rb") as f:
            _check_header(f.read(_HEADER), self.path, key)
            records, end = _scan(f, size, self.path)
        if end < size:
            os.ftruncate(self._fd, end)
        os.lseek(self._fd, 0, os.SEEK_END)
        return len(records)

    def append(self, chunk: np.ndarray) -> None:
        pcm = as_int16(chunk)
        if self.failed is not None or not len(pcm):
            return
        while len(pcm):  # records of exactly record_s, the last one at close() shorter
            room = self._record_samples - self._buffered
            self._buffer.append(pcm[:room].copy())
            self._buffered += len(self._buffer[-1])
            pcm = pcm[room:]
            if self._buffered >= self._record_samples:
                self.flush()

    def flush(self) -> None:
        """Write what is buffered as one record."""
        if not self._buffered or self.failed is not None:
            return
        pcm = np.concatenate(self._buffer)
        self._buffer, self._buffered = [], 0
        nonce = secrets.token_bytes(12)
        sealed = self._aes.encrypt(
            nonce, pcm.astype("<i2").tobytes(), _aad(self.transcript_id, self._index, self.position)
        )
        record = _RECORD.pack(len(sealed), self.position, nonce) + sealed
        try:
            written = os.write(self._fd, record)
            while written < len(record):  # a short write: a signal, or the disk filling
                written += os.write(self._fd, record[written:])
        except OSError as exc:
            self.failed = f"cannot write {self.path}: {exc.strerror or exc}"
            return
        self._index += 1
        self.position += len(pcm)
        self.kept_samples += len(pcm)

    def tee(self, chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """``chunks``, each kept on its way through."""
        for chunk in chunks:
            self.append(chunk)
            yield chunk

    def tap(
        self, read: Callable[[float], np.ndarray | None]
    ) -> Callable[[float], np.ndarray | None]:
        """``read`` (a microphone's), keeping each block it returns."""

        def kept(timeout: float) -> np.ndarray | None:
            block = read(timeout)
            if block is not None:
                self.append(block)
            return block

        return kept

    def close(self) -> None:
        """Write what is left and sync it to disk."""
        if self._fd < 0:
            return
        self.flush()
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self.failed = self.failed or f"cannot write {self.path}: {exc.strerror or exc}"
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> AudioKeeper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_kept(storage_dir: Path, transcript_id: str, key: bytes) -> np.ndarray:
    """The kept audio as one int16 timeline from 0 (gaps silent, later records winning).

    Raises:
        KeptAudioError: no kept audio, or not readable. AudioKeyError: kept under another
            key. AudioTamperedError: a complete record does not authenticate.
    """
    path = kept_audio_path(storage_dir, transcript_id)
    aes = AESGCM(key)
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            header = f.read(_HEADER)
            if len(header) < _HEADER:
                raise KeptAudioError(f"{transcript_id} has no kept audio")
            _check_header(header, path, key)
            records, _ = _scan(f, size, path)
            if not records:
                raise KeptAudioError(f"{transcript_id} has no kept audio")
            # Two passes: the timeline's length first, so the audio sits in memory once.
            end = max(start + (length - _TAG) // 2 for _, length, start in records)
            timeline = np.zeros(end, dtype=np.int16)
            for index, (offset, length, start) in enumerate(records):
                f.seek(offset)
                _, _, nonce = _RECORD.unpack(f.read(_RECORD.size))
                try:
                    plain = aes.decrypt(nonce, f.read(length), _aad(transcript_id, index, start))
                except InvalidTag:
                    raise AudioTamperedError(
                        f"{path}: record {index} does not authenticate (changed or damaged)"
                    ) from None
                pcm = np.frombuffer(plain, dtype="<i2")
                timeline[start : start + len(pcm)] = pcm
    except FileNotFoundError:
        raise KeptAudioError(
            f"{transcript_id} has no kept audio (it is kept only with --keep-audio)"
        ) from None
    except OSError as exc:
        raise KeptAudioError(f"cannot read {path}: {exc.strerror or exc}") from None
    return timeline


def has_kept_audio(storage_dir: Path, transcript_id: str) -> bool:
    path = kept_audio_path(storage_dir, transcript_id)
    try:
        return path.stat().st_size > _HEADER
    except OSError:
        return False


def seal(key: bytes, transcript_id: str, data: bytes) -> bytes:
    """``data`` (an encoded file waiting for upload) encrypted for this transcript."""
    nonce = secrets.token_bytes(12)
    aad = b"minuta-audio-file\0" + transcript_id.encode()
    return _SEALED_MAGIC + key_id(key) + nonce + AESGCM(key).encrypt(nonce, data, aad)


def unseal(key: bytes, transcript_id: str, sealed: bytes, path: Path) -> bytes:
    _check_header(sealed[:_HEADER], path, key, _SEALED_MAGIC)
    nonce, body = sealed[_HEADER : _HEADER + 12], sealed[_HEADER + 12 :]
    try:
        return AESGCM(key).decrypt(nonce, body, b"minuta-audio-file\0" + transcript_id.encode())
    except InvalidTag:
        raise AudioTamperedError(f"{path} does not authenticate (changed or damaged)") from None

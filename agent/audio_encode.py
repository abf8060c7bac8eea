"""Kept audio (16 kHz mono int16) out as a file: Opus in Ogg through PyAV, or WAV.

libopus takes 16 kHz input as it is (Opus codes wideband speech natively and every decoder
plays it at 48 kHz), so nothing is resampled. 24 kbit/s mono is plenty for voice: an hour
is about 11 MB.
"""

from __future__ import annotations

import io
import os
import tempfile
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .vad import SAMPLE_RATE

OPUS_BITRATE = 24_000
# Handed to the encoder a second at a time: the whole meeting is never copied at once.
_BLOCK = SAMPLE_RATE
FORMATS = {".ogg": "ogg", ".opus": "ogg", ".wav": "wav"}


class EncodeError(Exception):
    """The audio cannot be encoded or written; one sentence for the user."""


def encode_ogg_opus(pcm: np.ndarray, out: BinaryIO, *, bitrate: int = OPUS_BITRATE) -> None:
    """Write ``pcm`` to ``out`` as an Ogg/Opus file."""
    import av  # here: every `minuta` command loads this module, few encode

    try:
        with av.open(out, "w", format="ogg") as container:
            stream = container.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
            stream.bit_rate = bitrate
            for i in range(0, len(pcm), _BLOCK):
                block = np.ascontiguousarray(pcm[i : i + _BLOCK], dtype=np.int16)
                frame = av.AudioFrame.from_ndarray(
                    block.reshape(1, -1), format="s16", layout="mono"
                )
                frame.sample_rate = SAMPLE_RATE
                frame.pts = i
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    except av.error.FFmpegError as exc:
        raise EncodeError(f"cannot encode Opus: {exc}") from None


def ogg_opus_bytes(pcm: np.ndarray, *, bitrate: int = OPUS_BITRATE) -> bytes:
    buf = io.BytesIO()
    encode_ogg_opus(pcm, buf, bitrate=bitrate)
    return buf.getvalue()


def write_wav(pcm: np.ndarray, out: BinaryIO) -> None:
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        for i in range(0, len(pcm), _BLOCK * 60):
            w.writeframes(pcm[i : i + _BLOCK * 60].astype("<i2").tobytes())


def format_for(path: Path) -> str:
    """``ogg`` or ``wav``, by the file's extension."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise EncodeError(
            f"{path}: say the format by the extension: .ogg or .opus (Opus), or .wav"
        ) from None


def export_audio(pcm: np.ndarray, path: Path) -> None:
    """Write ``pcm`` to ``path`` in the format its extension names, whole or not at all."""
    fmt = format_for(path)
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise EncodeError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # the mode a plain open() would give
        with os.fdopen(fd, "wb") as f:
            if fmt == "ogg":
                encode_ogg_opus(pcm, f)
            else:
                write_wav(pcm, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise EncodeError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)

"""Audio files through PyAV: FFmpeg bundled, one packet at a time, 16 kHz mono int16."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from ._common import SAMPLE_RATE, AudioError

# A bad packet or two is skipped, as the ffmpeg command line does: a meeting recording with one
# damaged spot should still be transcribed. This many bad packets in a row means the rest of the
# file is garbage, and stopping with an error beats silently transcribing half a meeting.
MAX_BAD_PACKETS_IN_A_ROW = 50


def _check_path(path: str | os.PathLike[str]) -> Path:
    """Catch the common cases before FFmpeg does, with plainer words than its errno texts."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise AudioError(f"{p}: no such file") from None
    except OSError as exc:
        raise AudioError(f"cannot read {p}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioError(f"{p}: is a directory, not an audio file")
    if st.st_size == 0:
        raise AudioError(f"{p}: the file is empty")
    return p


def _ffmpeg_problem(p: Path, exc: Exception) -> AudioError:
    if isinstance(exc, av.error.EOFError):
        return AudioError(f"{p}: the file ends unexpectedly (truncated or incomplete?)")
    if isinstance(exc, av.error.InvalidDataError):
        return AudioError(f"{p}: not an audio file FFmpeg can read, or the data is corrupt")
    if isinstance(exc, OSError) and exc.strerror:
        return AudioError(f"cannot read {p}: {exc.strerror}")
    return AudioError(f"{p}: cannot decode the audio ({exc})")


def _open(p: Path) -> av.container.InputContainer:
    try:
        # metadata_errors="ignore": a tag in a broken text encoding is no reason to refuse audio.
        container = av.open(str(p), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as exc:
        raise _ffmpeg_problem(p, exc) from None
    if not container.streams.audio:
        container.close()
        raise AudioError(f"{p}: the file has no audio stream")
    return container


def file_duration(path: str | os.PathLike[str]) -> float | None:
    """Seconds of audio according to the container's metadata, or None when it does not say.

    Meant for a progress bar: it is read from the header (estimated for some formats, such as
    mp3 without a Xing header), not by decoding. Raises AudioError when the file cannot be read.

    >>> file_duration("jfk.flac")  # doctest: +SKIP
    11.0
    """
    p = _check_path(path)
    with _open(p) as container:
        if container.duration is not None and container.duration > 0:
            return float(container.duration / av.time_base)
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
    return None


def read_file(path: str | os.PathLike[str], *, chunk_s: float = 0.5) -> Iterator[np.ndarray]:
    """Decode an audio file into 16 kHz mono int16 chunks of ``chunk_s`` seconds.

    Every chunk has exactly ``round(chunk_s * 16000)`` samples except the last, which may be
    shorter. Any format FFmpeg reads works (wav, flac, mp3, ogg/opus, m4a...). Decoding streams
    packet by packet, so memory stays at a few chunks whatever the file's length. The file is
    opened before this returns, so a missing, empty or non-audio file raises AudioError right
    away; corrupt data found while decoding raises AudioError from the iteration. Close the
    iterator (or exhaust it) to close the file early.

    >>> sum(len(c) for c in read_file("jfk.flac")) / SAMPLE_RATE  # doctest: +SKIP
    11.0
    """
    if not chunk_s * SAMPLE_RATE >= 1:
        raise ValueError(f"chunk_s must be at least one sample long, got {chunk_s!r}")
    p = _check_path(path)
    container = _open(p)
    return _decode(p, container, round(chunk_s * SAMPLE_RATE))


def _decode(p: Path, container: av.container.InputContainer, chunk: int) -> Iterator[np.ndarray]:
    """The generator behind read_file: owns ``container`` and closes it however iteration ends."""
    with container:
        stream = container.streams.audio[0]
        pending: list[np.ndarray] = []
        pending_n = 0
        decoded_any = False
        for frame in _resampled(p, container, stream):
            samples = frame.to_ndarray().reshape(-1)  # s16 mono is packed: shape (1, n)
            if not samples.size:
                continue
            decoded_any = True
            pending.append(samples)
            pending_n += samples.size
            if pending_n >= chunk:
                # One concatenation per frame, however many chunks it completes.
                joined = np.concatenate(pending)
                full = pending_n - pending_n % chunk
                for start in range(0, full, chunk):
                    yield joined[start : start + chunk]
                rest = joined[full:]
                pending, pending_n = ([rest] if rest.size else []), rest.size
        if pending_n:
            yield np.concatenate(pending)
        elif not decoded_any:
            raise AudioError(f"{p}: no decodable audio in the file")


def _resampled(
    p: Path, container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Iterator[av.AudioFrame]:
    """Decoded frames of ``stream`` converted to 16 kHz mono s16, skipping isolated bad packets."""
    resampler: av.AudioResampler | None = None
    source: tuple[str, str, int] | None = None
    bad_in_a_row = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                bad_in_a_row += 1
                if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW:
                    raise AudioError(
                        f"{p}: the audio is corrupt from about {_seconds(packet)} on"
                    ) from None
                continue
            bad_in_a_row = 0
            for frame in frames:
                # A chained ogg or a spliced recording can change rate or layout mid-stream;
                # an AudioResampler takes one input format, so start a fresh one (after
                # draining the old one's buffered tail).
                shape = (frame.format.name, frame.layout.name, frame.sample_rate)
                if shape != source:
                    if resampler is not None:
                        yield from resampler.resample(None)
                    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                    source = shape
                assert resampler is not None
                frame.pts = None  # the filter graph need not check timestamps (gaps, jumps)
                yield from resampler.resample(frame)
        if resampler is not None:
            yield from resampler.resample(None)
    except (av.error.FFmpegError, OSError) as exc:
        raise _ffmpeg_problem(p, exc) from None


def _seconds(packet: av.Packet) -> str:
    if packet.pts is None or packet.time_base is None:
        return "an unknown point"
    return f"{float(packet.pts * packet.time_base):.1f} s"

"""Microphones through sounddevice (PortAudio), imported only when one is used."""

from __future__ import annotations

import importlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import av
import numpy as np

from ._common import SAMPLE_RATE, AudioError

PORTAUDIO_HINT = (
    "PortAudio library not found: install it "
    "(Debian/Ubuntu: sudo apt-get install libportaudio2; macOS: brew install portaudio)"
)


NO_MICROPHONE = (
    "No microphone found: connect one, or transcribe a file with `minuta transcribe FILE`"
)


@dataclass(frozen=True)
class InputDevice:
    """An input-capable audio device as PortAudio lists it."""

    index: int
    name: str
    channels: int
    default_samplerate: float
    is_default: bool


def _sounddevice() -> Any:
    """Import sounddevice, turning a missing PortAudio into an AudioError with the fix."""
    try:
        sounddevice = importlib.import_module("sounddevice")  # untyped; Any is what we get anyway
    except (OSError, ImportError):
        # sounddevice raises OSError("PortAudio library not found") when libportaudio is absent.
        raise AudioError(PORTAUDIO_HINT) from None
    except Exception as exc:  # PortAudioError from Pa_Initialize at import time
        raise AudioError(f"cannot start PortAudio: {exc}") from None
    return sounddevice


def list_devices() -> list[InputDevice]:
    """The input-capable devices (possibly none). Raises AudioError when PortAudio is missing.

    >>> [d.name for d in list_devices()]  # doctest: +SKIP
    ['MacBook Pro Microphone', 'USB Audio Device']
    """
    sd = _sounddevice()
    try:
        infos = list(sd.query_devices())
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot list audio devices: {exc}") from None
    try:
        default = int(sd.query_devices(kind="input")["index"])
    except (sd.PortAudioError, ValueError):  # no default input: PortAudio's device -1
        default = -1
    return [
        InputDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            channels=int(info["max_input_channels"]),
            default_samplerate=float(info["default_samplerate"]),
            is_default=int(info["index"]) == default,
        )
        for info in infos
        if info["max_input_channels"] > 0
    ]


def _resolve_device(device: int | str | None, devices: list[InputDevice]) -> InputDevice:
    """Pick the device the user asked for: an index, a digit string, or (part of) a name.

    None means the default input, or the first input when PortAudio names no default (it
    would otherwise fail on "device -1" although a microphone is plugged in).
    Raises AudioError naming what exists when nothing, or more than one device, matches.

    >>> mics = [InputDevice(0, "Built-in", 1, 48000.0, True), InputDevice(3, "USB", 1, 44100.0, False)]
    >>> _resolve_device("usb", mics).index, _resolve_device(None, mics).index
    (3, 0)
    """
    if not devices:
        raise AudioError(NO_MICROPHONE)
    if device is None:
        return next((d for d in devices if d.is_default), devices[0])
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device)
    if isinstance(device, int):
        matches = [d for d in devices if d.index == device]
        wanted = f"no input device with index {device}"
    else:
        query = device.strip().casefold()
        exact = [d for d in devices if d.name.casefold() == query]
        matches = exact or [d for d in devices if query in d.name.casefold()]
        wanted = (
            f"more than one input device matches {device!r}"
            if len(matches) > 1
            else f"no input device matches {device!r}"
        )
    if len(matches) == 1:
        return matches[0]
    listing = "; ".join(f"{d.index}: {d.name}" for d in devices)
    raise AudioError(f"{wanted}: use an index or name from: {listing}")


def _is_invalid_rate(exc: Exception) -> bool:
    # PortAudio's paInvalidSampleRate (-9997); sounddevice puts the code in args[1].
    return (len(exc.args) > 1 and exc.args[1] == -9997) or "Invalid sample rate" in str(exc)


def _is_no_device(exc: Exception) -> bool:
    # What sounddevice says when PortAudio has no default input to open (device -1).
    return "Error querying device -1" in str(exc)


class _Resampler:
    """Streaming int16 mono resampling to 16 kHz for a device that cannot open at 16 kHz.

    Runs in the consumer thread (never in the audio callback, which must not do real work).
    FFmpeg's resampler keeps its filter state across blocks, so block edges leave no clicks.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)

    def __call__(self, block: np.ndarray | None) -> np.ndarray:
        """Resample one block; None flushes the tail the filter still holds."""
        frame: av.AudioFrame | None = None
        if block is not None:
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self.rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, np.int16)


_CLOSED = None  # the queue item that tells readers the stream has ended


class Microphone:
    """Live capture with sounddevice: 16 kHz mono int16 blocks of about ``block_s`` seconds.

    The stream callback does one thing: put a copy of the block on a queue (audio callbacks
    must never block). A context manager; iterate, or call read() with a timeout. Input
    overflows (the consumer fell so far behind that PortAudio dropped audio) are counted in
    ``overflows``, not raised.

    ``device`` is an index, a (part of a) name, or None for the default input.
    ``stream_factory`` defaults to ``sounddevice.InputStream``; tests pass a fake.

    >>> with Microphone() as mic:  # doctest: +SKIP
    ...     for block in mic:
    ...         vad.feed(block)
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        block_s: float = 0.1,
        stream_factory: Callable[..., Any] | None = None,
    ) -> None:
        if not block_s * SAMPLE_RATE >= 1:
            raise ValueError(f"block_s must be at least one sample long, got {block_s!r}")
        self.device = device
        self.block_s = block_s
        self._factory = stream_factory
        # Unbounded on purpose: dropping blocks would lose words, and a consumer that stalls
        # for a whole 2-hour meeting still only queues ~230 MB at 16 kHz.
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._stream: Any = None
        self._resample: _Resampler | None = None
        self._overflows = 0
        self._closed = False
        self._lock = threading.Lock()

    @property
    def overflows(self) -> int:
        """How many callbacks reported an input overflow (audio lost before it reached us)."""
        return self._overflows

    def __enter__(self) -> Microphone:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Open and start the input stream (``with Microphone() as mic`` calls this)."""
        if self._stream is not None or self._closed:
            raise RuntimeError("a Microphone starts once")
        factory = self._factory
        native_rate: float | None = None
        device: int | str | None = self.device
        if factory is None:
            sd = _sounddevice()
            info = _resolve_device(self.device, list_devices())
            device, native_rate = info.index, info.default_samplerate
            factory = sd.InputStream
        try:
            stream = self._open(factory, device, SAMPLE_RATE)
        except Exception as exc:
            if not _is_invalid_rate(exc):
                raise self._open_error(exc) from None
            # The host API cannot convert to 16 kHz itself: capture at the device's own rate
            # (None asks sounddevice for the device default) and resample as blocks are read.
            rate = round(native_rate) if native_rate else None
            try:
                stream = self._open(factory, device, rate)
            except Exception as exc2:
                raise self._open_error(exc2) from None
            actual = getattr(stream, "samplerate", None) or rate
            if not actual:
                stream.close()
                raise AudioError("cannot tell the microphone's sample rate") from None
            if round(actual) != SAMPLE_RATE:
                self._resample = _Resampler(round(actual))
        self._stream = stream
        try:
            stream.start()
        except Exception as exc:
            self._stream = None
            stream.close()
            raise self._open_error(exc) from None

    def _open(self, factory: Callable[..., Any], device: int | str | None, rate: int | None) -> Any:
        return factory(
            samplerate=rate,
            channels=1,
            dtype="int16",
            blocksize=round(self.block_s * rate) if rate else 0,
            device=device,
            callback=self._callback,
        )

    def _open_error(self, exc: Exception) -> AudioError:
        if _is_no_device(exc):
            return AudioError(NO_MICROPHONE)
        which = "the default microphone" if self.device is None else f"microphone {self.device!r}"
        return AudioError(f"cannot open {which}: {exc}")

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Runs on PortAudio's audio thread: no locks held for long, no allocation beyond the
        # copy (sounddevice reuses indata's buffer after we return), nothing that can block.
        if status and status.input_overflow:
            self._overflows += 1
        self._queue.put_nowait(indata[:, 0].copy())

    def read(self, timeout: float | None = None) -> np.ndarray | None:
        """The next block (int16, 1-D), or None when ``timeout`` seconds pass first or the
        microphone is closed and every captured block has been read."""
        if self._stream is None and not self._closed:
            raise RuntimeError("start the Microphone first: `with Microphone() as mic:`")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                block = self._queue.get(timeout=left)
            except queue.Empty:
                return None
            if block is _CLOSED:
                self._queue.put_nowait(_CLOSED)  # later reads (and other readers) end too
                if self._resample is not None:
                    # Flushed here, not in close(): the resampler belongs to the reading thread.
                    tail, self._resample = self._resample(None), None
                    if tail.size:
                        return tail
                return None
            if self._resample is None:
                return block
            out = self._resample(block)
            if out.size:
                return out
            # The resampler's filter is still priming; the next block brings output.

    def __iter__(self) -> Iterator[np.ndarray]:
        """Blocks as they are captured, until the microphone is closed and drained."""
        while (block := self.read()) is not None:
            yield block

    def close(self) -> None:
        """Stop capturing. Blocks already captured can still be read. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            stream, self._stream = self._stream, None
        try:
            if stream is not None:
                try:
                    stream.stop()  # waits for a running callback: none comes after the end mark
                finally:
                    stream.close()
        finally:
            self._queue.put_nowait(_CLOSED)  # even if stopping failed, readers must not hang

"""Voice activity detection: cut a 16 kHz mono int16 PCM stream into utterances.

A frame classifier (webrtcvad, or an RMS threshold when webrtcvad is missing) labels every
``frame_ms`` frame as speech or not; :class:`Segmenter` turns those labels into utterances
with padding, drops short bursts, and cuts long speech at its quietest frame so that each
part fits one Whisper window. Pure computation: no I/O, no threads.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> silence = np.zeros(16_000, dtype=np.int16)
    >>> burst = (rng.standard_normal(16_000) * 3000).astype(np.int16)
    >>> seg = Segmenter(VadOptions(backend="energy"))
    >>> [(u.t0, u.t1) for u in seg.feed(np.concatenate([silence, burst, silence]))]
    [(0.79, 2.21)]
"""

from __future__ import annotations

import importlib
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

SAMPLE_RATE = 16_000

Backend = Literal["auto", "webrtc", "energy"]
_BACKENDS = ("auto", "webrtc", "energy")

# feed() works through its input in slices of this many samples, so one huge array (a whole
# file) does not make the internal buffer hold all of it at once.
_FEED_SLICE = 1 << 17

# Full scale of int16, for dBFS and for float <-> int16 conversion (faster-whisper divides
# by the same number when it decodes audio).
_FULL_SCALE = 32768.0


@dataclass(frozen=True)
class VadOptions:
    """How the stream is cut into utterances.

    Attributes:
      backend: Frame classifier. "webrtc" uses webrtcvad's GMM; "energy" compares each
        frame's RMS with a threshold; "auto" uses webrtcvad when it can be imported, else
        the energy classifier.
      mode: webrtcvad aggressiveness, 0 (keeps most audio) to 3 (drops most non-speech).
      frame_ms: Length of a classified frame in milliseconds: 10, 20 or 30, the only
        lengths webrtcvad accepts.
      min_speech_ms: An utterance starts once its speech frames add up to this much, with
        no ``min_silence_ms`` gap between them, within ``min_speech_ms + min_silence_ms``;
        shorter bursts (clicks, coughs) are not speech.
      min_silence_ms: This much consecutive non-speech closes an utterance.
      pad_ms: Audio kept before the onset and after the last speech frame, so that word
        edges are not clipped.
      min_cut_s: An utterance that reaches ``max_utterance_s`` is cut at its quietest frame
        between ``min_cut_s`` and ``max_utterance_s`` from its start.
      max_utterance_s: No utterance is longer than this (Whisper decodes 30 s windows; a
        shorter bound keeps partial hypotheses cheap and latency low).
      energy_threshold_db: Energy classifier: a frame whose RMS (dBFS) is above this is
        speech.
      energy_hysteresis_db: Energy classifier: once in speech, frames stay speech until
        their RMS falls this many dB below ``energy_threshold_db``.

    Example:
        >>> VadOptions(frame_ms=20).frame_samples
        320
        >>> VadOptions(frame_ms=25)
        Traceback (most recent call last):
        ...
        ValueError: frame_ms must be 10, 20 or 30 (webrtcvad accepts only these), got 25
    """

    backend: Backend = "auto"
    mode: int = 2
    frame_ms: int = 30
    min_speech_ms: int = 350
    min_silence_ms: int = 200
    pad_ms: int = 200
    min_cut_s: float = 8.0
    max_utterance_s: float = 12.0
    energy_threshold_db: float = -40.0
    energy_hysteresis_db: float = 6.0

    def __post_init__(self) -> None:
        if self.backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(_BACKENDS)}, got {self.backend!r}")
        if self.mode not in (0, 1, 2, 3):
            raise ValueError(f"mode must be 0, 1, 2 or 3, got {self.mode!r}")
        if self.frame_ms not in (10, 20, 30):
            raise ValueError(
                f"frame_ms must be 10, 20 or 30 (webrtcvad accepts only these), got {self.frame_ms!r}"
            )
        if not self.min_speech_ms > 0:
            raise ValueError(f"min_speech_ms must be > 0, got {self.min_speech_ms!r}")
        if not self.min_silence_ms > 0:
            raise ValueError(f"min_silence_ms must be > 0, got {self.min_silence_ms!r}")
        if not self.pad_ms >= 0:
            raise ValueError(f"pad_ms must be >= 0, got {self.pad_ms!r}")
        if not (math.isfinite(self.max_utterance_s) and math.isfinite(self.min_cut_s)):
            raise ValueError("min_cut_s and max_utterance_s must be finite")
        if not 0 < self.min_cut_s < self.max_utterance_s:
            raise ValueError(
                f"need 0 < min_cut_s < max_utterance_s, got min_cut_s={self.min_cut_s!r}, "
                f"max_utterance_s={self.max_utterance_s!r}"
            )
        # The cut needs a few whole frames to choose from.
        if (self.max_utterance_s - self.min_cut_s) * 1000 < 3 * self.frame_ms:
            raise ValueError(
                f"max_utterance_s - min_cut_s must be at least 3 frames "
                f"({3 * self.frame_ms} ms), got {self.max_utterance_s - self.min_cut_s:g} s"
            )
        # An utterance is already this long when its onset is detected; if it could reach
        # min_cut_s by then, a cut could be due before any frame is eligible for it.
        onset_ms = self.pad_ms + (self.onset_window_frames + 1) * self.frame_ms
        if self.min_cut_s * 1000 < onset_ms:
            raise ValueError(
                f"min_cut_s must be at least pad_ms + min_speech_ms + min_silence_ms plus "
                f"two frames ({onset_ms / 1000:g} s), got {self.min_cut_s!r}"
            )
        if not (math.isfinite(self.energy_threshold_db) and self.energy_threshold_db <= 0):
            raise ValueError(
                f"energy_threshold_db must be a finite dBFS value <= 0, got {self.energy_threshold_db!r}"
            )
        if not (math.isfinite(self.energy_hysteresis_db) and self.energy_hysteresis_db >= 0):
            raise ValueError(
                f"energy_hysteresis_db must be finite and >= 0, got {self.energy_hysteresis_db!r}"
            )

    @property
    def frame_samples(self) -> int:
        """Samples in one classified frame."""
        return self.frame_ms * SAMPLE_RATE // 1000

    @property
    def min_speech_frames(self) -> int:
        """Speech frames that make an onset: their total reaches ``min_speech_ms``."""
        return math.ceil(self.min_speech_ms / self.frame_ms)

    @property
    def min_silence_frames(self) -> int:
        """Consecutive non-speech frames that close an utterance."""
        return math.ceil(self.min_silence_ms / self.frame_ms)

    @property
    def onset_window_frames(self) -> int:
        """The onset's speech frames must lie within this many frames (its density rule)."""
        return self.min_speech_frames + self.min_silence_frames


@dataclass(frozen=True)
class Utterance:
    """A stretch of speech, padded, with its audio.

    Attributes:
      t0: Start in seconds from the start of the stream (a whole sample), pad included.
      t1: End in seconds, pad included.
      audio: The int16 mono samples from t0 to t1 (``round((t1 - t0) * 16000)`` of them).
        Not compared by ``==``: equal times on one stream mean equal audio.
      final: True once the VAD closed it, cut it or flushed it; False for the utterance
        still in progress (:meth:`Segmenter.open_utterance`).
      continues: True when it starts where a cut ended the previous utterance: the
        speaker did not pause between the two, so a transcript may join them (and an ASR
        may prompt this one with the previous text).

    Example:
        >>> u = Utterance(0.5, 1.0, np.zeros(8000, dtype=np.int16), final=True)
        >>> u.duration, u.as_float32().dtype
        (0.5, dtype('float32'))
    """

    t0: float
    t1: float
    audio: np.ndarray = field(compare=False, repr=False)
    final: bool
    continues: bool = False

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.t1 - self.t0

    def as_float32(self) -> np.ndarray:
        """The audio as float32 in [-1, 1), what faster-whisper's ``transcribe`` takes."""
        return self.audio.astype(np.float32) / np.float32(_FULL_SCALE)


class Vad(Protocol):
    """A frame classifier: is this frame of 16 kHz mono int16 PCM speech?

    It may keep state between frames (webrtcvad and the hysteresis do), so frames must come
    in stream order.
    """

    def is_speech(self, frame: bytes | np.ndarray) -> bool: ...


def _frame_array(frame: bytes | np.ndarray) -> np.ndarray:
    if isinstance(frame, bytes | bytearray | memoryview):
        return np.frombuffer(frame, dtype=np.int16)
    return frame


class WebrtcFrameVad:
    """webrtcvad's classifier. Frames must be exactly 10, 20 or 30 ms long.

    Example:
        >>> WebrtcFrameVad(mode=3).is_speech(bytes(960))
        False
    """

    def __init__(self, mode: int = 2, sample_rate: int = SAMPLE_RATE) -> None:
        # Imported by name: the module ships no type information, and the import may fail
        # (make_frame_vad falls back to the energy classifier then).
        webrtcvad: Any = importlib.import_module("webrtcvad")
        if mode not in (0, 1, 2, 3):
            raise ValueError(f"mode must be 0, 1, 2 or 3, got {mode!r}")
        self._vad = webrtcvad.Vad(mode)
        self._valid = webrtcvad.valid_rate_and_frame_length
        if not self._valid(sample_rate, sample_rate // 100):
            raise ValueError(f"webrtcvad does not accept a sample rate of {sample_rate} Hz")
        self.sample_rate = sample_rate

    def is_speech(self, frame: bytes | np.ndarray) -> bool:
        if isinstance(frame, np.ndarray):
            if frame.dtype != np.int16:
                raise TypeError(f"frames must be int16 PCM, got {frame.dtype}")
            frame = frame.tobytes()
        n = len(frame) // 2
        if len(frame) % 2 or not self._valid(self.sample_rate, n):
            raise ValueError(
                f"webrtcvad needs exactly 10, 20 or 30 ms of 16-bit PCM at {self.sample_rate} Hz, "
                f"got {len(frame)} bytes"
            )
        return bool(self._vad.is_speech(bytes(frame), self.sample_rate, n))


class EnergyFrameVad:
    """Speech when the frame RMS is above a threshold (dBFS), with hysteresis.

    It cannot tell speech from other loud sound; it is the fallback when webrtcvad is
    missing, and the predictable classifier for tests.

    Example:
        >>> v = EnergyFrameVad(threshold_db=-40.0, hysteresis_db=6.0)
        >>> loud, softer = np.full(480, 1000, np.int16), np.full(480, 250, np.int16)
        >>> [v.is_speech(f) for f in (softer, loud, softer, np.zeros(480, np.int16))]
        [False, True, True, False]
    """

    def __init__(self, threshold_db: float = -40.0, hysteresis_db: float = 6.0) -> None:
        if hysteresis_db < 0:
            raise ValueError(f"hysteresis_db must be >= 0, got {hysteresis_db!r}")
        self.threshold_db = threshold_db
        self.hysteresis_db = hysteresis_db
        self._on = False
        # Compare mean squares rather than dB: no log per frame.
        self._on_ms = (_FULL_SCALE * 10 ** (threshold_db / 20)) ** 2
        self._off_ms = (_FULL_SCALE * 10 ** ((threshold_db - hysteresis_db) / 20)) ** 2

    def is_speech(self, frame: bytes | np.ndarray) -> bool:
        x = _frame_array(frame).astype(np.float32)
        if x.size == 0:
            raise ValueError("empty frame")
        mean_square = float(np.dot(x, x)) / x.size
        self._on = mean_square >= self._off_ms if self._on else mean_square > self._on_ms
        return self._on


def make_frame_vad(options: VadOptions) -> WebrtcFrameVad | EnergyFrameVad:
    """The frame classifier that ``options.backend`` asks for.

    "auto" falls back to the energy classifier, silently, when webrtcvad cannot be
    imported; "webrtc" raises ImportError then.

    Example:
        >>> type(make_frame_vad(VadOptions(backend="energy"))).__name__
        'EnergyFrameVad'
    """
    if options.backend != "energy":
        try:
            return WebrtcFrameVad(options.mode, SAMPLE_RATE)
        except ImportError as exc:
            if options.backend == "webrtc":
                raise ImportError(
                    "backend='webrtc' needs the webrtcvad module (pip install webrtcvad-wheels)"
                ) from exc
    return EnergyFrameVad(options.energy_threshold_db, options.energy_hysteresis_db)


def _as_int16(pcm: np.ndarray) -> np.ndarray:
    a = np.asarray(pcm)
    if a.ndim != 1:
        raise ValueError(f"expected mono audio, a 1-D array, got shape {a.shape}")
    if a.dtype == np.int16:
        return a
    if a.dtype in (np.float32, np.float64):
        # NaN would turn into an arbitrary integer (and a warning): call it silence.
        scaled = np.nan_to_num(np.rint(a * _FULL_SCALE), copy=False)
        return np.clip(scaled, -_FULL_SCALE, _FULL_SCALE - 1).astype(np.int16)
    raise TypeError(f"expected int16 PCM or float32 in [-1, 1], got {a.dtype}")


class _Samples:
    """The retained tail of the stream, addressed by absolute sample index.

    Appends are amortised O(1) per sample (capacity doubles) and dropping old audio is
    free until the space is needed: feeding one sample at a time stays linear.
    """

    def __init__(self) -> None:
        self._a = np.zeros(1 << 16, dtype=np.int16)
        self.start = 0  # absolute index of _a[0]
        self.end = 0  # absolute index one past the last sample
        self._keep_from = 0  # samples before this may be dropped

    def append(self, x: np.ndarray) -> None:
        n = self.end - self.start
        if n + x.size > self._a.size:
            drop = self._keep_from - self.start
            kept = n - drop
            size = self._a.size
            while kept + x.size > size:
                size *= 2
            if size == self._a.size:
                self._a[:kept] = self._a[drop:n]
            else:
                a = np.empty(size, dtype=np.int16)
                a[:kept] = self._a[drop:n]
                self._a = a
            self.start = self._keep_from
            n = kept
        self._a[n : n + x.size] = x
        self.end += x.size

    def view(self, a: int, b: int) -> np.ndarray:
        """Samples [a, b), not copied: valid until the next append."""
        assert self._keep_from <= a <= b <= self.end, (a, b)
        return self._a[a - self.start : b - self.start]

    def release(self, before: int) -> None:
        """Samples before ``before`` (absolute) will not be asked for again."""
        self._keep_from = min(max(self._keep_from, before), self.end)


class Segmenter:
    """Cuts a stream of 16 kHz mono PCM into utterances, incrementally.

    Feed it audio of any length as it arrives; each :meth:`feed` returns the utterances it
    closed. The result does not depend on how the audio was split into calls. Memory stays
    bounded: in silence it keeps only what a next onset could need, in speech at most
    ``max_utterance_s``.

    The rules, in frames of ``frame_ms``:

    - Onset: ``min_speech_ms`` of speech frames within ``min_speech_ms + min_silence_ms``,
      none of them before a ``min_silence_ms`` gap. The utterance starts ``pad_ms`` before
      its first speech frame, but never before 0 or before the previous utterance's end.
    - End: ``min_silence_ms`` of non-speech closes it; it ends ``pad_ms`` after its last
      speech frame (or where the audio consumed ends, if sooner).
    - Cut: when the next frame would take it past ``max_utterance_s``, it is split in the
      middle of its quietest frame lying between ``min_cut_s`` and the current end. The
      first part is emitted; the rest stays open with ``continues=True``, and is emitted
      however little speech it ends up with (it ends a sentence already found to be
      speech). Parts are contiguous: nothing is lost or repeated.

    Example:
        >>> seg = Segmenter(VadOptions(backend="energy"))
        >>> tone = (np.sin(np.arange(32_000) * 0.2) * 8000).astype(np.int16)
        >>> seg.feed(tone)
        []
        >>> seg.open_utterance().t0, seg.position
        (0.0, 2.0)
        >>> [(u.t0, u.t1, u.final) for u in seg.flush()]
        [(0.0, 2.0, True)]
    """

    def __init__(self, options: VadOptions | None = None) -> None:
        self.options = opts = options or VadOptions()
        self._vad = make_frame_vad(opts)
        self._n = opts.frame_samples
        self._pad = opts.pad_ms * SAMPLE_RATE // 1000
        self._min_speech = opts.min_speech_frames
        self._min_silence = opts.min_silence_frames
        self._window = opts.onset_window_frames
        self._max_len = round(opts.max_utterance_s * SAMPLE_RATE)
        self._min_cut = round(opts.min_cut_s * SAMPLE_RATE)

        self._buf = _Samples()
        self._frames = 0  # frames classified so far
        self._floor = 0  # no utterance starts before this (where the previous one ended)
        # In silence: the speech frames seen since the last min_silence gap, within the
        # onset window.
        self._recent: deque[int] = deque()
        self._silence_run = 0
        # The open utterance: starts at sample _u0 (None in silence).
        self._u0: int | None = None
        self._speech_end = 0  # end sample of its last speech frame
        self._continues = False

    @property
    def backend(self) -> str:
        """The classifier in use: "webrtc" or "energy"."""
        return "webrtc" if isinstance(self._vad, WebrtcFrameVad) else "energy"

    @property
    def position(self) -> float:
        """Seconds of audio consumed so far."""
        return self._buf.end / SAMPLE_RATE

    @property
    def speech_end(self) -> float | None:
        """Where the open utterance's speech last stopped (seconds); None in silence.

        ``position - speech_end`` is how long the speaker has paused: the pipeline uses
        it to start transcribing before the utterance is closed.
        """
        return None if self._u0 is None else self._speech_end / SAMPLE_RATE

    def feed(self, pcm: np.ndarray) -> list[Utterance]:
        """Consume audio; return the utterances closed by it, in order, all final.

        ``pcm`` is 1-D int16, or float32/float64 in [-1, 1] (converted to int16). Samples
        short of a whole frame wait for the next call.
        """
        x = _as_int16(pcm)
        out: list[Utterance] = []
        for i in range(0, x.size, _FEED_SLICE):
            self._feed(x[i : i + _FEED_SLICE], out)
        return out

    def open_utterance(self) -> Utterance | None:
        """The utterance in progress (final=False) with all its audio so far, or None.

        None in silence, and also while speech has started but not yet reached
        ``min_speech_ms`` (it may still turn out to be a click).
        """
        if self._u0 is None:
            return None
        return self._utterance(self._u0, self._buf.end, final=False)

    def flush(self) -> list[Utterance]:
        """End of stream: close the open utterance (it has >= ``min_speech_ms`` of speech).

        A burst still short of ``min_speech_ms`` is dropped. Feeding afterwards carries on
        the same timeline, as after a pause.
        """
        out: list[Utterance] = []
        if self._u0 is not None:
            t1 = min(self._speech_end + self._pad, self._buf.end, self._u0 + self._max_len)
            self._close(t1, out)
        self._recent.clear()
        self._silence_run = self._min_silence
        self._release()
        return out

    # -- internals ----------------------------------------------------------------------

    def _feed(self, x: np.ndarray, out: list[Utterance]) -> None:
        if x.size == 0:
            return
        self._buf.append(x)
        n = self._n
        first = self._frames
        count = (self._buf.end - first * n) // n
        if count == 0:
            return
        block = self._buf.view(first * n, (first + count) * n)
        is_speech = self._vad.is_speech
        for i in range(count):
            self._step(first + i, is_speech(block[i * n : (i + 1) * n]), out)
        self._frames = first + count
        self._release()

    def _step(self, k: int, speech: bool, out: list[Utterance]) -> None:
        """Advance the state machine by frame ``k``."""
        n = self._n
        if self._u0 is None:
            if speech:
                self._silence_run = 0
                recent = self._recent
                recent.append(k)
                while recent[0] <= k - self._window:
                    recent.popleft()
                if len(recent) >= self._min_speech:
                    self._u0 = max(recent[0] * n - self._pad, self._floor)
                    self._speech_end = (k + 1) * n
                    self._continues = False
                    recent.clear()
            else:
                self._silence_run += 1
                if self._silence_run >= self._min_silence:
                    self._recent.clear()
            return

        end = (k + 1) * n
        if speech:
            self._silence_run = 0
            self._speech_end = end
        else:
            self._silence_run += 1
            if self._silence_run >= self._min_silence:
                self._close(min(self._speech_end + self._pad, end), out)
                return
        # Cut now if the next frame would take the utterance past max_utterance_s.
        if end + n - self._u0 > self._max_len:
            self._cut(end, out)

    def _cut(self, end: int, out: list[Utterance]) -> None:
        """Split the open utterance at its quietest whole frame in [min_cut, end)."""
        assert self._u0 is not None
        n = self._n
        lo = min(-(-(self._u0 + self._min_cut) // n), end // n - 1)
        frames = self._buf.view(lo * n, end).astype(np.float32).reshape(-1, n)
        quietest = lo + int(np.argmin(np.einsum("ij,ij->i", frames, frames)))
        # The middle of the quietest frame: both parts keep a little of the pause.
        cut = quietest * n + n // 2
        out.append(self._utterance(self._u0, cut, final=True))
        self._u0 = self._floor = cut
        self._continues = True
        self._release()

    def _close(self, t1: int, out: list[Utterance]) -> None:
        assert self._u0 is not None
        # Only a part after a cut can end before it starts (no speech after the cut);
        # a part with any audio is kept: it ends a sentence that was already speech.
        if t1 > self._u0:
            out.append(self._utterance(self._u0, t1, final=True))
            self._floor = max(self._floor, t1)
        self._u0 = None
        self._recent.clear()

    def _utterance(self, a: int, b: int, *, final: bool) -> Utterance:
        return Utterance(
            t0=a / SAMPLE_RATE,
            t1=b / SAMPLE_RATE,
            audio=self._buf.view(a, b).copy(),
            final=final,
            continues=self._continues,
        )

    def _release(self) -> None:
        if self._u0 is not None:
            self._buf.release(self._u0)
        else:
            # A future onset is at a frame still in the window, minus the pad; and frames
            # not yet classified are needed whatever the floor (flush can put it past them).
            oldest = (self._frames - self._window) * self._n - self._pad
            self._buf.release(min(max(oldest, self._floor), self._frames * self._n))

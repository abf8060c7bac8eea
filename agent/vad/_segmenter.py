"""The segmenter: frame labels in, utterances out.

Pure computation: no I/O, no threads.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ._classifiers import FrameVad, make_frame_vad, restart_step
from ._options import FULL_SCALE, SAMPLE_RATE, VadOptions

# feed() works through its input in slices of this many samples, so one huge array (a whole
# file) does not make the internal buffer hold all of it at once.
_FEED_SLICE = 1 << 17
# After this much silence the classifier is reset (see ``Segmenter._settle``).
SETTLE_S = 1.0


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
        return self.audio.astype(np.float32) / np.float32(FULL_SCALE)


def as_int16(pcm: np.ndarray) -> np.ndarray:
    a = np.asarray(pcm)
    if a.ndim != 1:
        raise ValueError(f"expected mono audio, a 1-D array, got shape {a.shape}")
    if a.dtype == np.int16:
        return a
    if a.dtype in (np.float32, np.float64):
        # NaN would turn into an arbitrary integer (and a warning): call it silence.
        scaled = np.nan_to_num(np.rint(a * FULL_SCALE), copy=False)
        return np.clip(scaled, -FULL_SCALE, FULL_SCALE - 1).astype(np.int16)
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
        self._vad: FrameVad = make_frame_vad(opts)
        self._n = opts.frame_samples
        self._pad = opts.pad_ms * SAMPLE_RATE // 1000
        self._min_speech = opts.min_speech_frames
        self._min_silence = opts.min_silence_frames
        self._window = opts.onset_window_frames
        self._max_len = round(opts.max_utterance_s * SAMPLE_RATE)
        self._min_cut = round(opts.min_cut_s * SAMPLE_RATE)
        self._step_frames = restart_step(opts.frame_ms) // self._n
        self._settle_frames = math.ceil(SETTLE_S * 1000 / opts.frame_ms)
        self._settled = False  # the classifier was reset in this stretch of silence

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
        """The classifier in use: "silero", "webrtc" or "energy"."""
        return self._vad.name

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
        x = as_int16(pcm)
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
        k, end, step = first, first + count, self._step_frames
        while k < end:
            stop = min(end, (k // step + 1) * step)
            block = self._buf.view(k * n, stop * n).reshape(stop - k, n)
            for i, speech in enumerate(self._vad.classify(block)):
                self._step(k + i, bool(speech), out)
            k = self._frames = stop
            if k % step == 0:
                self._settle()
        self._release()

    def _settle(self) -> None:
        """In a long silence, on the restart grid: reset the classifier.

        Its state (Silero's LSTM, the normalizer's envelope) would otherwise carry tiny
        differences for minutes, so a file resumed on the grid would cut an utterance a
        frame differently now and then. After a reset at the same point, two segmenters
        are identical, and a resume hears the same utterances as an uninterrupted run.
        """
        silent = self._u0 is None and not self._recent
        if silent and self._silence_run >= self._settle_frames and not self._settled:
            self._vad.reset()
            self._settled = True

    def _step(self, k: int, speech: bool, out: list[Utterance]) -> None:
        """Advance the state machine by frame ``k``."""
        n = self._n
        if speech:
            self._settled = False
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

"""Speech to text with faster-whisper: one model per session, utterances in, hypotheses out.

The defaults come from measurement (``bench/asr.py --sweep``, base model, FLEURS read
speech; the README has the table):

- ``beam_size=1``: beam 5 was better on Spanish (WER 0.115 -> 0.092) but worse on English
  (0.165 -> 0.214) and ~25% slower; greedy keeps latency predictable.
- ``temperature=(0.0,)``: no WER difference from (0.0, 0.2) or the default six steps
  here, and greedy decoding is deterministic: a fallback samples (CTranslate2's random
  state lives in its worker threads and cannot be reseeded per call), so the same audio
  could read differently from one run to the next, and a resumed file would not match an
  uninterrupted one.
- ``condition_on_previous_text=False``: conditioning cost WER in English (0.165 -> 0.184),
  and it is what lets one repetition feed the next.
- ``vad_filter=False``: our own VAD has already cut the audio into speech (and Silero's
  filter on top cost WER: 0.165 -> 0.301 in English).
- ``word_timestamps=True``: subtitles and the editor need them. They caused the Spanish
  repetition loop: when a window does not end on a timestamp token, faster-whisper seeks to
  the last aligned word, and after a sampled fallback decode (T>0) that alignment ends
  early, so the same audio is decoded again and the text repeats. A hypothesis the guard
  calls a loop is therefore decoded once more without word timestamps or fallback.

Every call costs a full 30-second encoder pass whatever the audio length (about 1 s for
base on two CPU cores), so :meth:`IncrementalTranscriber.transcribe_many` can pack several
utterances into one call and split the words back by time; the session does so only when
asked (``--fast``), since packed windows decode measurably worse.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._decoding import (
    PACK_GAP_S,
    UNHEARD_S,
    at_level,
    clamp,
    confidence,
    max_tokens,
    owner,
    vocabulary_hint,
    without_invented_tail,
)
from .guard import GuardOptions, Verdict, judge
from .models import ResolvedModel, resolve_model

SAMPLE_RATE = 16_000
# A call is padded to 30 s; keep packed audio under it with room for the gaps.
MAX_PACKED_S = 28.0
# Guard verdicts that mean a decoding loop, worth one more try without its cause.
_LOOP_REASONS = ("repeated n-gram", "compression")


@dataclass(frozen=True)
class AsrOptions:
    """How speech is turned into text.

    Attributes:
        model: a path, ``tiny.en``, ``base`` (default, bundled) or a faster-whisper name.
        language: an ISO code, or None to detect it once per session.
        device: ``auto`` uses CUDA when CTranslate2 sees a GPU, else the CPU.
        compute_type: None picks ``int8_float16`` on CUDA and ``int8`` on the CPU.
        cpu_threads: 0 uses every core the process may run on.
        beam_size, temperature, word_timestamps, vad_filter, compression_ratio_threshold,
        log_prob_threshold, no_speech_threshold, condition_on_previous_text:
            passed to faster-whisper (see the module docstring for why these values).
        guard: what counts as a hallucination to drop.
        fit_window: encode the audio plus a 2 s margin rather than a padded 30-second
            window (``agent/whisper_window.py``): several times faster for short
            utterances; False decodes exactly as faster-whisper does.
        input_level_db: bring each utterance to this RMS level (dBFS, gain at most
            ``MAX_INPUT_GAIN_DB``) before decoding; None decodes the audio as recorded.
    """

    model: str | None = None
    language: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str | None = None
    cpu_threads: int = 0
    beam_size: int = 1
    temperature: tuple[float, ...] = (0.0,)
    word_timestamps: bool = True
    vad_filter: bool = False
    compression_ratio_threshold: float = 2.6
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    condition_on_previous_text: bool = False
    guard: GuardOptions = field(default_factory=GuardOptions)
    input_level_db: float | None = None
    fit_window: bool = True


@dataclass(frozen=True)
class Hypothesis:
    """Text for one utterance, with absolute times (seconds from the start of the stream).

    ``dropped`` names the guard rule that rejected it; such text is never written.
    """

    t0: float
    t1: float
    text: str
    words: list[tuple[str, float, float, float]]
    conf: float | None
    lang: str
    dropped: str | None = None


def detect_hardware(options: AsrOptions) -> tuple[str, str, int]:
    """(device, compute_type, cpu_threads) for this machine."""
    import ctranslate2

    device = options.device
    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute = options.compute_type or ("int8_float16" if device == "cuda" else "int8")
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    threads = options.cpu_threads or (len(usable) if usable else os.cpu_count() or 1)
    return device, compute, threads


def _to_float(audio: np.ndarray) -> np.ndarray:
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    return audio.astype(np.float32, copy=False)


class IncrementalTranscriber:
    """One WhisperModel, loaded once and kept for the whole session.

    Calls are serialized: CTranslate2 already uses every core for one call, and two at a
    time would only slow both. Safe to call from a worker thread.

    Example:
        >>> import numpy as np
        >>> asr = IncrementalTranscriber(AsrOptions(model="tiny.en"))
        >>> asr.transcribe(np.zeros(16_000, dtype=np.int16), t0=0.0) is None  # silence
        True
    """

    def __init__(self, options: AsrOptions | None = None) -> None:
        from .whisper_window import FittedWhisper

        self.options = options or AsrOptions()
        self.model_info: ResolvedModel = resolve_model(self.options.model)
        self.device, self.compute_type, self.cpu_threads = detect_hardware(self.options)
        self._model = FittedWhisper(
            self.model_info.location,
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=self.cpu_threads,
            fit=self.options.fit_window,
        )
        self.language: str | None = self.options.language
        # Ask the model itself: a folder's name says nothing about what it was trained on.
        if self.model_info.english_only or not self._model.model.is_multilingual:
            if self.language not in (None, "en"):
                raise ValueError(f"{self.model_info.name} is English-only: use another model")
            self.language = "en"
        self._lock = threading.Lock()
        # Finals decoded again in a full 30 s window (see ``_call``): benchmarks report it.
        self.full_window_retries = 0

    @property
    def whisper(self) -> Any:
        """The loaded ``faster_whisper.WhisperModel`` (benchmarks compare it with batch)."""
        return self._model

    def decode_options(self) -> dict[str, Any]:
        """The keyword arguments every ``WhisperModel.transcribe`` call gets (but language).

        Example:
            >>> asr = IncrementalTranscriber(AsrOptions(model="tiny.en"))
            >>> asr.decode_options()["condition_on_previous_text"]
            False
        """
        o = self.options
        return {
            "beam_size": o.beam_size,
            "temperature": list(o.temperature),
            "word_timestamps": o.word_timestamps,
            "vad_filter": o.vad_filter,
            "compression_ratio_threshold": o.compression_ratio_threshold,
            "log_prob_threshold": o.log_prob_threshold,
            "no_speech_threshold": o.no_speech_threshold,
            "condition_on_previous_text": o.condition_on_previous_text,
        }

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        t0: float,
        vocabulary: Sequence[str] = (),
        partial: bool = False,
    ) -> Hypothesis | None:
        """Text for one utterance starting at ``t0``; None for silence or a dropped guess.

        ``vocabulary``: names and jargon to expect (see :func:`vocabulary_hint`).
        ``partial``: the audio stops mid-speech, and the text is provisional: a loop is
        not decoded again (the final will be).
        """
        hint = vocabulary_hint(vocabulary)
        if partial:
            result = self._decode([(t0, audio)], safe=False, hint=hint)[0]
        else:
            result = self._call([(t0, audio)], hint)[0]
        return result if result is not None and result.dropped is None else None

    def transcribe_many(
        self,
        utterances: Sequence[tuple[float, np.ndarray]],
        *,
        vocabulary: Sequence[str] = (),
    ) -> list[Hypothesis | None]:
        """Transcribe several utterances in as few calls as fit in one 30-second window.

        Returns one entry per utterance: a hypothesis (``dropped`` set if the guard
        rejected it) or None when nothing was heard.
        """
        hint = vocabulary_hint(vocabulary)
        results: list[Hypothesis | None] = []
        batch: list[tuple[float, np.ndarray]] = []
        length = 0.0
        for t0, audio in utterances:
            seconds = len(audio) / SAMPLE_RATE
            if batch and length + PACK_GAP_S + seconds > MAX_PACKED_S:
                results += self._call(batch, hint)
                batch, length = [], 0.0
            batch.append((t0, audio))
            length += seconds + (PACK_GAP_S if len(batch) > 1 else 0.0)
        if batch:
            results += self._call(batch, hint)
        return results

    def _call(
        self,
        batch: list[tuple[float, np.ndarray]],
        hint: str | None,
    ) -> list[Hypothesis | None]:
        """One faster-whisper call, with second tries where it went wrong.

        Packed utterances that come back empty or with a long stretch of audio left
        without words (Whisper sometimes skips part of a packed window) are decoded again
        on their own; loops (see ``_LOOP_REASONS``) get a safer decode; and what still
        loops or leaves seconds unheard in the fitted window is decoded in a full one.
        """
        results = self._decode(batch, safe=False, hint=hint)
        for k, hyp in enumerate(results):
            one = [batch[k]]
            if len(batch) > 1 and _skipped(hyp, batch[k]):
                hyp = self._decode(one, safe=False, hint=hint)[0]
            if hyp is not None and hyp.dropped in _LOOP_REASONS:
                retry = self._decode(one, safe=True, hint=hint)[0]
                if retry is not None and retry.dropped is None:
                    hyp = retry
            if self.options.fit_window and _window_failed(hyp, batch[k]):
                # Over a noise floor the fitted window can start late ("20th 20th" for a
                # whole sentence) or loop where stock faster-whisper's 30 s window reads
                # the sentence whole. Rare (7 of 1,049 finals in a 2-hour soak).
                self.full_window_retries += 1
                retry = self._decode(one, safe=False, hint=hint, fit=False)[0]
                if _better(retry, hyp):
                    hyp = retry
            results[k] = hyp
        return results

    def _decode(
        self,
        batch: list[tuple[float, np.ndarray]],
        *,
        safe: bool,
        hint: str | None,
        fit: bool = True,
    ) -> list[Hypothesis | None]:
        # ``safe``: no word timestamps and no temperature fallback. With word timestamps,
        # faster-whisper moves to the last aligned word when a window does not end on a
        # timestamp; after a sampled (T>0) decode the alignment of a garbled phrase ends
        # early, the same audio is decoded again, and the text repeats.
        word_timestamps = not safe and (self.options.word_timestamps or len(batch) > 1)
        temperature = [0.0] if safe else list(self.options.temperature)
        gap = np.zeros(int(PACK_GAP_S * SAMPLE_RATE), dtype=np.float32)
        pieces: list[np.ndarray] = []
        starts: list[float] = []  # where each utterance begins in the packed audio
        position = 0.0
        for i, (_, audio) in enumerate(batch):
            if i:
                pieces.append(gap)
                position += PACK_GAP_S
            starts.append(position)
            pieces.append(at_level(_to_float(audio), self.options.input_level_db))
            position += len(audio) / SAMPLE_RATE
        packed = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        settings = self.decode_options()
        settings.update(
            temperature=temperature,
            word_timestamps=word_timestamps,
            max_new_tokens=max_tokens(len(packed) / SAMPLE_RATE),
        )
        if hint:
            settings["initial_prompt"] = hint
        with self._lock:
            self._model.fit = fit and self.options.fit_window
            segments, info = self._model.transcribe(packed, language=self.language, **settings)
            segments = list(segments)  # decoding happens while iterating
        lang = info.language
        # Give every word (or, without words, every segment) to the utterance it falls in.
        spans: list[list[tuple[str, float, float, float]]] = [[] for _ in batch]
        texts: list[list[str]] = [[] for _ in batch]
        stats: list[list[Any]] = [[] for _ in batch]
        for seg in segments:
            if seg.words:
                for w in seg.words:
                    k = owner(starts, (w.start + w.end) / 2)
                    spans[k].append((w.word, w.start, w.end, w.probability))
                    stats[k].append(seg)
            else:
                k = owner(starts, (seg.start + seg.end) / 2)
                texts[k].append(seg.text)
                stats[k].append(seg)
        out: list[Hypothesis | None] = []
        for k, (t0, audio) in enumerate(batch):
            shift = t0 - starts[k]
            end = t0 + len(audio) / SAMPLE_RATE
            spans[k] = without_invented_tail(spans[k], starts[k] + len(audio) / SAMPLE_RATE)
            words = [
                (w.strip(), clamp(a + shift, t0, end), clamp(b + shift, t0, end), p)
                for w, a, b, p in spans[k]
                if w.strip()
            ]
            raw = "".join(w for w, *_ in spans[k]) if spans[k] else "".join(texts[k])
            text = " ".join(raw.split())
            if not text:
                out.append(None)
                continue
            unique_segments = list({id(s): s for s in stats[k]}.values())
            verdict: Verdict = judge(text, unique_segments, self.options.guard)
            out.append(
                Hypothesis(
                    t0=t0,
                    t1=end,
                    text=text,
                    words=words if self.options.word_timestamps and not safe else [],
                    conf=confidence(words, unique_segments),
                    lang=lang,
                    dropped=verdict.reason,
                )
            )
        # Detected once, then fixed for the session; but only from real speech: a hum or
        # a tone gets a confident language too, and would pin the wrong one.
        heard = any(h is not None and h.dropped is None for h in out)
        if self.language is None and info.language_probability >= 0.5 and heard:
            self.language = lang
        return out


def _window_failed(hyp: Hypothesis | None, utterance: tuple[float, np.ndarray]) -> bool:
    """Whether a decode looped, or left seconds of the utterance without words."""
    if hyp is None:
        return False  # nothing heard: noise, most likely; a second look would invent
    if hyp.dropped is not None:
        return hyp.dropped in _LOOP_REASONS
    return bool(hyp.words) and _skipped(hyp, utterance)


def _better(retry: Hypothesis | None, hyp: Hypothesis | None) -> bool:
    """Whether ``retry`` is kept over ``hyp``: it is heard, and hears more."""
    if retry is None or retry.dropped is not None:
        return False
    if hyp is None or hyp.dropped is not None:
        return True
    return _heard_s(retry) > _heard_s(hyp)


def _heard_s(hyp: Hypothesis) -> float:
    """Seconds of the utterance its words cover."""
    return sum(b - a for _, a, b, _ in hyp.words)


def _skipped(hyp: Hypothesis | None, utterance: tuple[float, np.ndarray]) -> bool:
    """Whether a packed decode left this utterance, or a long part of it, without words."""
    t0, audio = utterance
    t1 = t0 + len(audio) / SAMPLE_RATE
    if hyp is None:
        return True
    if not hyp.words:
        return False
    return hyp.words[0][1] - t0 > UNHEARD_S or t1 - hyp.words[-1][2] > UNHEARD_S

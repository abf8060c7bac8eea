"""How one faster-whisper call's output becomes hypotheses: pure helpers of ``asr``.

Words are given to the utterance they fall in, a tail invented in the padding is cut,
and the call is bounded (tokens) and hinted (vocabulary).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

# Audio this long at either end of a packed utterance with no word in it was skipped.
UNHEARD_S = 1.5
# Silence put between packed utterances, so words do not run into each other.
PACK_GAP_S = 0.3
# A word this unlikely, starting in the last TAIL_S of the audio and ending the
# hypothesis, was made up in the silence after it.
TAIL_PROBABILITY = 0.2
TAIL_S = 0.5
# AsrOptions.input_level_db never amplifies more than this (a near-silent utterance).
MAX_INPUT_GAIN_DB = 40.0


def max_tokens(seconds: float) -> int:
    """The most tokens a decode of ``seconds`` of audio may produce.

    Fast speech is about 4 words (6 tokens) a second, and timestamps add a few; a decode
    that runs past this is a loop, which would otherwise spin to Whisper's 448 tokens
    (seconds of CPU) before the guard throws it away. At most 200, so that with the
    longest prompt faster-whisper keeps (224 tokens, a long vocabulary) the total stays
    within the model's 448.

    Example:
        >>> max_tokens(1.0), max_tokens(10.0), max_tokens(28.0)
        (28, 136, 200)
    """
    return min(200, math.ceil(12 * seconds) + 16)


def vocabulary_hint(terms: Sequence[str]) -> str | None:
    """Whisper's initial prompt for ``terms``; None for none, so none changes nothing.

    A glossary sentence measured better than the bare list, passed as ``hotwords`` or as
    the prompt (5 of 12 rare terms right against 4, and no garbled sentence; 0 without).

    Example:
        >>> vocabulary_hint(["Aoife", "Kubeflow"]), vocabulary_hint([])
        ('Glossary: Aoife, Kubeflow.', None)
    """
    return f"Glossary: {', '.join(terms)}." if terms else None


def at_level(audio: np.ndarray, level_db: float | None) -> np.ndarray:
    """``audio`` scaled to ``level_db`` RMS; as it is for None (or no signal)."""
    if level_db is None or audio.size == 0:
        return audio
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if rms <= 0:
        return audio
    gain_db = min(MAX_INPUT_GAIN_DB, level_db - 20 * math.log10(rms))
    return audio * np.float32(10 ** (gain_db / 20))


def without_invented_tail(
    spans: list[tuple[str, float, float, float]], end: float
) -> list[tuple[str, float, float, float]]:
    """The words, less a tail Whisper made up in the silence after the audio.

    Past the end of an utterance's audio there is only padding; just before it, the VAD's
    pad. A word that starts past the end, or an unlikely one in the last ``TAIL_S``, at
    the very end of the hypothesis, was not said ("I'm not a man." after a sentence).
    """
    n = len(spans)
    while n:
        _, a, _, p = spans[n - 1]
        if not (a >= end - 0.05 or (p < TAIL_PROBABILITY and a >= end - TAIL_S)):
            break
        n -= 1
    return spans[:n]


def owner(starts: list[float], t: float) -> int:
    """The utterance a word at ``t`` belongs to. Boundaries sit mid-gap: Whisper often
    starts a word a little early, inside the silence before it."""
    k = 0
    for i, s in enumerate(starts):
        if t >= s - PACK_GAP_S / 2:
            k = i
    return k


def clamp(t: float, lo: float, hi: float) -> float:
    return min(max(t, lo), hi)


def confidence(words: list[tuple[str, float, float, float]], segments: list[Any]) -> float | None:
    """Mean word probability, else the segments' mean token probability."""
    if words:
        return round(sum(p for *_, p in words) / len(words), 3)
    if segments:
        return round(sum(math.exp(s.avg_logprob) for s in segments) / len(segments), 3)
    return None

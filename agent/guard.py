"""Drop what Whisper invents: text from silence or noise, and repetition loops.

A dropped hypothesis is never written to the transcript. Rules, in order:

1. ``silence``: the model itself says there was probably no speech (``no_speech_prob``)
   and it was not confident in what it wrote.
2. ``stock phrase``: the whole text is one of the phrases Whisper is known to produce from
   silence or music ("Thanks for watching!", "Subtítulos realizados por la comunidad de
   Amara.org").
3. ``compression``: the text compresses too well (gzip ratio), the signature of a loop.
4. ``repeated n-gram``: the same word or phrase several times in a row.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

STOCK_PHRASES = frozenset(
    {
        "thanks for watching",
        "thank you for watching",
        "thank you so much for watching",
        "please subscribe",
        "subscribe to my channel",
        "subtitles by the amaraorg community",
        "gracias por ver el video",
        "gracias por ver",
        "suscríbete",
        "subtítulos realizados por la comunidad de amaraorg",
        "subtítulos por la comunidad de amaraorg",
    }
)


@dataclass(frozen=True)
class GuardOptions:
    """Thresholds for dropping a hypothesis.

    Attributes:
        no_speech_prob: above this (averaged over segments) with a low ``avg_logprob``,
            the text is taken to come from silence.
        silence_logprob: ... and "low" means below this.
        compression_ratio: gzip ratio above which text is a loop (Whisper uses 2.4).
        max_repeats: the most times one n-gram may follow itself.
        max_ngram: longest n-gram checked.
    """

    no_speech_prob: float = 0.6
    silence_logprob: float = -0.8
    compression_ratio: float = 2.4
    max_repeats: int = 3
    max_ngram: int = 4


@dataclass(frozen=True)
class Verdict:
    reason: str | None  # None: keep the text

    @property
    def keep(self) -> bool:
        return self.reason is None


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text.lower())
    return " ".join(re.sub(r"[^\w\s]", "", text).split())


def compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def longest_repeat(words: Sequence[str], max_ngram: int) -> int:
    """How many times in a row the most repeated n-gram (n <= max_ngram) occurs.

    Example:
        >>> longest_repeat("we will we will rock you".split(), 4)
        2
    """
    best = 1
    for n in range(1, max_ngram + 1):
        for start in range(n):
            run, previous = 1, None
            for i in range(start, len(words) - n + 1, n):
                gram = tuple(words[i : i + n])
                run = run + 1 if gram == previous else 1
                previous = gram
                best = max(best, run)
    return best


def judge(text: str, segments: Sequence[Any], options: GuardOptions | None = None) -> Verdict:
    """Keep or drop ``text``; ``segments`` are faster-whisper segments (for their scores).

    Example:
        >>> judge("no no no no no no", []).reason
        'repeated n-gram'
        >>> judge("¿Dónde está la biblioteca?", []).keep
        True
    """
    options = options or GuardOptions()
    if segments:
        no_speech = sum(s.no_speech_prob for s in segments) / len(segments)
        logprob = sum(s.avg_logprob for s in segments) / len(segments)
        if no_speech > options.no_speech_prob and logprob < options.silence_logprob:
            return Verdict("silence")
    normalized = _normalize(text)
    if not normalized:
        return Verdict("silence")
    if normalized in STOCK_PHRASES:
        return Verdict("stock phrase")
    if len(text) > 40 and compression_ratio(text) > options.compression_ratio:
        return Verdict("compression")
    if longest_repeat(normalized.split(), options.max_ngram) > options.max_repeats:
        return Verdict("repeated n-gram")
    return Verdict(None)

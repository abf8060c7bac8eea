"""What the live session remembers of recent speech, so that it can join and promote.

``Recent`` holds the stream's last seconds of real audio; ``Heard`` is a partial kept for
its utterance's final; ``Run`` is the last final segment, which the next utterance may join.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .asr import Hypothesis
from .vad import SAMPLE_RATE

# A partial whose mean word probability is below this is not promoted to the final.
PROMOTE_CONF = 0.5


@dataclass(frozen=True)
class Heard:
    """A partial hypothesis kept for its utterance's final (no second call if it heard all).

    ``joined``: it was decoded together with the last final, for a final that joins it.
    """

    hypothesis: Hypothesis
    until: float  # where its audio ended, on the segmenter's clock
    joined: bool


class Recent:
    """The stream's last ``seconds``, by absolute sample: a join decodes its real audio."""

    def __init__(self, seconds: float) -> None:
        self._limit = round(seconds * SAMPLE_RATE)
        self._chunks: deque[np.ndarray] = deque()
        self._start = self._end = 0

    def append(self, x: np.ndarray) -> None:
        self._chunks.append(x)
        self._end += x.size
        while self._chunks and self._end - self._start - self._chunks[0].size >= self._limit:
            self._start += self._chunks.popleft().size

    def slice(self, a: int, b: int) -> np.ndarray | None:
        """Samples [a, b), or None if they are no longer (or not yet) held."""
        if a < self._start or b > self._end or a >= b:
            return None
        return np.concatenate(self._chunks)[a - self._start : b - self._start]


def sure(heard: Heard) -> bool:
    """Whether a partial is good enough to be the final without a second look.

    A garbled decode (measured: "Carpané particip en dos carr en individales", from a
    partial at a pause) has unlikely words; the final's own decode usually reads it right.
    """
    conf = heard.hypothesis.conf
    return conf is None or conf >= PROMOTE_CONF


@dataclass
class Run:
    """The last final segment and the speech it holds, which the next utterance may join.

    Times are on the segmenter's clock (before ``t_offset``).
    """

    segment_id: str
    rev: int
    t0: float
    t1: float
    audio: np.ndarray

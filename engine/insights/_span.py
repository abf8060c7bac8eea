"""Where in the recording a piece of a segment's text was said, in seconds.

With the ASR's word times, the words the characters cover give it; otherwise (a person's
edit, a segment with no words) the segment's time is shared out by characters.

Example:
    >>> seg = {"text": "Vale. Yo lo envío mañana.", "t0": 10.0, "t1": 15.0,
    ...        "words": [("Vale.", 10.0, 10.6, 0.9), ("Yo", 11.0, 11.2, 0.9),
    ...                  ("lo", 11.2, 11.3, 0.9), ("envío", 11.3, 11.9, 0.9),
    ...                  ("mañana.", 11.9, 12.6, 0.9)]}
    >>> span_seconds(seg, 6, 25)
    (11.0, 12.6)
    >>> span_seconds({"text": "abcd", "t0": 2.0, "t1": 4.0}, 2, 4)
    (3.0, 4.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def span_seconds(segment: Mapping[str, Any], start: int, end: int) -> tuple[float, float] | None:
    """The seconds of the recording in which ``text[start:end]`` was said; None when the
    segment has no usable times."""
    t0, t1 = _seconds(segment.get("t0")), _seconds(segment.get("t1"))
    if t0 is None or t1 is None or t1 < t0:
        return None
    text = str(segment.get("text") or "")
    if segment.get("source") != "human":
        found = _by_words(text, segment.get("words") or (), start, end)
        if found is not None:
            return found
    n = max(len(text), 1)
    lo = t0 + (t1 - t0) * min(max(start, 0), n) / n
    hi = t0 + (t1 - t0) * min(max(end, start), n) / n
    return round(lo, 2), round(hi, 2)


def _by_words(
    text: str, words: Sequence[Sequence[Any]], start: int, end: int
) -> tuple[float, float] | None:
    covered: list[tuple[float, float]] = []
    at = 0
    for word in words:
        token = str(word[0]).strip()
        where = text.find(token, at) if token else -1
        if where < 0:
            return None  # the words do not spell the text (edited): share out by characters
        at = where + len(token)
        if where < end and at > start:
            covered.append((float(word[1]), float(word[2])))
    if not covered:
        return None
    return round(covered[0][0], 2), round(covered[-1][1], 2)


def _seconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None

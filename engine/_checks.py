"""Checks of what this process writes into a transcript: a bad value is an error here,
before it reaches the document (what other clients write is read by :mod:`engine._read`)."""

from __future__ import annotations

from typing import Any

from ._errors import InvalidTranscriptError
from ._read import is_finite_number


def check_segment_id(segment_id: str) -> None:
    if not isinstance(segment_id, str) or not segment_id:
        raise InvalidTranscriptError("segment_id must be a non-empty string")


def check_rev(rev: int) -> None:
    if isinstance(rev, bool) or not isinstance(rev, int) or rev < 1:
        raise InvalidTranscriptError(f"rev must be an integer >= 1, got {rev!r}")


def check_times(t0: float, t1: float, *, what: str) -> None:
    for name, value in (("t0", t0), ("t1", t1)):
        if not is_finite_number(value):
            raise InvalidTranscriptError(f"{what}: {name} must be a finite number, got {value!r}")
        if value < 0:
            raise InvalidTranscriptError(f"{what}: {name} is negative ({value})")
    if t1 < t0:
        raise InvalidTranscriptError(f"{what}: t1 ({t1}) is before t0 ({t0})")


def check_conf(conf: float | None) -> None:
    if conf is None:
        return
    if not is_finite_number(conf) or not 0.0 <= conf <= 1.0:
        raise InvalidTranscriptError(f"conf must be a number in [0, 1], got {conf!r}")


def check_span(span: object) -> None:
    if span is None:
        return
    if not isinstance(span, dict) or set(span) != {"from", "to"}:
        raise InvalidTranscriptError(f"source_span must be {{from, to}}, got {span!r}")
    lo, hi = span["from"], span["to"]
    if not (is_finite_number(lo) and is_finite_number(hi)) or not 0 <= lo <= hi:
        raise InvalidTranscriptError(
            f"source_span must hold seconds of the recording, 0 <= from <= to, got {span!r}"
        )


def check_words(words: object, segment_id: str) -> list[list[Any]]:
    if not isinstance(words, list | tuple):
        raise InvalidTranscriptError(f"segment {segment_id!r}: words must be a list")
    clean: list[list[Any]] = []
    for i, w in enumerate(words):
        if not isinstance(w, list | tuple) or len(w) != 4 or not isinstance(w[0], str):
            raise InvalidTranscriptError(
                f"segment {segment_id!r}: word {i} must be [word, t0, t1, prob], got {w!r}"
            )
        check_times(w[1], w[2], what=f"segment {segment_id!r} word {i}")
        if not is_finite_number(w[3]):
            raise InvalidTranscriptError(f"segment {segment_id!r}: word {i} prob must be a number")
        clean.append([w[0], round(float(w[1]), 3), round(float(w[2]), 3), round(float(w[3]), 3)])
    return clean

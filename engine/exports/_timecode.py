"""Timestamps as subtitle and transcript formats write them."""

from __future__ import annotations


def _parts(seconds: float) -> tuple[int, int, int, int]:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return hours, minutes, secs, ms


def srt_time(seconds: float) -> str:
    """``00:01:02,345``.

    Example:
        >>> srt_time(62.3454)
        '00:01:02,345'
    """
    h, m, s, ms = _parts(seconds)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def vtt_time(seconds: float) -> str:
    """``00:01:02.345``.

    Example:
        >>> vtt_time(3600.5)
        '01:00:00.500'
    """
    h, m, s, ms = _parts(seconds)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def clock(seconds: float) -> str:
    """``01:02:03``, for reading (Markdown).

    Example:
        >>> clock(3723.9)
        '01:02:03'
    """
    h, m, s, _ = _parts(seconds)
    return f"{h:02d}:{m:02d}:{s:02d}"

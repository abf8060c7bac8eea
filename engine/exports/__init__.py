"""Exports: pure functions from a snapshot to text.

Example:
    >>> from engine import TranscriptDoc
    >>> t = TranscriptDoc.create("t")
    >>> export(t.snapshot(), "vtt")
    'WEBVTT\\n'
"""

from __future__ import annotations

from typing import Literal, get_args

from .._json import dumps as to_json_text
from .._schema import Snapshot
from ._cues import Cue as Cue
from ._cues import CueOptions as CueOptions
from ._cues import build_cues as build_cues
from ._markdown import to_markdown as to_markdown
from ._subtitles import to_srt as to_srt
from ._subtitles import to_vtt as to_vtt
from ._timecode import srt_time as srt_time
from ._timecode import vtt_time as vtt_time

Format = Literal["md", "srt", "vtt", "json"]
FORMATS: tuple[Format, ...] = get_args(Format)
EXTENSIONS: dict[Format, str] = {"md": ".md", "srt": ".srt", "vtt": ".vtt", "json": ".json"}
MEDIA_TYPES: dict[Format, str] = {
    "md": "text/markdown; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}


def export(snapshot: Snapshot, fmt: Format) -> str:
    """Render a snapshot in one of :data:`FORMATS`."""
    if fmt == "md":
        return to_markdown(snapshot)
    if fmt == "srt":
        return to_srt(snapshot)
    if fmt == "vtt":
        return to_vtt(snapshot)
    if fmt == "json":
        return to_json_text(snapshot)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")

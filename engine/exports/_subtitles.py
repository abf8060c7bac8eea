"""SRT and WebVTT exports."""

from __future__ import annotations

from .._schema import Snapshot
from ._cues import CueOptions, build_cues
from ._timecode import srt_time, vtt_time


def to_srt(snapshot: Snapshot, options: CueOptions | None = None) -> str:
    """SubRip: numbered cues, ``00:01:02,345`` times, ``Name:`` at each change of speaker.

    Example:
        >>> from engine import TranscriptDoc
        >>> t = TranscriptDoc.create("t")
        >>> _ = t.upsert_segment("a", rev=1, text="¡Hola!", t0=1.0, t1=2.0, speaker="Ana")
        >>> print(to_srt(t.snapshot()), end="")
        1
        00:00:01,000 --> 00:00:02,000
        Ana: ¡Hola!
    """
    blocks = []
    cues = build_cues(snapshot["segments"], options, speaker_prefix=True)
    for n, cue in enumerate(cues, start=1):
        body = "\n".join(cue.lines)
        blocks.append(f"{n}\n{srt_time(cue.t0)} --> {srt_time(cue.t1)}\n{body}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(snapshot: Snapshot, options: CueOptions | None = None) -> str:
    """WebVTT: ``00:01:02.345`` times, the speaker as a ``<v Name>`` voice span.

    Example:
        >>> from engine import TranscriptDoc
        >>> t = TranscriptDoc.create("t")
        >>> _ = t.upsert_segment("a", rev=1, text="Hi", t0=0.0, t1=0.5, speaker="Bo")
        >>> print(to_vtt(t.snapshot()), end="")
        WEBVTT
        <BLANKLINE>
        00:00:00.000 --> 00:00:00.500
        <v Bo>Hi
    """
    blocks = ["WEBVTT\n"]
    for cue in build_cues(snapshot["segments"], options, speaker_prefix=False):
        lines = [_vtt_escape(line) for line in cue.lines]
        if cue.speaker:
            lines[0] = f"<v {_vtt_escape(cue.speaker)}>{lines[0]}"
        blocks.append(f"{vtt_time(cue.t0)} --> {vtt_time(cue.t1)}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)

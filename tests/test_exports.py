"""Exports: golden files, and SRT/WebVTT read back by independent parsers.

Regenerate the golden files after an intended change of output with::

    MINUTA_UPDATE_GOLDEN=1 pytest tests/test_exports.py

and read the diff before committing it.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import srt
import webvtt
from _fixtures import FIXTURES, english_transcript, spanish_transcript, timed_words

from engine import EXTENSIONS, FORMATS, Format, Segment, Snapshot, TranscriptDoc, export
from engine.exports import CueOptions, srt_time, to_srt, to_vtt, vtt_time

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("MINUTA_UPDATE_GOLDEN") == "1"

MAX_CHARS = CueOptions().max_chars
MAX_LINES = CueOptions().max_lines

# The segments whose cues must be timed by their word timestamps; every other segment of
# the fixtures is timed in proportion to its characters (no words, or a human edit).
WORD_TIMED = {
    ("english", "seg-0001"),
    ("english", "seg-0003"),
    ("spanish", "seg-0001"),
}

SRT_TIMING = re.compile(r"^\d{2,}:\d{2}:\d{2},\d{3} --> \d{2,}:\d{2}:\d{2},\d{3}$")
VTT_TIMING = re.compile(r"^\d{2,}:\d{2}:\d{2}\.\d{3} --> \d{2,}:\d{2}:\d{2}\.\d{3}$")


def snapshot_of(name: str) -> Snapshot:
    return FIXTURES[name]().snapshot()


def one_segment(
    text: str,
    t0: float,
    t1: float,
    *,
    words: list[tuple[str, float, float, float]] | None = None,
    speaker: str | None = None,
) -> TranscriptDoc:
    t = TranscriptDoc.create("one", started_at="2026-01-01T00:00:00+00:00")
    t.upsert_segment("s", rev=1, text=text, t0=t0, t1=t1, speaker=speaker, final=True, words=words)
    return t


# ----------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_golden(name: str, fmt: Format) -> None:
    data = export(snapshot_of(name), fmt).encode("utf-8")
    path = GOLDEN / f"{name}{EXTENSIONS[fmt]}"
    if UPDATE_GOLDEN:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        return
    assert path.exists(), f"{path} is missing; run with MINUTA_UPDATE_GOLDEN=1 to create it"
    golden = path.read_bytes()
    # Compare as text first for a readable diff, then byte for byte.
    assert data.decode("utf-8") == golden.decode("utf-8")
    assert data == golden


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_are_deterministic(fmt: Format) -> None:
    assert export(english_transcript().snapshot(), fmt) == export(
        english_transcript().snapshot(), fmt
    )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_unicode_is_kept_as_written(name: str, fmt: Format) -> None:
    out = export(snapshot_of(name), fmt)
    for text in ("¿Empezamos", "¡", "ñ", "Núñez" if name == "english" else "Muñoz", "é"):
        assert text in out
    assert "\\u00" not in out  # no escapes, in JSON either
    assert "\r" not in out


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        export(english_transcript().snapshot(), "pdf")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- subtitles


@dataclass(frozen=True)
class ParsedCue:
    """A cue as a player shows it: times in milliseconds, lines without markup."""

    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    voice: str | None  # WebVTT voice span; None in SRT


def parse_srt(text: str) -> list[ParsedCue]:
    one_ms = timedelta(milliseconds=1)
    return [
        ParsedCue(sub.start // one_ms, sub.end // one_ms, tuple(sub.content.split("\n")), None)
        for sub in srt.parse(text)
    ]


def parse_vtt(text: str) -> list[ParsedCue]:
    cues = []
    for caption in webvtt.from_string(text, strict=True).captions:
        # ``text`` drops the cue tags (the voice span); entities are left to the reader.
        assert caption.text == re.sub(r"<[^>]*>", "", caption.raw_text)
        lines = tuple(html.unescape(line) for line in caption.text.split("\n"))
        cues.append(
            ParsedCue(
                caption.start_time.in_milliseconds(),
                caption.end_time.in_milliseconds(),
                lines,
                caption.voice,
            )
        )
    return cues


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def starts_turn(segments: list[Segment], i: int) -> bool:
    """Whether segment ``i`` starts a new speaker's turn (SRT writes ``Name:`` or ``-`` there)."""
    previous = segments[i - 1]["speaker"] if i else None
    return segments[i]["speaker"] != previous


def split_by_segment(
    cues: list[ParsedCue], segments: list[Segment], *, srt_prefix: bool
) -> list[list[tuple[ParsedCue, list[str]]]]:
    """The cues of each segment, each with the spoken words it shows.

    Checks on the way that the cues of a segment spell out its text exactly. With
    ``srt_prefix``, the first cue of a speaker's turn must lead with ``Name:``, which is
    not a spoken word.
    """
    groups: list[list[tuple[ParsedCue, list[str]]]] = []
    pending = list(cues)
    for i, seg in enumerate(segments):
        expected = seg["text"].split()
        group: list[tuple[ParsedCue, list[str]]] = []
        shown: list[str] = []
        while len(shown) < len(expected):
            assert pending, f"cues ran out inside segment {seg['segment_id']}"
            cue = pending.pop(0)
            text = " ".join(cue.lines)
            if srt_prefix and not group and starts_turn(segments, i):
                prefix = f"{seg['speaker']}: " if seg["speaker"] else "- "
                assert text.startswith(prefix), (text, prefix)
                text = text.removeprefix(prefix)
            words = text.split()
            group.append((cue, words))
            shown += words
        assert " ".join(shown) == seg["text"], seg["segment_id"]
        groups.append(group)
    assert not pending, "cues left over after the last segment"
    return groups


def expected_cue_times(
    seg: Segment, cue_words: list[list[str]], *, by_words: bool
) -> list[tuple[int, int]]:
    """Cue times in ms, from the words a cue shows.

    By words: from the first word's start to the last word's end. Otherwise in proportion
    to characters of the text: a cue starts at its first character and ends after its
    last one, and the last cue ends with the segment.
    """
    times: list[tuple[int, int]] = []
    first = 0
    if by_words:
        for words in cue_words:
            last = first + len(words) - 1
            times.append((ms(seg["words"][first][1]), ms(seg["words"][last][2])))
            first = last + 1
        return times
    text = seg["text"]
    total = len(text)
    duration = seg["t1"] - seg["t0"]
    pos = 0
    for n, words in enumerate(cue_words):
        chunk = " ".join(words)
        start = text.index(chunk, pos)
        end = start + len(chunk)
        t1 = seg["t1"] if n == len(cue_words) - 1 else seg["t0"] + duration * end / total
        times.append((ms(seg["t0"] + duration * start / total), ms(t1)))
        pos = end
    return times


Parser = Callable[[str], list[ParsedCue]]
SUBTITLES: dict[Format, tuple[Parser, bool]] = {"srt": (parse_srt, True), "vtt": (parse_vtt, False)}


@pytest.mark.parametrize("fmt", sorted(SUBTITLES))
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_subtitles_read_back(name: str, fmt: Format) -> None:
    snapshot = snapshot_of(name)
    segments = snapshot["segments"]
    parse, srt_prefix = SUBTITLES[fmt]
    cues = parse(export(snapshot, fmt))
    groups = split_by_segment(cues, segments, srt_prefix=srt_prefix)

    previous_end = 0
    for seg, group in zip(segments, groups, strict=True):
        by_words = (name, seg["segment_id"]) in WORD_TIMED
        expected = expected_cue_times(seg, [words for _, words in group], by_words=by_words)
        assert [(c.start_ms, c.end_ms) for c, _ in group] == expected, seg["segment_id"]
        for cue, _ in group:
            assert ms(seg["t0"]) <= cue.start_ms <= cue.end_ms <= ms(seg["t1"])
            assert cue.start_ms >= previous_end  # in order, never overlapping
            previous_end = cue.end_ms
            assert 1 <= len(cue.lines) <= MAX_LINES
            for line in cue.lines:
                assert len(line) <= MAX_CHARS or " " not in line, line
            if fmt == "vtt":
                assert cue.voice == seg["speaker"]


EXPECTED_CUE_COUNTS = {
    ("english", "srt"): 9,
    ("english", "vtt"): 7,
    ("spanish", "srt"): 6,
    ("spanish", "vtt"): 6,
}


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED_CUE_COUNTS))
def test_cue_count(name: str, fmt: Format) -> None:
    parse, _ = SUBTITLES[fmt]
    assert len(parse(export(snapshot_of(name), fmt))) == EXPECTED_CUE_COUNTS[name, fmt]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_long_segments_split_into_several_cues(name: str) -> None:
    snapshot = snapshot_of(name)
    long = [s for s in snapshot["segments"] if len(s["text"]) > MAX_CHARS * MAX_LINES]
    assert long, "the fixture needs a segment longer than one cue"
    for fmt, (parse, srt_prefix) in SUBTITLES.items():
        groups = split_by_segment(
            parse(export(snapshot, fmt)), snapshot["segments"], srt_prefix=srt_prefix
        )
        for seg, group in zip(snapshot["segments"], groups, strict=True):
            if seg in long:
                assert len(group) >= 2, (fmt, seg["segment_id"])


@pytest.mark.parametrize(("fmt", "pattern"), [("srt", SRT_TIMING), ("vtt", VTT_TIMING)])
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_timing_lines_are_well_formed(name: str, fmt: Format, pattern: re.Pattern[str]) -> None:
    lines = export(snapshot_of(name), fmt).split("\n")
    timings = [line for line in lines if "-->" in line]
    assert timings
    assert all(pattern.match(line) for line in timings), timings


def test_srt_layout() -> None:
    out = export(spanish_transcript().snapshot(), "srt")
    blocks = out.rstrip("\n").split("\n\n")
    assert [b.split("\n")[0] for b in blocks] == [str(n) for n in range(1, len(blocks) + 1)]
    assert blocks[0] == "1\n00:00:00,000 --> 00:00:02,280\nAna: ¡Buenos días a todos!"
    # Past the hour.
    assert blocks[-1].split("\n")[1] == "01:00:00,500 --> 01:00:06,250"
    # The second segment of José's turn carries no prefix.
    assert blocks[2].split("\n")[2].startswith("Sí: el señor Muñoz")


def test_vtt_layout() -> None:
    out = export(english_transcript().snapshot(), "vtt")
    assert out.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:03.093\n<v Ana Núñez>Good morning,")
    # Markup characters are escaped, and a segment with no speaker has no voice span.
    assert "\nSorry, was that the &lt;draft&gt; or the *final*\n" in out
    assert "5% over &amp; rising." in out
    assert (
        export(spanish_transcript().snapshot(), "vtt").count("01:00:00.500 --> 01:00:06.250") == 1
    )


def test_vtt_voice_span_markup_is_escaped() -> None:
    t = one_segment("hi", 0.0, 1.0, speaker="S1")
    t.rename_speaker("S1", "Ana <PM> & co")
    out = export(t.snapshot(), "vtt")
    assert "<v Ana &lt;PM&gt; &amp; co>hi" in out
    [cue] = parse_vtt(out)
    assert cue.lines == ("hi",)


def test_text_that_looks_like_a_timing_line_stays_text() -> None:
    t = one_segment("then 00:00:01,000 --> 00:00:02,000 again", 5.0, 8.0, speaker="S1")
    [srt_cue] = parse_srt(export(t.snapshot(), "srt"))
    [vtt_cue] = parse_vtt(export(t.snapshot(), "vtt"))
    assert " ".join(srt_cue.lines) == "S1: then 00:00:01,000 --> 00:00:02,000 again"
    assert " ".join(vtt_cue.lines) == "then 00:00:01,000 --> 00:00:02,000 again"


def test_empty_transcript() -> None:
    snapshot = TranscriptDoc.create("empty", started_at="2026-01-01T00:00:00+00:00").snapshot()
    assert export(snapshot, "srt") == ""
    assert export(snapshot, "vtt") == "WEBVTT\n"
    assert parse_srt(export(snapshot, "srt")) == []
    assert parse_vtt(export(snapshot, "vtt")) == []
    md = export(snapshot, "md")
    assert md.startswith("# Untitled meeting\n")
    assert "Duration" not in md


# ----------------------------------------------------------------------------- cue timing


def test_proportional_timing_by_characters() -> None:
    # 19 characters over 19 seconds: one second per character.
    t = one_segment("aaaa bbbb cccc dddd", 10.0, 29.0)
    out = to_srt(t.snapshot(), CueOptions(max_chars=9, max_lines=1))
    assert out == (
        "1\n00:00:10,000 --> 00:00:19,000\naaaa bbbb\n\n"
        "2\n00:00:20,000 --> 00:00:29,000\ncccc dddd\n"
    )


def test_word_timing() -> None:
    words = [("uno", 1.0, 1.25, 0.9), ("dos", 1.5, 1.75, 0.9), ("tres", 2.0, 2.5, 0.9)]
    words.append(("cuatro", 3.0, 3.5, 0.9))
    t = one_segment("uno dos tres cuatro", 1.0, 4.0, words=words)
    cues = parse_vtt(to_vtt(t.snapshot(), CueOptions(max_chars=8, max_lines=1)))
    assert [(c.start_ms, c.end_ms, c.lines) for c in cues] == [
        (1000, 1750, ("uno dos",)),
        (2000, 2500, ("tres",)),
        (3000, 3500, ("cuatro",)),
    ]


def test_whisper_style_words_with_leading_spaces_still_match() -> None:
    words = [(" uno", 1.0, 1.25, 0.9), (" dos", 1.5, 1.75, 0.9)]
    t = one_segment("uno dos", 1.0, 4.0, words=words)
    [cue] = parse_srt(to_srt(t.snapshot()))
    assert (cue.start_ms, cue.end_ms) == (1000, 1750)


def test_word_times_are_clamped_to_the_segment() -> None:
    words = [("early", 0.5, 1.5, 0.9), ("late", 2.0, 9.0, 0.9)]
    t = one_segment("early late", 1.0, 3.0, words=words)
    [cue] = parse_srt(to_srt(t.snapshot()))
    assert (cue.start_ms, cue.end_ms) == (1000, 3000)


def test_words_that_do_not_match_the_text_are_ignored() -> None:
    # The ASR's words say two words, the text has three: time by characters instead.
    t = one_segment(
        "uno dos tres", 0.0, 12.0, words=[("uno", 0.0, 1.0, 0.9), ("dos", 1.0, 2.0, 0.9)]
    )
    out = to_srt(t.snapshot(), CueOptions(max_chars=7, max_lines=1))
    assert [(c.start_ms, c.end_ms) for c in parse_srt(out)] == [(0, 7000), (8000, 12000)]


def test_human_edit_switches_to_proportional_timing() -> None:
    words = [("uno", 1.0, 1.25, 0.9), ("dos", 1.5, 1.75, 0.9), ("tres", 2.0, 2.5, 0.9)]
    words.append(("cuatro", 3.0, 3.5, 0.9))
    t = one_segment("uno dos tres cuatro", 1.0, 4.0, words=words)
    t.set_text("s", "uno dos tres cinco", user="ana", at="2026-01-01T00:10:00+00:00")
    # 18 characters over 3 seconds; cues start at characters 0, 8, 13.
    cues = parse_srt(to_srt(t.snapshot(), CueOptions(max_chars=8, max_lines=1)))
    assert [(c.start_ms, c.end_ms, c.lines) for c in cues] == [
        (1000, 2167, ("uno dos",)),
        (2333, 3000, ("tres",)),
        (3167, 4000, ("cinco",)),
    ]


def test_fixture_words_match_their_text() -> None:
    """Guard for the fixture itself: the word-timed segments must stay word-timed."""
    for name, segment_id in WORD_TIMED:
        seg = next(s for s in snapshot_of(name)["segments"] if s["segment_id"] == segment_id)
        assert seg["source"] == "asr"
        assert [w[0] for w in seg["words"]] == seg["text"].split()
    assert timed_words("a b", 0.0, 1.0) == [("a", 0.0, 0.4, 0.9), ("b", 0.5, 0.9, 0.9)]


def test_a_word_longer_than_a_line_gets_a_line_of_its_own() -> None:
    long_word = "Donaudampfschifffahrtsgesellschaftskapitänswitwe"  # 48 characters
    t = one_segment(f"die {long_word} kommt", 0.0, 6.0, speaker="S1")
    for parse, srt_prefix in SUBTITLES.values():
        out = (to_srt if srt_prefix else to_vtt)(t.snapshot())
        lines = [line for cue in parse(out) for line in cue.lines]
        assert long_word in " ".join(lines)
        for line in lines:
            assert len(line) <= MAX_CHARS or " " not in line, line


# ----------------------------------------------------------------------------- timecodes


@pytest.mark.parametrize(
    ("seconds", "srt_text", "vtt_text"),
    [
        (0.0, "00:00:00,000", "00:00:00.000"),
        (62.345, "00:01:02,345", "00:01:02.345"),
        (3599.9994, "00:59:59,999", "00:59:59.999"),
        (3599.9996, "01:00:00,000", "01:00:00.000"),
        (3725.5, "01:02:05,500", "01:02:05.500"),
        (36_000.25, "10:00:00,250", "10:00:00.250"),
        (-0.2, "00:00:00,000", "00:00:00.000"),
    ],
)
def test_timecodes(seconds: float, srt_text: str, vtt_text: str) -> None:
    assert srt_time(seconds) == srt_text
    assert vtt_time(seconds) == vtt_text


def test_over_one_hour() -> None:
    t = one_segment("still here", 3723.5, 3725.25, speaker="S1")
    srt_out = export(t.snapshot(), "srt")
    vtt_out = export(t.snapshot(), "vtt")
    assert "01:02:03,500 --> 01:02:05,250" in srt_out
    assert "01:02:03.500 --> 01:02:05.250" in vtt_out
    assert [(c.start_ms, c.end_ms) for c in parse_srt(srt_out)] == [(3_723_500, 3_725_250)]
    assert [(c.start_ms, c.end_ms) for c in parse_vtt(vtt_out)] == [(3_723_500, 3_725_250)]
    assert "**S1** [01:02:03]" in export(t.snapshot(), "md")


# ----------------------------------------------------------------------------- Markdown


def test_markdown_english() -> None:
    md = export(english_transcript().snapshot(), "md")
    assert md.startswith(
        "# Weekly sync: Q2 roadmap\n\n- **Date:** 2026-03-02 15:00 UTC\n- **Language:** English\n"
    )
    assert "- **Duration:** 00:00:34\n" in md
    sections = ["## Transcript", "## Summary", "### Risks/Dependencies", "## Action items"]
    positions = [md.index(s) for s in sections]
    assert positions == sorted(positions)
    assert "**Ana Núñez** [00:00:00]\n\nGood morning, everyone. Let's get started.\n" in md
    assert "**Unknown speaker** [00:00:27]" in md
    assert "\\<draft\\> or the \\*final\\* deck" in md
    assert "**Topics:** roadmap, budget, contracts" in md
    assert "- [ ] Send the draft to José (owner: **Luis Peña**, due: 2026-05-12, [00:00:22])" in md
    assert "- [x] Chase legal about the DPA (owner: **Ana Núñez**, [00:00:08])" in md
    assert "- [ ] ~~Book a room for the offsite~~" in md
    # The person's text is shown, not the ASR's.
    assert "José by Friday, 12 May." in md
    assert "Jose by friday" not in md


def test_markdown_spanish_labels_and_turns() -> None:
    md = export(spanish_transcript().snapshot(), "md")
    for label in (
        "## Transcripción",
        "## Resumen",
        "### Riesgos/Dependencias",
        "## Acciones",
        "- **Fecha:**",
        "- **Idioma:** es",
        "- **Duración:** 01:00:06",
        "- **ID de transcripción:** reunion-2026-04-14",
        "**Temas:**",
        "responsable: **Ana**",
        "fecha límite: 2026-09-01",
    ):
        assert label in md
    for english in ("## Transcript\n", "Summary", "Action items", "owner:"):
        assert english not in md
    # Two consecutive segments of one speaker are one turn, one paragraph.
    assert md.count("**José Muñoz**") == 1
    assert "¿Empezamos con la revisión del año? Sí: el señor Muñoz" in md
    assert "**S3** [01:00:00]" in md  # never renamed: the raw label


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("es", "Transcripción"),
        ("es-MX", "Transcripción"),
        ("ES", "Transcripción"),
        ("en", "Transcript"),
        ("de", "Transcript"),
        (None, "Transcript"),
    ],
)
def test_markdown_language_picks_the_labels(language: str | None, heading: str) -> None:
    t = TranscriptDoc.create("t", language=language, started_at="2026-01-01T00:00:00+00:00")
    t.upsert_segment("s", rev=1, text="hola", t0=0.0, t1=1.0, final=True)
    assert f"\n## {heading}\n" in export(t.snapshot(), "md")


def test_markdown_escapes_leading_list_and_heading_markers() -> None:
    t = TranscriptDoc.create("t", title="# not a heading", started_at="2026-01-01T00:00:00+00:00")
    t.upsert_segment("s", rev=1, text="- not a list", t0=0.0, t1=1.0, speaker="S1", final=True)
    md = export(t.snapshot(), "md")
    assert md.startswith("# \\# not a heading\n")
    assert "\n\\- not a list\n" in md


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("2024. A good year.", "2024\\. A good year."),
        ("1) Budget.", "1\\) Budget."),
        ("+ one more", "\\+ one more"),
        ("- dash", "\\- dash"),
        ("# hash", "\\# hash"),
    ],
)
def test_markdown_escapes_leading_markers(text: str, escaped: str) -> None:
    # The backslash goes before the punctuation: before a digit it would show.
    md = export(one_segment(text, 0.0, 1.0, speaker="S1").snapshot(), "md")
    assert f"\n{escaped}\n" in md


def line_breaks_everywhere() -> TranscriptDoc:
    """A person typed line breaks into a title, a segment and a speaker name."""
    t = TranscriptDoc.create(
        "t", title="Weekly\n# injected", started_at="2026-01-01T00:00:00+00:00"
    )
    t.upsert_segment(
        "a",
        rev=1,
        text="first\n- a list?\n\n# a heading?",
        t0=0.0,
        t1=2.0,
        speaker="S1",
        final=True,
    )
    t.upsert_segment("b", rev=1, text="second", t0=3.0, t1=4.0, speaker="S2", final=True)
    t.rename_speaker("S2", "Luis\n\nPeña")
    return t


def test_markdown_keeps_line_breaks_from_making_markup() -> None:
    md = export(line_breaks_everywhere().snapshot(), "md")
    lines = md.split("\n")
    assert lines[0] == "# Weekly # injected"
    assert "first - a list? # a heading?" in lines
    assert "**Luis Peña** [00:00:03]" in lines
    assert [line for line in lines if line.startswith("#")] == [
        "# Weekly # injected",
        "## Transcript",
    ]


def test_subtitles_keep_line_breaks_in_speaker_names_from_ending_the_cue() -> None:
    snapshot = line_breaks_everywhere().snapshot()
    srt_cues = parse_srt(export(snapshot, "srt"))
    vtt_cues = parse_vtt(export(snapshot, "vtt"))
    assert srt_cues[-1].lines == ("Luis Peña: second",)
    assert (vtt_cues[-1].voice, vtt_cues[-1].lines) == ("Luis Peña", ("second",))
    assert len(vtt_cues) == 2
    assert " ".join(vtt_cues[0].lines) == "first - a list? # a heading?"


def test_a_long_name_on_one_line_cues_is_not_a_cue_of_its_own() -> None:
    t = one_segment("Presupuestos aprobados hoy", 0.0, 3.0, speaker="S1")
    t.rename_speaker("S1", "María José Fernández-Villanueva")
    snapshot = t.snapshot()
    cues = parse_srt(to_srt(snapshot, CueOptions(max_lines=1)))
    # The name and the first word share a line, over the limit, rather than the name being
    # shown alone while the first word's cue overlaps it.
    assert [c.lines for c in cues] == [
        ("María José Fernández-Villanueva: Presupuestos",),
        ("aprobados hoy",),
    ]
    [group] = split_by_segment(cues, snapshot["segments"], srt_prefix=True)
    assert [(c.start_ms, c.end_ms) for c, _ in group] == [(0, 1385), (1500, 3000)]

"""Markdown export: title, meta, speaker-grouped paragraphs, then summary and actions."""

from __future__ import annotations

import re
from datetime import datetime

from .._schema import Action, Segment, Snapshot
from ._timecode import clock

_LABELS = {
    "en": {
        "transcript": "Transcript",
        "untitled": "Untitled meeting",
        "date": "Date",
        "language": "Language",
        "model": "Model",
        "duration": "Duration",
        "id": "Transcript ID",
        "summary": "Summary",
        "risks": "Risks/Dependencies",
        "topics": "Topics",
        "actions": "Action items",
        "owner": "owner",
        "due": "due",
        "unknown": "Unknown speaker",
    },
    "es": {
        "transcript": "Transcripción",
        "untitled": "Reunión sin título",
        "date": "Fecha",
        "language": "Idioma",
        "model": "Modelo",
        "duration": "Duración",
        "id": "ID de transcripción",
        "summary": "Resumen",
        "risks": "Riesgos/Dependencias",
        "topics": "Temas",
        "actions": "Acciones",
        "owner": "responsable",
        "due": "fecha límite",
        "unknown": "Hablante desconocido",
    },
}

_LANGUAGE_NAMES = {
    "en": {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese"},
    "es": {"en": "inglés", "es": "español", "fr": "francés", "de": "alemán", "pt": "portugués"},
}

_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def escape(text: str) -> str:
    """Escape what Markdown would otherwise render as markup, and keep ``text`` on one line.

    Example:
        >>> escape("a*b_c [x]")
        'a\\\\*b\\\\_c \\\\[x\\\\]'
        >>> escape("- one\\n\\n# two")
        '\\\\- one # two'
        >>> escape("2024. A good year")
        '2024\\\\. A good year'
    """
    # One line: a line break would end the paragraph, or start a heading or a list.
    text = _SPECIAL.sub(r"\\\1", " ".join(text.split()))
    # A leading '#', '-', '+', 'N.' or 'N)' would start a heading or a list. A backslash
    # escapes only punctuation (before a digit it would show), so 'N.' becomes 'N\.'.
    text = re.sub(r"^(\s*)([#+-])", r"\1\\\2", text)
    return re.sub(r"^(\s*\d+)([.)])", r"\1\\\2", text)


def _labels(language: str | None) -> dict[str, str]:
    return _LABELS["es"] if (language or "").lower().startswith("es") else _LABELS["en"]


def _language(code: str, ui: str) -> str:
    """``es`` as a reader says it, in the document's own language."""
    names = _LANGUAGE_NAMES["es" if ui.startswith("es") else "en"]
    return names.get(code.lower().split("-")[0], code)


def _when(started_at: str) -> str:
    """An ISO 8601 time as ``2026-03-02 15:00 UTC``; anything else as it is."""
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError:
        return started_at
    offset = moment.strftime("%z")  # "" for a naive time, else "+0100"
    zone = "UTC" if offset == "+0000" else f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{moment:%Y-%m-%d %H:%M} {zone}".rstrip()


# Without speaker labels, a pause this long (seconds) starts a new paragraph, and so does
# a paragraph already this long: a meeting should not read as one block.
PARAGRAPH_PAUSE_S = 0.75
PARAGRAPH_MAX_S = 60.0


def _turns(segments: list[Segment]) -> list[tuple[str | None, float, list[str]]]:
    """Consecutive segments of one speaker, merged: (speaker, t0, texts).

    Segments with no speaker are also split at long pauses, so a transcript without
    diarization still reads in paragraphs.
    """
    turns: list[tuple[str | None, float, list[str]]] = []
    previous_end = 0.0
    for seg in segments:
        text = seg["text"].strip()
        if not text:
            continue
        pause = seg["t0"] - previous_end
        previous_end = seg["t1"]
        same = turns and turns[-1][0] == seg["speaker"]
        long = bool(turns) and seg["t0"] - turns[-1][1] >= PARAGRAPH_MAX_S
        if same and not (seg["speaker"] is None and (pause >= PARAGRAPH_PAUSE_S or long)):
            turns[-1][2].append(text)
        else:
            turns.append((seg["speaker"], seg["t0"], [text]))
    return turns


def _action_line(action: Action, labels: dict[str, str], starts: dict[str, float]) -> str:
    box = "x" if action["status"] == "done" else " "
    text = escape(action["text"])
    if action["status"] == "dismissed":
        text = f"~~{text}~~"
    details = []
    if action["owner"]:
        details.append(f"{labels['owner']}: **{escape(action['owner'])}**")
    if action["due"]:
        details.append(f"{labels['due']}: {escape(action['due'])}")
    evidence = [starts[s] for s in action["segment_ids"] if s in starts]
    if evidence:
        details.append(f"[{clock(min(evidence))}]")
    suffix = f" ({', '.join(details)})" if details else ""
    return f"- [{box}] {text}{suffix}"


def to_markdown(snapshot: Snapshot) -> str:
    """The transcript as a Markdown document, labelled in its own language.

    Example:
        >>> from engine import TranscriptDoc
        >>> t = TranscriptDoc.create("t", title="Kick-off", started_at="2026-01-01T09:00:00+00:00")
        >>> _ = t.upsert_segment("a", rev=1, text="Hello.", t0=1.0, t1=2.0, speaker="Ana")
        >>> print(to_markdown(t.snapshot()).split("## Transcript")[1].strip())
        **Ana** [00:00:01]
        <BLANKLINE>
        Hello.
    """
    meta = snapshot["meta"]
    labels = _labels(meta["language"])
    segments = snapshot["segments"]
    out = [f"# {escape(meta['title']) or labels['untitled']}", ""]
    facts = []
    if meta["started_at"]:
        facts.append((labels["date"], _when(meta["started_at"])))
    if meta["language"]:
        facts.append((labels["language"], _language(meta["language"], meta["language"])))
    if meta["model"]:
        facts.append((labels["model"], meta["model"]))
    if segments:
        facts.append((labels["duration"], clock(max(s["t1"] for s in segments))))
    facts.append((labels["id"], meta["transcript_id"]))
    out += [f"- **{name}:** {escape(value)}" for name, value in facts]
    out += ["", f"## {labels['transcript']}", ""]
    anyone = any(s["speaker"] for s in segments)
    for speaker, t0, texts in _turns(segments):
        if anyone:
            who = escape(speaker) if speaker else labels["unknown"]
            out += [f"**{who}** [{clock(t0)}]", "", escape(" ".join(texts)), ""]
        else:  # no diarization: timestamps alone
            out += [f"[{clock(t0)}] {escape(' '.join(texts))}", ""]
    summary = snapshot["summary"]
    if summary and (summary["bullets"] or summary["risks"] or summary["topics"]):
        out += [f"## {labels['summary']}", ""]
        out += [f"- {escape(b)}" for b in summary["bullets"]]
        if summary["risks"]:
            out += ["", f"### {labels['risks']}", ""]
            out += [f"- {escape(r)}" for r in summary["risks"]]
        if summary["topics"]:
            out += [
                "",
                f"**{labels['topics']}:** " + ", ".join(escape(t) for t in summary["topics"]),
            ]
        out.append("")
    if snapshot["actions"]:
        starts = {s["segment_id"]: s["t0"] for s in segments}
        out += [f"## {labels['actions']}", ""]
        out += [_action_line(a, labels, starts) for a in snapshot["actions"]]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"

"""The JSON interchange format that every ``minuta`` tool reads and writes.

Shape::

    {"transcript_id", "title", "language", "started_at",
     "segments": [{"segment_id", "rev", "t0", "t1", "text", "speaker", "conf",
                   "meta": {"lang", "final", "source", "edited_by", "edited_at",
                            "asr_text", "words", "speaker_id"}}],
     "actions": [{"action_id", "text", "owner", "due", "status", "conf",
                  "segment_ids", "source_span", "origin"}],
     "summary": {"bullets", "risks", "topics", "updated_at", "model"} | null,
     "meta": {"org_id", "model", "upload_audio", "retention_days", "vocabulary"},
     "unreadable": [{"root", "key", "reason"}]}

Readers need only ``transcript_id`` and, per segment, ``segment_id``, ``t0``, ``t1`` and
``text``; everything else is optional and defaults sensibly. ``unreadable``, present only
when the doc held parts it could not read (left out of the export), is not imported.
"""

from __future__ import annotations

import json
from typing import Any

from ._doc import HUMAN_ACTION_FIELDS, TranscriptDoc
from ._errors import InvalidTranscriptError
from ._read import is_finite_number
from ._schema import ACTION_STATUSES, Origin, Segment, Snapshot

FORMAT_VERSION = 1


def to_json(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON export of a snapshot, as a plain dict.

    Example:
        >>> t = TranscriptDoc.create("t-1", title="¿Qué tal?", started_at="2026-01-01T10:00:00+00:00")
        >>> _ = t.upsert_segment("s-1", rev=1, text="ñu", t0=0.0, t1=1.0)
        >>> to_json(t.snapshot())["segments"][0]["text"]
        'ñu'
    """
    meta = snapshot["meta"]
    data = {
        "format": FORMAT_VERSION,
        "transcript_id": meta["transcript_id"],
        "title": meta["title"],
        "language": meta["language"],
        "started_at": meta["started_at"],
        "segments": [_segment_json(s) for s in snapshot["segments"]],
        "actions": [dict(a) for a in snapshot["actions"]],
        "summary": dict(snapshot["summary"]) if snapshot["summary"] else None,
        "meta": {
            "org_id": meta["org_id"],
            "model": meta["model"],
            "upload_audio": meta["upload_audio"],
            "retention_days": meta["retention_days"],
            "vocabulary": meta["vocabulary"],
        },
    }
    if snapshot["unreadable"]:
        data["unreadable"] = [dict(u) for u in snapshot["unreadable"]]
    return data


def dumps(snapshot: Snapshot) -> str:
    """The JSON export as text: UTF-8 with accents as they are, one segment per line.

    One item per line keeps diffs readable and lets the C encoder do the work
    (``indent=`` would fall back to the pure-Python one, 3x slower on long meetings).
    """
    parts = []
    for key, value in to_json(snapshot).items():
        if isinstance(value, list) and value:
            items = ",\n".join("    " + json.dumps(v, ensure_ascii=False) for v in value)
            parts.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _segment_json(s: Segment) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "lang": s["lang"],
        "speaker_id": s["speaker_id"],
        "final": s["final"],
        "source": s["source"],
        "words": [list(w) for w in s["words"]],
    }
    if s["source"] == "human":
        meta.update(edited_by=s["edited_by"], edited_at=s["edited_at"], asr_text=s["asr_text"])
    return {
        "segment_id": s["segment_id"],
        "rev": s["rev"],
        "t0": s["t0"],
        "t1": s["t1"],
        "text": s["text"],
        "speaker": s["speaker"],
        "conf": s["conf"],
        "meta": meta,
    }


def loads(text: str) -> TranscriptDoc:
    """Parse a JSON export into a new transcript document.

    Raises:
        InvalidTranscriptError: not JSON, or a field is missing or impossible.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidTranscriptError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidTranscriptError("not a transcript: JSON nested too deeply") from None
    return from_json(data)


def from_json(data: Any) -> TranscriptDoc:
    """Build a transcript document from a parsed JSON export.

    The result snapshots to the same JSON (a round trip is exact).

    Raises:
        InvalidTranscriptError: a field is missing or impossible; the message names it.
    """
    if not isinstance(data, dict):
        raise InvalidTranscriptError("a transcript export must be a JSON object")
    transcript_id = _require(data, "transcript_id", str, "transcript")
    extra = data.get("meta") or {}
    if not isinstance(extra, dict):
        raise InvalidTranscriptError("transcript: 'meta' must be an object")
    t = TranscriptDoc.create(
        transcript_id,
        title=_optional(data, "title", str, "transcript") or "",
        language=_optional(data, "language", str, "transcript"),
        started_at=_optional(data, "started_at", str, "transcript"),
        model=_optional(extra, "model", str, "transcript meta"),
        org_id=_optional(extra, "org_id", str, "transcript meta"),
        retention_days=_optional(extra, "retention_days", int, "transcript meta"),
        vocabulary=_optional(extra, "vocabulary", list, "transcript meta") or [],
        origin=Origin.RELAY,
    )
    upload_audio = _optional(extra, "upload_audio", bool, "transcript meta")
    if upload_audio:
        t.set_meta(upload_audio=True, origin=Origin.RELAY)
    segments = data.get("segments")
    if not isinstance(segments, list):
        raise InvalidTranscriptError("transcript: 'segments' must be a list")
    for i, seg in enumerate(segments):
        _import_segment(t, seg, i)
    actions = data.get("actions") or []
    if not isinstance(actions, list):
        raise InvalidTranscriptError("transcript: 'actions' must be a list")
    for i, action in enumerate(actions):
        _import_action(t, action, i)
    summary = data.get("summary")
    if summary is not None:
        if not isinstance(summary, dict) or not isinstance(summary.get("bullets"), list):
            raise InvalidTranscriptError("transcript: 'summary' must be an object with 'bullets'")
        t.set_summary(
            bullets=[str(b) for b in summary["bullets"]],
            risks=[str(r) for r in summary.get("risks") or []],
            topics=[str(x) for x in summary.get("topics") or []],
            model=_optional(summary, "model", str, "summary"),
            updated_at=_optional(summary, "updated_at", str, "summary"),
            origin=Origin.RELAY,
        )
    return t


def _import_segment(t: TranscriptDoc, seg: Any, i: int) -> None:
    where = f"segment {i}"
    if not isinstance(seg, dict):
        raise InvalidTranscriptError(f"{where}: must be an object")
    segment_id = _require(seg, "segment_id", str, where)
    where = f"segment {segment_id!r}"
    text = _require(seg, "text", str, where)
    t0 = _require_number(seg, "t0", where)
    t1 = _require_number(seg, "t1", where)
    meta = seg.get("meta") or {}
    if not isinstance(meta, dict):
        raise InvalidTranscriptError(f"{where}: 'meta' must be an object")
    if segment_id in t.segment_ids():
        raise InvalidTranscriptError(f"{where}: appears twice")
    rev = _optional(seg, "rev", int, where)
    human = meta.get("source") == "human"
    speaker = _optional(seg, "speaker", str, where)
    speaker_id = _optional(meta, "speaker_id", str, where) or speaker
    asr_text = _optional(meta, "asr_text", str, where) if human else None
    t.upsert_segment(
        segment_id,
        rev=1 if rev is None else rev,
        text=asr_text if asr_text is not None else text,
        t0=t0,
        t1=t1,
        speaker=speaker_id,
        conf=_optional_number(seg, "conf", where),
        final=bool(meta.get("final", True)),
        words=meta.get("words", []),
        lang=_optional(meta, "lang", str, where),
        origin=Origin.RELAY,
    )
    if speaker_id and speaker and speaker_id != speaker:
        t.rename_speaker(speaker_id, speaker, origin=Origin.RELAY)
    if human:
        t.import_human_text(
            segment_id,
            text,
            user=_optional(meta, "edited_by", str, where) or "unknown",
            at=_optional(meta, "edited_at", str, where),
        )


def _import_action(t: TranscriptDoc, action: Any, i: int) -> None:
    where = f"action {i}"
    if not isinstance(action, dict):
        raise InvalidTranscriptError(f"{where}: must be an object")
    status = action.get("status", "open")
    if status not in ACTION_STATUSES:
        raise InvalidTranscriptError(f"{where}: unknown status {status!r}")
    span = action.get("source_span")
    if span is not None and not (isinstance(span, dict) and {"from", "to"} <= set(span)):
        raise InvalidTranscriptError(f"{where}: 'source_span' must be {{from, to}}")
    t.upsert_action(
        _require(action, "action_id", str, where),
        text=_require(action, "text", str, where),
        owner=_optional(action, "owner", str, where),
        due=_optional(action, "due", str, where),
        status=status,
        conf=_optional_number(action, "conf", where),
        segment_ids=[str(s) for s in action.get("segment_ids") or []],
        source_span=span,
        origin=Origin.HUMAN if action.get("origin") == "human" else Origin.WORKER,
    )
    edited = action.get("edited_fields") or []
    if not isinstance(edited, list) or not set(edited) <= set(HUMAN_ACTION_FIELDS):
        raise InvalidTranscriptError(f"{where}: 'edited_fields' must list {HUMAN_ACTION_FIELDS}")
    if edited:
        current = {k: v for k, v in action.items() if k in edited}
        t.edit_action(action["action_id"], user="imported", **current)
    if action.get("stale"):
        t.mark_stale(action["action_id"])


def _require(d: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in d or d[key] is None:
        raise InvalidTranscriptError(f"{where}: missing field {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidTranscriptError(
            f"{where}: field {key!r} must be {kind.__name__}, got {value!r}"
        )
    return value


def _optional(d: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if d.get(key) is None:
        return None
    return _require(d, key, kind, where)


def _require_number(d: dict[str, Any], key: str, where: str) -> float:
    if key not in d or d[key] is None:
        raise InvalidTranscriptError(f"{where}: missing field {key!r}")
    value = d[key]
    if not is_finite_number(value):
        raise InvalidTranscriptError(f"{where}: field {key!r} must be a number, got {value!r}")
    return float(value)


def _optional_number(d: dict[str, Any], key: str, where: str) -> float | None:
    if d.get(key) is None:
        return None
    return _require_number(d, key, where)

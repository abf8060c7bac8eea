"""Reading a transcript doc whatever its clients wrote into it: these readers never raise.

Any client with edit rights can write anything into the roots (see :mod:`engine._doc_base` for
the layout). A part that is not of the documented shape, such as a segment that is a
string, a NaN time or a ``human_key`` naming no text, is left out of the snapshot and
listed in its ``unreadable``: one bad write must not make a whole transcript unreadable,
and no NaN or infinity may reach JSON, subtitles or SQL.

The seed's flat segment form (``segment_id, rev, t0, t1, text, speaker, conf`` in the
segment map itself, ``text`` a string or a Y.Text) is read as a final ASR segment.

Example:
    >>> from pycrdt import Doc
    >>> doc = Doc()
    >>> segments = doc.get("segments", type=Map)
    >>> segments["s"] = Map({"rev": 1, "t0": 0.0, "t1": 1.0, "text": "hi", "speaker": "S1"})
    >>> segments["x"] = "oops"
    >>> out: list[Unreadable] = []
    >>> [s["text"] for s in read_segments(segments, {}, out)], out[0]["key"]
    (['hi'], 'x')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pycrdt import Array, Map, Text

from ._schema import ACTION_STATUSES, Action, Meta, Segment, Summary, Unreadable, Word
from ._vocabulary import read_vocabulary

EDITED_PREFIX = "edited:"  # an action's ``edited:<field>`` keys: fields a person changed


class Bad(Exception):
    """Why a part is unreadable. Raised and caught inside the readers only."""


def is_finite_number(value: object) -> bool:
    """A real number that fits a float and is not NaN or infinite (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _kind(value: object) -> str:
    text = repr(value) if isinstance(value, int | float | str) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: object, name: str) -> float:
    if not is_finite_number(value):
        raise Bad(f"{name} is not a finite number: {_kind(value)}")
    return float(value)  # type: ignore[arg-type]


def _opt_number(value: object, name: str) -> float | None:
    return None if value is None else _number(value, name)


def _whole(value: object, name: str) -> int:
    number = _number(value, name)
    if not number.is_integer() or number < 0:
        raise Bad(f"{name} is not a whole number >= 0: {_kind(value)}")
    return int(number)


def _times(t0: object, t1: object, where: str) -> tuple[float, float]:
    a, b = _number(t0, where + "t0"), _number(t1, where + "t1")
    if a < 0 or b < a:
        raise Bad(f"{where}t0, t1 must hold 0 <= t0 <= t1, got {a}, {b}")
    return a, b


def _opt_string(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Text):
        return str(value)
    raise Bad(f"{name} is not text: {_kind(value)}")


def _string(value: object, name: str) -> str:
    text = _opt_string(value, name)
    if text is None:
        raise Bad(f"{name} is missing")
    return text


def _flag(value: object, name: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Bad(f"{name} is not true or false: {_kind(value)}")
    return value


def _plain(value: object) -> object:
    """A nested Y.Map or Y.Array as plain data (a plain value as it is)."""
    return value.to_py() if isinstance(value, Map | Array) else value


_REAL = (int, float)  # exact types: a bool is no number here
_INF = math.inf


def _words(value: object) -> list[Word]:
    if value is None:
        return []
    value = _plain(value)
    if not isinstance(value, list | tuple):
        raise Bad(f"words is not a list: {_kind(value)}")
    # The fast path, one comprehension: a 2-hour meeting has some 20,000 words, read at
    # every snapshot. A comparison is False for NaN; a string raises TypeError.
    try:
        words = [
            (w, t0 + 0.0, t1 + 0.0, p + 0.0)
            for w, t0, t1, p in value
            if type(w) is str and 0 <= t0 <= t1 < _INF and -_INF < p < _INF
        ]
    except (TypeError, ValueError, OverflowError):
        words = []
    if len(words) == len(value):
        return words
    for i, w in enumerate(value):  # the slow path finds the culprit
        ok = type(w) in (list, tuple) and len(w) == 4 and isinstance(w[0], str)
        if not ok or not all(is_finite_number(x) for x in w[1:]) or not 0 <= w[1] <= w[2]:
            raise Bad(f"word {i} is not [word, t0, t1, prob], 0 <= t0 <= t1, finite: {_kind(w)}")
    raise Bad("words are malformed")  # not reached: the fast path took every readable list


# ----------------------------------------------------------------------------- segments


def text_at(texts: object, key: object, which: str) -> str:
    """The text a segment's ``which`` (``human_key`` or ``asr.text_key``) names."""
    if not isinstance(key, str):
        raise Bad(f"{which} is not a text's key: {_kind(key)}")
    if not isinstance(texts, Map):
        raise Bad(f"texts is not a map: {_kind(texts)}")
    try:
        value = texts[key]  # not .get(): pycrdt's get crosses into Rust twice
    except KeyError:
        value = None
    if isinstance(value, Text):
        return str(value)
    if isinstance(value, str):
        return value
    raise Bad(f"{which} {key!r} names no text")


def read_segment(
    seg: object, segment_id: str, speakers: Mapping[str, str], *, words: bool = True
) -> Segment | None:
    """A segment as plain data; None when it is deleted. ``words=False`` skips reading
    the words (their list is then empty), the costliest part.

    Raises:
        Bad: it is not of the documented shape.
    """
    if not isinstance(seg, Map):
        raise Bad(f"not a map: {_kind(seg)}")
    # One read of the map instead of a lookup per field: snapshots of long meetings
    # spend most of their time crossing into pycrdt.
    fields = dict(seg.items())
    if fields.get("deleted_by"):
        return None
    if "asr" not in fields and "text" in fields:
        return _flat_segment(fields, segment_id, speakers, words)
    asr = _plain(fields.get("asr"))
    if not isinstance(asr, dict):
        raise Bad("no ASR fields" if asr is None else f"asr is not a map: {_kind(asr)}")
    human_key = fields.get("human_key")
    if asr.get("deleted") and human_key is None:
        return None
    asr_text = _string(asr.get("text"), "asr.text")
    if human_key is not None and not isinstance(human_key, str):
        raise Bad(f"human_key is not a text's key: {_kind(human_key)}")
    if human_key:
        text = text_at(fields.get("texts"), human_key, "human_key")
    elif asr.get("text_key") is not None:
        text = text_at(fields.get("texts"), asr["text_key"], "asr.text_key")
    else:
        text = asr_text
    t0, t1 = _times(asr.get("t0"), asr.get("t1"), "asr.")
    speaker = _opt_string(asr.get("speaker"), "asr.speaker")
    return {
        "segment_id": segment_id,
        "text": text,
        "t0": t0,
        "t1": t1,
        "speaker": speakers.get(speaker, speaker) if speaker is not None else None,
        "speaker_id": speaker,
        "conf": _opt_number(asr.get("conf"), "asr.conf"),
        "rev": _whole(asr.get("rev"), "asr.rev"),
        "final": _flag(asr.get("final"), "asr.final", False),
        "words": _words(asr.get("words")) if words else [],
        "lang": _opt_string(asr.get("lang"), "asr.lang"),
        "source": "human" if human_key is not None else "asr",
        "edited_by": _opt_string(fields.get("edited_by"), "edited_by"),
        "edited_at": _opt_string(fields.get("edited_at"), "edited_at"),
        "asr_text": asr_text if human_key is not None else None,
    }


def _flat_segment(
    fields: dict[str, Any], segment_id: str, speakers: Mapping[str, str], words: bool
) -> Segment:
    t0, t1 = _times(fields.get("t0"), fields.get("t1"), "")
    speaker = _opt_string(fields.get("speaker"), "speaker")
    rev = fields.get("rev")
    return {
        "segment_id": segment_id,
        "text": _string(fields.get("text"), "text"),
        "t0": t0,
        "t1": t1,
        "speaker": speakers.get(speaker, speaker) if speaker is not None else None,
        "speaker_id": speaker,
        "conf": _opt_number(fields.get("conf"), "conf"),
        "rev": 1 if rev is None else _whole(rev, "rev"),
        "final": _flag(fields.get("final"), "final", True),
        "words": _words(fields.get("words")) if words else [],
        "lang": _opt_string(fields.get("lang"), "lang"),
        "source": "asr",
        "edited_by": None,
        "edited_at": None,
        "asr_text": None,
    }


def final_text(seg: object) -> str | None:
    """The displayed text of a visible final segment; None for any other, or an unreadable
    one: the segments a snapshot shows as final, and those unreadable only for their words
    (not read here, for speed; the workers poll this)."""
    try:
        plain = read_segment(seg, "", {}, words=False)
    except Bad:
        return None
    return plain["text"] if plain is not None and plain["final"] else None


def read_segments(
    root: Map[Any], speakers: Mapping[str, str], out: list[Unreadable]
) -> list[Segment]:
    """The visible segments, ordered by t0, t1, then id; the rest listed in ``out``."""
    segments: list[Segment] = []
    for key, seg in root.items():
        try:
            plain = read_segment(seg, str(key), speakers)
        except Bad as exc:
            out.append({"root": "segments", "key": str(key), "reason": str(exc)})
            continue
        if plain is not None:
            segments.append(plain)
    segments.sort(key=lambda s: (s["t0"], s["t1"], s["segment_id"]))
    return segments


def read_speakers(root: Map[Any], out: list[Unreadable]) -> dict[str, str]:
    """speaker -> display name."""
    names: dict[str, str] = {}
    for key, value in root.items():
        try:
            names[str(key)] = _string(value, "the name")
        except Bad as exc:
            out.append({"root": "speakers", "key": str(key), "reason": str(exc)})
    return names


# ----------------------------------------------------------------------------- the rest


def read_meta(root: Map[Any], out: list[Unreadable]) -> Meta:
    fields = dict(root.items())

    def field(name: str, read: Any, default: Any) -> Any:
        try:
            return read(fields.get(name), name)
        except Bad as exc:
            out.append({"root": "meta", "key": name, "reason": str(exc)})
            return default

    retention = fields.get("retention_days")
    return {
        "transcript_id": field("transcript_id", _opt_string, None) or "",
        "org_id": field("org_id", _opt_string, None),
        "title": field("title", _opt_string, None) or "",
        "language": field("language", _opt_string, None),
        "started_at": field("started_at", _opt_string, None),
        "model": field("model", _opt_string, None),
        "upload_audio": field("upload_audio", lambda v, n: _flag(v, n, False), False),
        "retention_days": None if retention is None else field("retention_days", _whole, None),
        "vocabulary": read_vocabulary(fields.get("vocabulary")),
    }


def _span(value: object) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"from", "to"}:
        raise Bad(f"source_span is not {{from, to}}: {_kind(value)}")
    lo, hi = _number(value["from"], "source_span.from"), _number(value["to"], "source_span.to")
    if lo < 0:
        raise Bad(f"source_span starts before the recording: {lo}")
    if hi < lo:
        raise Bad(f"source_span ends before it starts: {lo}, {hi}")
    # Whole seconds stay whole numbers in the exports.
    return {"from": int(lo) if lo.is_integer() else lo, "to": int(hi) if hi.is_integer() else hi}


def _action(action_id: str, value: object) -> Action:
    if not isinstance(value, Map):
        raise Bad(f"not a map: {_kind(value)}")
    d: dict[str, Any] = value.to_py() or {}
    status = d.get("status", "open")
    if status not in ACTION_STATUSES:
        raise Bad(f"status is not one of {', '.join(ACTION_STATUSES)}: {_kind(status)}")
    segment_ids = d.get("segment_ids") or []
    if not isinstance(segment_ids, list) or not all(isinstance(s, str) for s in segment_ids):
        raise Bad(f"segment_ids is not a list of ids: {_kind(segment_ids)}")
    action: Action = {
        "action_id": action_id,
        "text": _string(d.get("text"), "text"),
        "owner": _opt_string(d.get("owner"), "owner"),
        "due": _opt_string(d.get("due"), "due"),
        "status": status,
        "conf": _opt_number(d.get("conf"), "conf"),
        "segment_ids": list(segment_ids),
        "source_span": _span(d.get("source_span")),
        "origin": "human" if d.get("origin") == "human" else "worker",
    }
    if d.get("stale"):
        action["stale"] = True
    edited = sorted(k[len(EDITED_PREFIX) :] for k in d if k.startswith(EDITED_PREFIX))
    if edited:
        action["edited_fields"] = edited
    return action


def read_actions(root: Map[Any], out: list[Unreadable]) -> list[Action]:
    """The actions, ordered by id; the rest listed in ``out``."""
    actions: list[Action] = []
    for key, value in root.items():
        try:
            actions.append(_action(str(key), value))
        except Bad as exc:
            out.append({"root": "actions", "key": str(key), "reason": str(exc)})
    actions.sort(key=lambda a: a["action_id"])
    return actions


def read_summary(root: Map[Any], out: list[Unreadable]) -> Summary | None:
    """The summary (None before the first one); what is not text is dropped and listed."""
    fields = dict(root.items())
    if "bullets" not in fields:
        return None

    def texts(name: str) -> list[str]:
        value = _plain(fields.get(name))
        if value is None:
            return []
        items = value if isinstance(value, list | tuple) else None
        kept = [str(v) for v in items or () if isinstance(v, str | Text)]
        if items is None or len(kept) != len(items):
            reason = f"{name} is not a list of texts: {_kind(value)}"
            out.append({"root": "summary", "key": name, "reason": reason})
        return kept

    def text(name: str) -> str | None:
        try:
            return _opt_string(fields.get(name), name)
        except Bad as exc:
            out.append({"root": "summary", "key": name, "reason": str(exc)})
            return None

    return {
        "bullets": texts("bullets"),
        "risks": texts("risks"),
        "topics": texts("topics"),
        "updated_at": text("updated_at"),
        "model": text("model"),
    }

"""Reading a doc that other clients wrote: malformed parts are skipped and listed as
``unreadable``, the seed's flat segment form is read as a segment, and no reader raises.
"""

from __future__ import annotations

import contextlib
import json
from datetime import date
from typing import Any

import pytest
from _unreadable import (
    BAD_ACTIONS,
    BAD_SEGMENTS,
    FLAT_SEGMENTS,
    GOOD_TEXT,
    NAN,
    asr,
    every_bad_write,
    write_good,
    writer,
)
from pycrdt import Map

from engine import FORMATS, Origin, TranscriptDoc, TranscriptError, export, loads_json
from engine.insights import extract_actions, summarize

AT = "2026-03-01T10:00:00+00:00"


BAD_WORDS_ONLY = {"bad-word-string-time", "bad-word-nan-prob"}


def new_doc() -> TranscriptDoc:
    t = TranscriptDoc.create("t-1", title="Semanal", language="es", started_at=AT)
    write_good(t)
    return t


def broken_doc() -> TranscriptDoc:
    t = new_doc()
    for write in every_bad_write():
        write(t)
    return t


def unreadable_keys(t: TranscriptDoc, root: str) -> set[str]:
    return {u["key"] for u in t.snapshot()["unreadable"] if u["root"] == root}


def words_of(body: str) -> str:
    """An export's text with its line breaks undone (subtitles wrap lines)."""
    return " ".join(body.split())


def reject_constant(name: str) -> Any:
    raise AssertionError(f"{name} in a JSON export")


def test_a_readable_doc_has_nothing_unreadable() -> None:
    assert new_doc().snapshot()["unreadable"] == []


@pytest.mark.parametrize("key", list(BAD_SEGMENTS))
def test_one_malformed_segment_is_skipped_and_listed_not_fatal(key: str) -> None:
    t = new_doc()
    writer("segments", key, BAD_SEGMENTS[key])(t)
    snapshot = t.snapshot()
    assert [s["segment_id"] for s in snapshot["segments"]] == ["good-1"]
    assert [(u["root"], u["key"]) for u in snapshot["unreadable"]] == [("segments", key)]
    assert snapshot["unreadable"][0]["reason"]
    # The workers' change check reads the same doc (issue item 1: it raised here). It
    # skips reading words, for speed, so a segment bad only in its words counts there.
    extra = {key: "texto malo"} if key in BAD_WORDS_ONLY else {}
    assert t.final_texts() == {"good-1": GOOD_TEXT, **extra}
    for fmt in FORMATS:
        assert GOOD_TEXT in words_of(export(snapshot, fmt))


def test_every_malformed_form_at_once_leaves_the_readable_segments() -> None:
    t = broken_doc()
    snapshot = t.snapshot()
    assert [s["segment_id"] for s in snapshot["segments"]] == ["good-1", "flat-str", "flat-ytext"]
    assert unreadable_keys(t, "segments") == set(BAD_SEGMENTS)
    assert unreadable_keys(t, "actions") == set(BAD_ACTIONS)
    assert unreadable_keys(t, "summary") == {"bullets"}
    assert t.final_texts() == {
        "good-1": GOOD_TEXT,
        **{k: text for k, (_, text) in FLAT_SEGMENTS.items()},
        **dict.fromkeys(BAD_WORDS_ONLY, "texto malo"),
    }


def test_the_seeds_flat_segment_form_is_read_as_a_segment() -> None:
    t = broken_doc()
    flat = {s["segment_id"]: s for s in t.snapshot()["segments"] if s["segment_id"] != "good-1"}
    assert flat["flat-str"] == {
        "segment_id": "flat-str",
        "text": "texto plano del cliente",
        "t0": 5.0,
        "t1": 6.5,
        "speaker": "S2",
        "speaker_id": "S2",
        "conf": 0.8,
        "rev": 2,
        "final": True,
        "words": [],
        "lang": None,
        "source": "asr",
        "edited_by": None,
        "edited_at": None,
        "asr_text": None,
    }
    assert flat["flat-ytext"]["text"] == "texto compartido"
    assert flat["flat-ytext"]["speaker"] is None and flat["flat-ytext"]["conf"] is None


def test_exports_of_a_malformed_doc_hold_no_non_finite_number() -> None:
    t = broken_doc()
    snapshot = t.snapshot()
    for fmt in FORMATS:
        body = words_of(export(snapshot, fmt))
        assert GOOD_TEXT in body and "texto plano del cliente" in body
        if fmt != "json":  # whose unreadable reasons may say "nan"; parsed below
            assert "nan" not in body.lower()
            assert "inf" not in body.lower().replace("informe", "")
    data = json.loads(export(snapshot, "json"), parse_constant=reject_constant)
    assert {(u["root"], u["key"]) for u in data["unreadable"]} >= {("segments", "bad-nan-t0")}
    # An export still imports: the unreadable list is information, not content.
    again = loads_json(export(snapshot, "json")).snapshot()
    assert again["segments"] == snapshot["segments"] and again["unreadable"] == []


def test_a_malformed_doc_loads_from_its_update_and_feeds_the_insights() -> None:
    t = TranscriptDoc.from_update(broken_doc().encode_update())
    snapshot = t.snapshot()
    assert len(snapshot["segments"]) == 3
    finals = [s for s in snapshot["segments"] if s["final"]]
    assert summarize(finals, language="es").topics
    extract_actions(finals, language="es", today=date(2026, 3, 1))


def test_malformed_actions_and_summary_are_skipped_and_listed() -> None:
    t = broken_doc()
    snapshot = t.snapshot()
    assert [a["action_id"] for a in snapshot["actions"]] == ["a-good"]
    assert snapshot["summary"] is not None and snapshot["summary"]["bullets"] == []
    t.set_summary(bullets=["Informe el viernes"])  # a worker's rewrite heals it
    assert unreadable_keys(t, "summary") == set()


def test_summary_items_that_are_not_text_are_dropped() -> None:
    t = new_doc()
    t.set_summary(bullets=["uno"])
    t.doc.get("summary", type=Map)["risks"] = ["ok", 5, None]
    t.doc.get("summary", type=Map)["updated_at"] = 17
    snapshot = t.snapshot()
    assert snapshot["summary"] is not None
    assert snapshot["summary"]["risks"] == ["ok"] and snapshot["summary"]["updated_at"] is None
    assert unreadable_keys(t, "summary") == {"risks", "updated_at"}


def test_malformed_meta_and_speakers_are_listed_and_defaulted() -> None:
    t = new_doc()
    meta = t.doc.get("meta", type=Map)
    meta["retention_days"] = "soon"
    meta["title"] = Map({"a": 1})
    meta["upload_audio"] = "yes"
    t.doc.get("speakers", type=Map)["S1"] = Map({"name": "Ana"})
    snapshot = t.snapshot()
    assert snapshot["meta"]["retention_days"] is None and snapshot["meta"]["title"] == ""
    assert snapshot["meta"]["upload_audio"] is False
    assert snapshot["segments"][0]["speaker"] == "S1"
    assert unreadable_keys(t, "meta") == {"retention_days", "title", "upload_audio"}
    assert unreadable_keys(t, "speakers") == {"S1"}


def test_segment_ids_come_from_the_keys_so_they_stay_unique() -> None:
    t = new_doc()
    fields = {"segment_id": "good-1", "texts": Map(), "asr": asr(text="copia")}
    t.doc.get("segments", type=Map)["other"] = Map(fields)
    ids = [s["segment_id"] for s in t.snapshot()["segments"]]
    assert ids == ["good-1", "other"]


def test_a_deleted_segment_is_hidden_whatever_else_it_holds() -> None:
    t = new_doc()
    fields = {"segment_id": "gone", "texts": Map(), "asr": asr(t0=NAN), "deleted_by": "ana"}
    t.doc.get("segments", type=Map)["gone"] = Map(fields)
    snapshot = t.snapshot()
    assert [s["segment_id"] for s in snapshot["segments"]] == ["good-1"]
    assert snapshot["unreadable"] == []


@pytest.mark.parametrize("key", list(BAD_SEGMENTS))
def test_writes_to_a_malformed_segment_raise_only_transcript_errors(key: str) -> None:
    """The ASR or a person writing to such a segment gets an engine error, not a crash."""
    t = new_doc()
    writer("segments", key, BAD_SEGMENTS[key])(t)
    writes = [
        lambda: t.shown_text(key),
        lambda: t.text_of(key),
        lambda: t.edit_text(key, 0, 0, "¡", user="ana"),
        lambda: t.upsert_segment(key, rev=9, text="nuevo", t0=1.0, t1=2.0, final=True),
        lambda: t.finalize_segment(key),
        lambda: t.import_human_text(key, "importado", user="ana"),
        lambda: t.delete_segment(key, origin=Origin.AGENT),
    ]
    for write in writes:
        with contextlib.suppress(TranscriptError):
            write()
    t.snapshot()  # and reading still works

"""The transcript document: rev semantics, human edits, deletes, sync and observers."""

from __future__ import annotations

import pytest
from pycrdt import Map

from engine import InvalidTranscriptError, Origin, TranscriptDoc, UnknownSegmentError

AT = "2026-03-01T10:00:00+00:00"


def new_doc() -> TranscriptDoc:
    return TranscriptDoc.create("t-1", title="Weekly", language="es", started_at=AT)


def sync(src: TranscriptDoc, dst: TranscriptDoc) -> None:
    dst.apply_update(src.encode_update(dst.state_vector()))


def segment(t: TranscriptDoc, segment_id: str) -> dict[str, object]:
    found = [s for s in t.snapshot()["segments"] if s["segment_id"] == segment_id]
    assert len(found) == 1, f"{segment_id} shown {len(found)} times"
    return dict(found[0])


def test_create_sets_meta() -> None:
    meta = new_doc().snapshot()["meta"]
    assert meta == {
        "transcript_id": "t-1",
        "org_id": None,
        "title": "Weekly",
        "language": "es",
        "started_at": AT,
        "model": None,
        "upload_audio": False,
        "retention_days": None,
        "vocabulary": [],
    }


def test_vocabulary_is_kept_clean_and_read_tolerantly() -> None:
    t = new_doc()
    t.set_meta(vocabulary=["  Siobhan  Ní ", "Kubeflow", "KUBEFLOW", ""])
    assert t.vocabulary() == ["Siobhan Ní", "Kubeflow"]
    assert t.snapshot()["meta"]["vocabulary"] == ["Siobhan Ní", "Kubeflow"]
    for bad in ("Kubeflow", [3], ["x" * 61], [f"t{i}" for i in range(101)]):
        with pytest.raises(InvalidTranscriptError, match="vocabulary"):
            t.set_meta(vocabulary=bad)
    assert t.vocabulary() == ["Siobhan Ní", "Kubeflow"]
    # What another client writes there raw is read, never trusted.
    t.doc.get("meta", type=Map)["vocabulary"] = ["ok", 7, None, "ok", "y" * 500]
    assert t.vocabulary() == ["ok"]
    t.doc.get("meta", type=Map)["vocabulary"] = {"not": "a list"}
    assert t.vocabulary() == [] and t.snapshot()["meta"]["vocabulary"] == []


def test_set_meta_rejects_unknown_fields() -> None:
    with pytest.raises(InvalidTranscriptError, match="colour"):
        new_doc().set_meta(colour="red")


def test_stale_rev_changes_nothing() -> None:
    t = new_doc()
    assert t.upsert_segment("s", rev=2, text="dos", t0=0.0, t1=1.0)
    before = t.encode_update()
    assert not t.upsert_segment("s", rev=2, text="otra", t0=0.0, t1=1.0)
    assert not t.upsert_segment("s", rev=1, text="uno", t0=0.0, t1=1.0)
    assert t.encode_update() == before
    assert segment(t, "s")["text"] == "dos"


def test_revisions_replace_asr_text_and_finalize() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="hola", t0=0.0, t1=0.8)
    t.upsert_segment("s", rev=2, text="hola a todos", t0=0.0, t1=1.6, conf=0.7)
    seg = segment(t, "s")
    assert (seg["text"], seg["rev"], seg["final"], seg["source"]) == (
        "hola a todos",
        2,
        False,
        "asr",
    )
    assert t.finalize_segment("s")
    assert not t.finalize_segment("s")
    seg = segment(t, "s")
    assert (seg["rev"], seg["final"], seg["t1"], seg["conf"]) == (3, True, 1.6, 0.7)


def test_unchanged_text_reuses_its_ytext() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="igual", t0=0.0, t1=1.0, final=True)
    t.upsert_segment("s", rev=2, text="igual", t0=0.0, t1=1.2, final=True)
    t.upsert_segment("s", rev=3, text="distinto", t0=0.0, t1=1.2, final=True)
    texts = t.doc.get("segments", type=Map)["s"]["texts"]
    assert sorted(texts.keys()) == ["1", "3"]


def test_human_edit_survives_later_asr_revision() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="la reunion del martes", t0=0.0, t1=2.0)
    t.set_text("s", "la reunión del martes", user="ana", at=AT)
    t.upsert_segment("s", rev=2, text="la reunion de martes", t0=0.0, t1=2.0, final=True)
    seg = segment(t, "s")
    assert seg["text"] == "la reunión del martes"
    assert seg["asr_text"] == "la reunion de martes"
    assert (seg["source"], seg["edited_by"], seg["edited_at"]) == ("human", "ana", AT)
    assert (seg["rev"], seg["final"]) == (2, True)


@pytest.mark.parametrize("agent_first", [True, False])
def test_concurrent_edit_and_revision_converge_to_human_text(agent_first: bool) -> None:
    agent, browser = new_doc(), TranscriptDoc()
    agent.upsert_segment("s", rev=1, text="send it to jose", t0=0.0, t1=2.0)
    sync(agent, browser)
    # Offline from each other: a person fixes the name, the ASR revises the same segment.
    browser.edit_text("s", 11, 4, "José", user="ana")
    agent.upsert_segment("s", rev=2, text="send it to Jose by Friday", t0=0.0, t1=3.0, final=True)
    if agent_first:
        sync(agent, browser)
        sync(browser, agent)
    else:
        sync(browser, agent)
        sync(agent, browser)
    assert agent.snapshot() == browser.snapshot()
    seg = segment(agent, "s")
    assert seg["text"] == "send it to José"
    assert seg["asr_text"] == "send it to Jose by Friday"
    assert (seg["rev"], seg["t1"], seg["final"]) == (2, 3.0, True)


def test_two_people_edit_one_segment_character_by_character() -> None:
    agent, ana, bo = new_doc(), TranscriptDoc(), TranscriptDoc()
    agent.upsert_segment("s", rev=1, text="the cat sat on the mat", t0=0.0, t1=2.0, final=True)
    sync(agent, ana)
    sync(agent, bo)
    ana.set_text("s", "the black cat sat on the mat", user="ana")
    bo.set_text("s", "the cat sat on the red mat", user="bo")
    for a, b in [(ana, bo), (bo, ana), (ana, agent), (bo, agent)]:
        sync(a, b)
    expected = "the black cat sat on the red mat"
    assert {segment(r, "s")["text"] for r in (agent, ana, bo)} == {expected}


def test_forked_first_edits_pick_one_text_everywhere_and_keep_both() -> None:
    agent, ana, bo = new_doc(), TranscriptDoc(), TranscriptDoc()
    agent.upsert_segment("s", rev=1, text="uno", t0=0.0, t1=1.0)
    sync(agent, ana)
    agent.upsert_segment("s", rev=2, text="uno dos", t0=0.0, t1=1.0)
    sync(agent, bo)
    ana.edit_text("s", 3, 0, " (ana)", user="ana")  # edits the rev-1 text
    bo.edit_text("s", 7, 0, " (bo)", user="bo")  # edits the rev-2 text
    for a, b in [(ana, bo), (bo, ana), (ana, agent), (bo, agent), (agent, ana), (agent, bo)]:
        sync(a, b)
    texts = {segment(r, "s")["text"] for r in (agent, ana, bo)}
    assert len(texts) == 1
    assert texts.pop() in {"uno (ana)", "uno dos (bo)"}
    # The other person's text is not destroyed: it stays in the doc.
    stored = agent.doc.get("segments", type=Map).to_py() or {}
    assert {"uno (ana)", "uno dos (bo)"} <= set(stored["s"]["texts"].values())


def test_edit_indices_count_characters_not_bytes() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="¿Qué tal, señor? 👋 bien", t0=0.0, t1=1.0)
    t.edit_text("s", 18, 0, "muy ", user="ana")
    assert segment(t, "s")["text"] == "¿Qué tal, señor? 👋muy  bien"
    t.edit_text("s", 1, 3, "Cómo", user="ana")
    assert segment(t, "s")["text"] == "¿Cómo tal, señor? 👋muy  bien"
    t.set_text("s", "¿Cómo está, señora? 👋 muy bien", user="ana")
    assert segment(t, "s")["text"] == "¿Cómo está, señora? 👋 muy bien"


def test_edit_out_of_range_is_refused() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="abc", t0=0.0, t1=1.0)
    for index, delete in [(-1, 0), (4, 0), (2, 2), (0, -1)]:
        with pytest.raises(InvalidTranscriptError, match="out of range"):
            t.edit_text("s", index, delete, "x", user="ana")
    assert segment(t, "s")["source"] == "asr"


def test_edit_needs_a_user_and_a_segment() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="abc", t0=0.0, t1=1.0)
    with pytest.raises(InvalidTranscriptError):
        t.edit_text("s", 0, 0, "x", user="")
    with pytest.raises(UnknownSegmentError, match="nope"):
        t.edit_text("nope", 0, 0, "x", user="ana")


def test_human_delete_hides_segment() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="ruido", t0=0.0, t1=1.0)
    t.delete_segment("s", user="ana")
    t.upsert_segment("s", rev=2, text="ruido otra vez", t0=0.0, t1=1.0)
    assert t.snapshot()["segments"] == []


def test_asr_retraction_hides_only_unedited_segments() -> None:
    agent, browser = new_doc(), TranscriptDoc()
    agent.upsert_segment("a", rev=1, text="gracias", t0=0.0, t1=1.0)
    agent.upsert_segment("b", rev=1, text="gracias", t0=2.0, t1=3.0)
    sync(agent, browser)
    browser.edit_text("b", 0, 1, "G", user="ana")
    agent.delete_segment("a", origin=Origin.AGENT)
    agent.delete_segment("b", origin=Origin.AGENT)  # concurrent with the edit
    sync(agent, browser)
    sync(browser, agent)
    for r in (agent, browser):
        assert [s["segment_id"] for s in r.snapshot()["segments"]] == ["b"]
        assert segment(r, "b")["text"] == "Gracias"


def test_rename_speaker_renames_every_segment() -> None:
    t = new_doc()
    t.upsert_segment("a", rev=1, text="hola", t0=0.0, t1=1.0, speaker="S1")
    t.upsert_segment("b", rev=1, text="qué tal", t0=1.0, t1=2.0, speaker="S2")
    t.upsert_segment("c", rev=1, text="bien", t0=2.0, t1=3.0, speaker="S1")
    t.rename_speaker("S1", "Ana")
    assert [s["speaker"] for s in t.snapshot()["segments"]] == ["Ana", "S2", "Ana"]
    # A later ASR revision of an S1 segment still shows the new name.
    t.upsert_segment("c", rev=2, text="muy bien", t0=2.0, t1=3.0, speaker="S1")
    assert segment(t, "c")["speaker"] == "Ana"


def test_snapshot_orders_by_t0() -> None:
    t = new_doc()
    t.upsert_segment("z", rev=1, text="primero", t0=0.5, t1=1.0)
    t.upsert_segment("a", rev=1, text="segundo", t0=3.0, t1=4.0)
    t.upsert_segment("m", rev=1, text="en medio", t0=1.0, t1=2.0)
    assert [s["segment_id"] for s in t.snapshot()["segments"]] == ["z", "m", "a"]


def test_update_round_trip_and_incremental_sync() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="uno", t0=0.0, t1=1.0, words=[["uno", 0.1, 0.5, 0.9]])
    copy = TranscriptDoc.from_update(t.encode_update())
    assert copy.snapshot() == t.snapshot()
    state = copy.state_vector()
    t.upsert_segment("s2", rev=1, text="dos", t0=1.0, t1=2.0)
    delta = t.encode_update(state)
    assert len(delta) < len(t.encode_update())
    copy.apply_update(delta)
    assert copy.snapshot() == t.snapshot()
    assert copy.snapshot()["segments"][0]["words"] == [("uno", 0.1, 0.5, 0.9)]


def test_observers_see_origins_and_can_skip_their_echo() -> None:
    agent, relay = new_doc(), TranscriptDoc()
    seen: list[Origin | None] = []
    forwarded: list[bytes] = []

    def on_change(update: bytes, origin: Origin | None) -> None:
        seen.append(origin)
        if origin != Origin.RELAY:  # do not send back what the relay sent us
            forwarded.append(update)

    agent.observe(on_change)
    agent.upsert_segment("s", rev=1, text="hola", t0=0.0, t1=1.0)
    sync(agent, relay)
    relay.edit_text("s", 0, 1, "H", user="ana")
    agent.apply_update(relay.encode_update(agent.state_vector()), origin=Origin.RELAY)
    assert seen == [Origin.AGENT, Origin.RELAY]
    assert len(forwarded) == 1
    TranscriptDoc().apply_update(forwarded[0])  # a real update


def test_actions_and_summary() -> None:
    t = new_doc()
    t.upsert_segment("s", rev=1, text="Ana enviará el informe", t0=0.0, t1=2.0)
    t.upsert_action(
        "a1", text="Enviar el informe", owner="Ana", due="2026-03-02", conf=0.8,
        segment_ids=["s"], source_span={"from": 4, "to": 22},
    )  # fmt: skip
    t.upsert_action("a1", text="Enviar el informe", owner="Ana", status="done", origin=Origin.HUMAN)
    t.set_summary(bullets=["Informe pendiente"], risks=["Depende de finanzas"], topics=["informe"])
    snap = t.snapshot()
    assert snap["actions"][0]["status"] == "done"
    assert snap["actions"][0]["origin"] == "human"
    assert snap["summary"] is not None and snap["summary"]["risks"] == ["Depende de finanzas"]
    with pytest.raises(InvalidTranscriptError):
        t.upsert_action("a2", text="x", status="maybe")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("t0", "t1"), [(-1.0, 1.0), (2.0, 1.0), (float("nan"), 1.0), (0.0, float("inf"))]
)
def test_bad_times_are_refused(t0: float, t1: float) -> None:
    t = new_doc()
    with pytest.raises(InvalidTranscriptError):
        t.upsert_segment("s", rev=1, text="x", t0=t0, t1=t1)
    assert t.snapshot()["segments"] == []

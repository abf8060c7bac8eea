"""Search on both databases: what the projector writes is found, folded for case and
accents, ranked, paged and scoped to one org; edits and deletions show at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from engine import TranscriptDoc
from relay.db import Org, Segment, Transcript, connect, upgrade
from relay.projections import Projector
from relay.search import SearchQuery, search
from relay.search._snippet import highlight


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = connect(db_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add_all([Org(org_id="acme", name="Acme"), Org(org_id="other", name="Other")])
        session.flush()
        session.add_all(
            [
                Transcript(transcript_id="t-es", org_id="acme", title="Reunión", language="es"),
                Transcript(transcript_id="t-en", org_id="acme", title="Standup", language="en"),
                Transcript(transcript_id="t-x", org_id="other", title="Secret", language="es"),
            ]
        )
    yield engine
    engine.dispose()


def project(engine: Engine, doc: TranscriptDoc, projector: Projector | None = None) -> None:
    projector = projector or Projector(engine)
    transcript_id = doc.snapshot()["meta"]["transcript_id"]

    async def run() -> None:
        projector.touch(transcript_id, doc)
        await projector.flush(transcript_id)

    anyio.run(run)


def ids(engine: Engine, q: str, **kw: object) -> list[tuple[str, str]]:
    page = search(engine, SearchQuery(q=q, org_id=kw.pop("org_id", "acme"), **kw))  # type: ignore[arg-type]
    return [(h["transcript_id"], h["segment_id"]) for h in page.items]


@pytest.fixture
def docs(engine: Engine) -> tuple[TranscriptDoc, TranscriptDoc]:
    es = TranscriptDoc.create("t-es", title="Reunión", language="es", org_id="acme")
    es.upsert_segment("s1", rev=1, text="Mañana revisamos el presupuesto con Carlos.",
                      t0=1.0, t1=4.0, speaker="S1", final=True)  # fmt: skip
    es.upsert_segment("s2", rev=1, text="Las reuniones de los lunes son largas.",
                      t0=5.0, t1=8.0, speaker="S2", final=True)  # fmt: skip
    es.rename_speaker("S1", "Ana")
    en = TranscriptDoc.create("t-en", title="Standup", language="en", org_id="acme")
    en.upsert_segment("s1", rev=1, text="The budget review moves to Friday.",
                      t0=2.0, t1=5.0, speaker="S1", final=True)  # fmt: skip
    en.upsert_segment("s2", rev=1, text="Carlos owns the budget spreadsheet.",
                      t0=6.0, t1=9.0, final=True)  # fmt: skip
    other = TranscriptDoc.create("t-x", title="Secret", language="es", org_id="other")
    other.upsert_segment("s1", rev=1, text="Carlos y el presupuesto secreto.",
                         t0=0.0, t1=2.0, final=True)  # fmt: skip
    for doc in (es, en, other):
        project(engine, doc)
    return es, en


def test_accents_and_case_fold_and_words_match_as_prefixes(engine: Engine, docs: object) -> None:
    assert ids(engine, "MANANA") == [("t-es", "s1")]
    assert ids(engine, "mañana") == [("t-es", "s1")]
    assert ids(engine, "reunion") == [("t-es", "s2")]  # "reuniones"
    assert ids(engine, "presu") == [("t-es", "s1")]  # a word's start
    assert sorted(ids(engine, "budget")) == [("t-en", "s1"), ("t-en", "s2")]
    assert ids(engine, "budget friday") == [("t-en", "s1")]  # every word
    assert ids(engine, "nothing-like-this") == []


def test_hits_carry_what_the_page_shows(engine: Engine, docs: object) -> None:
    page = search(engine, SearchQuery(q="mañana", org_id="acme"))
    (hit,) = page.items
    assert hit["title"] == "Reunión" and hit["t0"] == 1.0 and hit["t1"] == 4.0
    assert hit["speaker"] == "Ana"
    assert hit["snippet"] == "Mañana revisamos el presupuesto con Carlos."
    assert [hit["snippet"][a:b] for a, b in hit["highlights"]] == ["Mañana"]
    assert page.next_offset is None


def test_another_orgs_transcripts_are_never_found(engine: Engine, docs: object) -> None:
    assert ("t-x", "s1") not in ids(engine, "carlos")
    assert ids(engine, "secreto") == []
    assert ids(engine, "secreto", org_id="other") == [("t-x", "s1")]


def test_filters_and_pages(engine: Engine, docs: object) -> None:
    assert ids(engine, "carlos", speaker="ana") == [("t-es", "s1")]
    every = ids(engine, "carlos")
    assert sorted(every) == [("t-en", "s2"), ("t-es", "s1")]
    first = search(engine, SearchQuery(q="carlos", org_id="acme", limit=1))
    assert first.next_offset == 1 and len(first.items) == 1
    second = search(engine, SearchQuery(q="carlos", org_id="acme", limit=1, offset=1))
    assert second.next_offset is None
    assert [first.items[0]["segment_id"], second.items[0]["segment_id"]] != [None, None]
    assert {(h["transcript_id"]) for h in first.items + second.items} == {"t-es", "t-en"}
    now = datetime.now(UTC)
    assert ids(engine, "carlos", until=now - timedelta(days=1)) == []
    assert len(ids(engine, "carlos", since=now - timedelta(days=1))) == 2


def test_the_best_match_comes_first(engine: Engine, docs: object) -> None:
    es = TranscriptDoc.create("t-es", title="Reunión", language="es", org_id="acme")
    es.upsert_segment("s9", rev=1, text="presupuesto presupuesto presupuesto anual",
                      t0=20.0, t1=22.0, final=True)  # fmt: skip
    project(engine, es)  # a first snapshot of a new doc: the table is rewritten
    assert ids(engine, "presupuesto")[0] == ("t-es", "s9")


def test_edits_and_deletions_show_at_the_next_projection(
    engine: Engine, docs: tuple[TranscriptDoc, TranscriptDoc]
) -> None:
    es, _ = docs
    projector = Projector(engine)
    project(engine, es, projector)
    es.set_text("s2", "Las reuniones del martes, con Beatriz.", user="ana")
    project(engine, es, projector)
    assert ids(engine, "beatriz") == [("t-es", "s2")]
    assert ids(engine, "lunes") == []
    es.delete_segment("s1", user="ana")
    project(engine, es, projector)
    assert ids(engine, "presupuesto") == []
    with Session(engine) as session, session.begin():  # a deleted transcript's rows go
        session.execute(delete(Transcript).where(Transcript.transcript_id == "t-en"))
    assert ids(engine, "budget") == []
    with Session(engine) as session:
        assert session.query(Segment).filter_by(transcript_id="t-en").count() == 0


def test_parts_inside_words_are_found_on_postgresql_only(engine: Engine, docs: object) -> None:
    # pg_trgm finds it inside "presupuesto"; SQLite's FTS5 matches words and their starts.
    found = [("t-es", "s1")] if engine.dialect.name == "postgresql" else []
    assert ids(engine, "supuesto") == found


def test_query_syntax_is_only_words(engine: Engine, docs: object) -> None:
    for hostile in ('"', "*", "AND OR NOT", "a:* | !", "NEAR(", "\\", "%_", "'); DROP"):
        search(engine, SearchQuery(q=hostile, org_id="acme"))  # no SQL or FTS error
    assert search(engine, SearchQuery(q="!!!", org_id="acme")).items == []


def test_the_snippet_cuts_long_text_around_the_match_in_utf16_units() -> None:
    text = " ".join(["palabra"] * 60) + " 😀 objetivo " + " ".join(["fin"] * 60)
    snippet, marks = highlight(text, ["objetivo"])
    assert snippet.startswith("…") and snippet.endswith("…") and len(snippet) < 260
    ((a, b),) = marks
    units = snippet.encode("utf-16-le")
    assert units[2 * a : 2 * b].decode("utf-16-le") == "objetivo"


def test_a_word_in_many_segments_is_ranked_among_the_most_recent(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay.search import _postgres, _query
    from relay.search import _search as runner

    for module in (_postgres, _query, runner):
        monkeypatch.setattr(module, "CANDIDATES", 6)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        for n in range(8):  # t-08 is the most recent
            session.add(Transcript(transcript_id=f"t-{n:02d}", org_id="acme", language="en",
                                   created_at=now - timedelta(days=10 - n)))  # fmt: skip
    for n in range(8):
        doc = TranscriptDoc.create(f"t-{n:02d}", language="en", org_id="acme")
        for i in range(3):
            doc.upsert_segment(f"s{i}", rev=1, text=f"common word {i}", t0=i, t1=i + 1)
        project(engine, doc)
    page = search(engine, SearchQuery(q="common", org_id="acme", limit=4))
    newest = {h["transcript_id"] for h in page.items}
    assert newest <= {"t-07", "t-06"}, newest
    assert page.next_offset == 4
    assert (
        search(engine, SearchQuery(q="common", org_id="acme", limit=4, offset=4)).next_offset
        is None
    )

"""SQL snapshots: after any sequence of changes the tables equal the doc's snapshot."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from _relay import wait_until
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from engine import TranscriptDoc
from relay.db import Org, Segment, Transcript, connect, upgrade
from relay.projections import MAX_RETRIES, Projector


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = connect(db_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(Org(org_id="acme", name="Acme"))
        session.flush()
        session.add(Transcript(transcript_id="t-1", org_id="acme", title="x"))
    yield engine
    engine.dispose()


def table(engine: Engine) -> dict[str, dict[str, Any]]:
    with Session(engine) as session:
        return {
            s.segment_id: {"text": s.text, "rev": s.rev, "speaker": s.speaker, "t1": s.t1}
            for s in session.scalars(select(Segment).filter_by(transcript_id="t-1"))
        }


def expected(doc: TranscriptDoc) -> dict[str, dict[str, Any]]:
    return {
        s["segment_id"]: {
            "text": s["text"],
            "rev": s["rev"],
            "speaker": s["speaker"],
            "t1": s["t1"],
        }
        for s in doc.snapshot()["segments"]
    }


def test_only_changes_are_written_and_the_tables_match_the_doc(engine: Engine) -> None:
    doc = TranscriptDoc.create("t-1", title="Plan")
    projector = Projector(engine)

    async def project() -> None:
        projector.touch("t-1", doc)
        await projector.flush("t-1")

    for n in range(30):
        doc.upsert_segment(f"s{n:02d}", rev=1, text=f"hola {n}", t0=n, t1=n + 1, final=True)
    anyio.run(project)
    assert table(engine) == expected(doc)
    doc.set_text("s03", "Hola tres", user="ana")
    doc.upsert_segment("s04", rev=2, text="hola cuatro", t0=4, t1=5.5, final=True)
    doc.delete_segment("s05", user="ana")
    doc.upsert_segment("s06", rev=2, text="hola 6", t0=6, t1=7, speaker="S1", final=True)
    doc.rename_speaker("S1", "Ana")
    doc.upsert_segment("s30", rev=1, text="nuevo", t0=30, t1=31)
    anyio.run(project)
    assert table(engine) == expected(doc)
    # A new projector (a restarted relay) knows nothing of what is there: full rewrite.
    doc.upsert_segment("s31", rev=1, text="otro", t0=31, t1=32)
    projector = Projector(engine)
    anyio.run(project)
    assert table(engine) == expected(doc)
    with Session(engine) as session:
        row = session.get(Transcript, "t-1")
        assert row is not None and row.segment_count == 31 and row.duration_s == 32


def errors(projector: Projector) -> float:
    value = projector.metrics.registry.get_sample_value("minuta_background_errors_total")
    return float(value or 0.0)


def test_a_failing_projection_backs_off_gives_up_and_logs_one_traceback(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The NaN case of the issue retried once a second forever, a traceback each time."""
    doc = TranscriptDoc.create("t-1", title="Plan")
    doc.upsert_segment("s1", rev=1, text="hola", t0=0, t1=1, final=True)
    projector = Projector(engine, debounce_s=0.001, max_wait_s=0.001, retry_s=0.002)
    with engine.begin() as connection:  # every write now fails, as a real outage would
        connection.execute(text("ALTER TABLE segments RENAME TO segments_away"))

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(projector.run)
            projector.touch("t-1", doc)
            await wait_until(lambda: errors(projector) >= MAX_RETRIES, 20)
            await anyio.sleep(0.5)  # given up: no more attempts without a change
            assert errors(projector) == MAX_RETRIES
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE segments_away RENAME TO segments"))
            projector.touch("t-1", doc)  # the next change tries again, and succeeds
            await wait_until(lambda: bool(table(engine)), 20)
            tg.cancel_scope.cancel()

    with caplog.at_level(logging.WARNING, logger="minuta.relay"):
        anyio.run(main)
    assert table(engine) == expected(doc)
    assert errors(projector) == MAX_RETRIES
    assert sum(r.exc_info is not None for r in caplog.records) == 1

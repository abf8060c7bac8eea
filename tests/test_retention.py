"""Retention with a fake clock, on SQLite and PostgreSQL: nothing goes early, everything
expired goes (update log, segments, actions, search index, audio, connector rows), each
deletion is audited, a run stopped midway resumes, and two relays run it once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from engine import TranscriptDoc
from relay import retention as retention_module
from relay.audio import AudioStore
from relay.db import (
    Action,
    AuditEvent,
    DeletedTranscript,
    DocUpdate,
    Org,
    Segment,
    Transcript,
    connect,
    upgrade,
    writer,
)
from relay.projections import Projector
from relay.retention import Retention, RetentionOptions
from relay.search import SearchQuery, search
from relay.updates import UpdateLog

START = datetime.now(UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = connect(db_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                Org(org_id="acme", name="Acme"),  # the default, 90 days
                Org(org_id="brief", name="Brief", retention_days=7),
                Org(org_id="forever", name="Forever", retention_days=0),
            ]
        )
    yield engine
    engine.dispose()


def make(engine: Engine, audio: AudioStore, transcript_id: str, org_id: str, *,
         own_days: int | None = None) -> None:  # fmt: skip
    """A transcript as the relay keeps it: its log, projection, index and audio."""
    doc = TranscriptDoc.create(transcript_id, org_id=org_id, language="es",
                               retention_days=own_days)  # fmt: skip
    doc.upsert_segment("s1", rev=1, text=f"palabra{transcript_id.replace('-', '')} dicha",
                       t0=0, t1=1, final=True)  # fmt: skip
    doc.upsert_action("a1", text="Enviar el informe", segment_ids=["s1"])
    with Session(writer(engine)) as session, session.begin():
        session.add(Transcript(transcript_id=transcript_id, org_id=org_id, created_at=START,
                               retention_days=own_days))  # as an admin's PATCH sets it  # fmt: skip

    async def store() -> None:
        async with UpdateLog(engine) as log:
            await log.append(transcript_id, doc.encode_update())
        projector = Projector(engine)
        projector.touch(transcript_id, doc)
        await projector.flush(transcript_id)

    anyio.run(store)
    data = b"OggS" + transcript_id.encode()
    audio.append(transcript_id, 0, len(data), hashlib.sha256(data).hexdigest(), data)


def left(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(Transcript.transcript_id)))


def rows(engine: Engine, table: Any, transcript_id: str) -> int:
    counted = select(func.count()).select_from(table).where(table.transcript_id == transcript_id)
    with Session(engine) as session:
        return int(session.scalar(counted) or 0)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> AudioStore:
    audio = AudioStore(tmp_path / "audio")
    make(engine, audio, "acme-1", "acme")
    make(engine, audio, "acme-2", "acme")
    make(engine, audio, "acme-long", "acme", own_days=365)  # its own period overrides the org's
    make(engine, audio, "brief-1", "brief")
    make(engine, audio, "forever-1", "forever")
    make(engine, audio, "forever-short", "forever", own_days=30)
    return audio


def clock(days: float) -> Callable[[], datetime]:
    return lambda: START + timedelta(days=days)


def run(engine: Engine, audio: AudioStore, days: float, **options: float) -> int:
    job = Retention(engine, audio, RetentionOptions(**options), now=clock(days))  # type: ignore[arg-type]
    return anyio.run(job.run_once)


def test_nothing_goes_early_and_everything_expired_goes(engine: Engine, world: AudioStore) -> None:
    everything = {"acme-1", "acme-2", "acme-long", "brief-1", "forever-1", "forever-short"}
    assert run(engine, world, 6.9) == 0 and left(engine) == everything
    assert run(engine, world, 7.1) == 1 and left(engine) == everything - {"brief-1"}
    assert run(engine, world, 29.9) == 0
    assert run(engine, world, 30.1) == 1
    assert run(engine, world, 89.9) == 0
    assert run(engine, world, 90.1) == 2
    assert left(engine) == {"acme-long", "forever-1"}
    assert run(engine, world, 364.9) == 0
    assert run(engine, world, 365.1) == 1
    assert run(engine, world, 10_000) == 0 and left(engine) == {"forever-1"}
    for gone in everything - {"forever-1"}:
        for table in (DocUpdate, Segment, Action):
            assert rows(engine, table, gone) == 0, (gone, table)
        assert not world.has(gone)
        word = "palabra" + gone.replace("-", "")
        org = gone.split("-")[0]
        assert search(engine, SearchQuery(q=word, org_id=org)).items == []
        with Session(engine) as session:
            assert session.get(DeletedTranscript, gone) is not None  # never stored again
    assert world.has("forever-1") and rows(engine, Segment, "forever-1") == 1
    assert search(engine, SearchQuery(q="palabraforever1", org_id="forever")).items
    with Session(engine) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "expire")).all()
    assert sorted(e.transcript_id or "" for e in events) == sorted(everything - {"forever-1"})
    brief = next(e for e in events if e.transcript_id == "brief-1")
    assert brief.org_id == "brief" and brief.detail["retention_days"] == 7
    assert brief.detail["audio"] is True


def test_a_run_stopped_midway_resumes(
    engine: Engine, world: AudioStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = retention_module.forget
    calls: list[str] = []

    def crash_on_the_second(*args: object, **kw: object) -> bool:
        calls.append(str(args[1]))
        if len(calls) == 2:
            raise RuntimeError("the relay stops here")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(retention_module, "forget", crash_on_the_second)
    with pytest.raises(RuntimeError):
        run(engine, world, 100, lease_s=0.2)
    assert len(left(engine)) == 5  # one of the four expired went before the stop
    monkeypatch.setattr(retention_module, "forget", real)
    # Another process (another lease holder) once the crashed one's lease lapsed.
    anyio.run(anyio.sleep, 0.3)
    assert run(engine, world, 100, lease_s=0.2) == 3
    assert left(engine) == {"acme-long", "forever-1"}


def test_audio_left_by_a_stop_after_the_commit_is_swept(engine: Engine, world: AudioStore) -> None:
    with Session(writer(engine)) as session, session.begin():  # committed, file not yet removed
        session.add(DeletedTranscript(transcript_id="gone-1", org_id="acme"))
    data = b"OggS-orphan"
    world.append("gone-1", 0, len(data), hashlib.sha256(data).hexdigest(), data)
    run(engine, world, 1)
    assert not world.has("gone-1") and world.has("acme-1")


def test_two_relays_run_it_once(engine: Engine, world: AudioStore) -> None:
    first = Retention(engine, world, RetentionOptions(batch=1), now=clock(100))
    second = Retention(engine, world, RetentionOptions(batch=1), now=clock(100))
    counts: list[int] = []

    async def both() -> None:
        async def one(job: Retention) -> None:
            counts.append(await job.run_once())

        async with anyio.create_task_group() as tg:
            tg.start_soon(one, first)
            tg.start_soon(one, second)

    anyio.run(both)
    assert sorted(counts) == [0, 4]
    with Session(engine) as session:
        expired = session.scalar(select(func.count()).where(AuditEvent.action == "expire"))
    assert expired == 4


def test_a_period_written_into_the_doc_by_a_client_is_not_obeyed(
    engine: Engine, world: AudioStore
) -> None:
    # An editor's client can write any meta: a short period would delete what only an
    # admin may. The relay keeps the period an admin set (PATCH), not the doc's.
    doc = TranscriptDoc.create("acme-1", org_id="acme", retention_days=1)

    async def project() -> None:
        projector = Projector(engine)
        projector.touch("acme-1", doc)
        await projector.flush("acme-1")

    anyio.run(project)
    assert run(engine, world, 2) == 0 and "acme-1" in left(engine)

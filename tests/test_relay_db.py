"""The relay's SQL layer (relay.db) on SQLite and PostgreSQL, and ``minuta db`` and
``minuta users``, run as the installed console script.

Every PostgreSQL test gets a database of its own (``minuta_<random hex>``) on the server
at 127.0.0.1, dropped ``WITH (FORCE)`` afterwards, so the shared ``test`` database is
never touched. CI must reach that server: when it cannot, these tests fail, they do not
skip.

``postgresql://`` URLs mean psycopg 3 (SQLAlchemy alone would pick psycopg2):

>>> from relay.db._schema import normalize_url
>>> normalize_url("postgresql://postgres@127.0.0.1/minuta")
'postgresql+psycopg://postgres@127.0.0.1/minuta'
>>> normalize_url("postgres://u:p@h:5433/db?sslmode=require")
'postgresql+psycopg://u:p@h:5433/db?sslmode=require'
>>> normalize_url("sqlite:////srv/minuta/minuta.sqlite3")
'sqlite:////srv/minuta/minuta.sqlite3'
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from psycopg.rows import TupleRow
from sqlalchemy import URL, Engine, delete, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relay.auth import verify_password
from relay.db import (
    ROLES,
    Action,
    AuditEvent,
    Base,
    DocUpdate,
    NotMigratedError,
    Org,
    Segment,
    Transcript,
    User,
    check_migrated,
    connect,
    default_database_url,
    include_object,
    upgrade,
)
from relay.db._schema import head_revision, normalize_url, writer

MINUTA = Path(sys.executable).parent / "minuta"
PG_HOST_URL = "postgresql://postgres@127.0.0.1"
PG_ADMIN_URL = f"{PG_HOST_URL}/postgres"
HEAD = "0005"
PASSWORD = "correct horse battery"

TABLES: dict[str, set[str]] = {
    "orgs": {"org_id", "name", "retention_days", "created_at"},
    "users": {"user_id", "username", "org_id", "role", "password_hash", "disabled", "created_at"},
    "deleted_transcripts": {"transcript_id", "org_id", "deleted_at"},
    "connectors": {
        "connector_id",
        "org_id",
        "target",
        "name",
        "destination",
        "secret",
        "send",
        "include_transcript",
        "auto",
        "created_by",
        "created_at",
    },
    "connector_pushes": {
        "push_id",
        "connector_id",
        "org_id",
        "transcript_id",
        "item",
        "payload",
        "idempotency_key",
        "state",
        "attempts",
        "next_at",
        "lease_until",
        "last_error",
        "external_id",
        "requested_by",
        "created_at",
        "sent_at",
    },
    "connector_links": {
        "connector_id",
        "transcript_id",
        "item",
        "external_id",
        "digest",
        "updated_at",
    },
    "job_leases": {"job", "transcript_id", "holder", "until"},
    "transcripts": {
        "transcript_id",
        "org_id",
        "title",
        "language",
        "started_at",
        "model",
        "segment_count",
        "duration_s",
        "created_by",
        "retention_days",
        "created_at",
        "updated_at",
    },
    "segments": {
        "transcript_id",
        "segment_id",
        "rev",
        "t0",
        "t1",
        "text",
        "speaker",
        "conf",
        "final",
        "lang",
        "source",
        "edited_by",
        "edited_at",
    },
    "actions": {
        "transcript_id",
        "action_id",
        "text",
        "owner",
        "due",
        "status",
        "conf",
        "segment_ids",
        "origin",
    },
    "audit_events": {"event_id", "at", "org_id", "username", "action", "transcript_id", "detail"},
    "doc_updates": {"seq", "transcript_id", "data", "received_at"},
}


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def engines() -> Iterator[Callable[[str | URL], Engine]]:
    """``connect``, with every engine disposed at the end (before a database is dropped)."""
    made: list[Engine] = []

    def make(url: str | URL) -> Engine:
        made.append(connect(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def engine(db_url: str, engines: Callable[[str | URL], Engine]) -> Engine:
    return engines(db_url)


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    assert upgrade(engine) == (None, HEAD)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    config.attributes["engine"] = engine
    return config


def count(engine: Engine, statement: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(statement) or 0)


# ----------------------------------------------------------------------------- migrations


def test_head_revision() -> None:
    assert head_revision() == HEAD


def test_upgrade_from_empty_then_no_op(engine: Engine) -> None:
    assert upgrade(engine) == (None, HEAD)
    assert upgrade(engine) == (HEAD, HEAD)
    check_migrated(engine)
    tables = {t for t in inspect(engine).get_table_names() if not t.startswith("segment_search")}
    assert tables == {*TABLES, "alembic_version"}


def test_check_migrated_refuses_an_empty_database(engine: Engine) -> None:
    with pytest.raises(NotMigratedError, match="minuta db upgrade") as info:
        check_migrated(engine)
    assert "has no Minuta schema" in str(info.value)
    assert HEAD in str(info.value)
    # Checking creates nothing.
    assert inspect(engine).get_table_names() == []


def test_check_migrated_refuses_an_older_revision(migrated: Engine) -> None:
    with migrated.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(NotMigratedError, match="minuta db upgrade") as info:
        check_migrated(migrated)
    assert "is at migration 0000" in str(info.value)


def test_check_migrated_hides_the_password(
    pg_url: str, engines: Callable[[str | URL], Engine]
) -> None:
    # Trust authentication: the server never asks for the password, so any will do.
    engine = engines(pg_url.replace("postgres@", "postgres:hunter2-secret@"))
    with pytest.raises(NotMigratedError) as info:
        check_migrated(engine)
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


def test_postgresql_urls_use_psycopg_3(pg_url: str, engines: Callable[[str | URL], Engine]) -> None:
    for url in (pg_url, pg_url.replace("postgresql://", "postgres://", 1)):
        engine = engines(url)
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT 1")) == 1


def test_tables_and_columns(migrated: Engine) -> None:
    inspector = inspect(migrated)
    tables = {t for t in inspector.get_table_names() if not t.startswith("segment_search")}
    assert tables == {*TABLES, "alembic_version"}
    for table, columns in TABLES.items():
        found = {c["name"] for c in inspector.get_columns(table)} - {"search", "search_seq"}
        assert found == columns, table
    primary_keys = {t: inspector.get_pk_constraint(t)["constrained_columns"] for t in TABLES}
    assert primary_keys == {
        "orgs": ["org_id"],
        "users": ["user_id"],
        "deleted_transcripts": ["transcript_id"],
        "transcripts": ["transcript_id"],
        "segments": ["transcript_id", "segment_id"],
        "actions": ["transcript_id", "action_id"],
        "audit_events": ["event_id"],
        "doc_updates": ["seq"],
        "connectors": ["connector_id"],
        "connector_pushes": ["push_id"],
        "connector_links": ["connector_id", "transcript_id", "item"],
        "job_leases": ["job", "transcript_id"],
    }
    unique = [u["column_names"] for u in inspector.get_unique_constraints("users")]
    assert unique == [["username"]]
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("doc_updates")}
    assert indexes["ix_doc_updates_transcript_seq"] == ["transcript_id", "seq"]
    for child in ("segments", "actions"):
        (fk,) = inspector.get_foreign_keys(child)
        assert fk["referred_table"] == "transcripts"
        assert fk["constrained_columns"] == ["transcript_id"]
        assert fk["options"].get("ondelete") == "CASCADE"
    for child in ("users", "transcripts"):
        (fk,) = inspector.get_foreign_keys(child)
        assert (fk["referred_table"], fk["constrained_columns"]) == ("orgs", ["org_id"])


def test_the_migration_matches_the_models(migrated: Engine) -> None:
    with migrated.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(migrated: Engine) -> None:
    command.downgrade(alembic_config(migrated), "base")
    assert set(inspect(migrated).get_table_names()) <= {"alembic_version"}
    with pytest.raises(NotMigratedError):
        check_migrated(migrated)
    assert upgrade(migrated) == (None, HEAD)
    check_migrated(migrated)


def test_in_memory_sqlite(engines: Callable[[str | URL], Engine]) -> None:
    engine = engines("sqlite://")
    assert upgrade(engine) == (None, HEAD)
    check_migrated(engine)


# ----------------------------------------------------------------------------- rows


def test_orgs_and_users(migrated: Engine) -> None:
    with Session(migrated) as session, session.begin():
        session.add(Org(org_id="acme", name="Acme Corp"))
        session.flush()
        session.add_all(
            [
                User(username="ana", org_id="acme", role="admin", password_hash="h1"),
                User(username="bob", org_id="acme", role="viewer", password_hash="h2"),
            ]
        )
    with Session(migrated) as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        assert [(u.username, u.org_id, u.role) for u in users] == [
            ("ana", "acme", "admin"),
            ("bob", "acme", "viewer"),
        ]
        assert len({u.user_id for u in users}) == 2
        assert all(u.disabled is False and u.created_at is not None for u in users)
        org = session.get(Org, "acme")
        assert org is not None and org.name == "Acme Corp" and org.created_at is not None


def test_usernames_are_unique(migrated: Engine) -> None:
    with Session(migrated) as session, session.begin():
        session.add_all([Org(org_id="acme", name="acme"), Org(org_id="other", name="other")])
        session.flush()
        session.add(User(username="ana", org_id="acme", role="admin", password_hash="h"))
    with Session(migrated) as session:
        session.add(User(username="ana", org_id="other", role="viewer", password_hash="h"))
        with pytest.raises(IntegrityError):
            session.commit()
    assert count(migrated, select(func.count()).select_from(User)) == 1


def test_a_user_needs_an_existing_org(migrated: Engine) -> None:
    with Session(migrated) as session:
        session.add(User(username="ana", org_id="nowhere", role="admin", password_hash="h"))
        with pytest.raises(IntegrityError):
            session.commit()


def add_transcript(session: Session, transcript_id: str, segments: int, actions: int) -> None:
    session.add(
        Transcript(transcript_id=transcript_id, org_id="acme", title=f"Meeting {transcript_id}")
    )
    session.flush()
    for i in range(segments):
        session.add(
            Segment(
                transcript_id=transcript_id,
                segment_id=f"s{i}",
                rev=1,
                t0=float(i),
                t1=i + 0.5,
                text=f"segment {i}",
                final=True,
                source="asr",
            )
        )
    for i in range(actions):
        session.add(
            Action(
                transcript_id=transcript_id,
                action_id=f"a{i}",
                text=f"action {i}",
                status="open",
                segment_ids=[f"s{i}"],
                origin="worker",
            )
        )


def test_transcript_segments_and_actions_round_trip(migrated: Engine) -> None:
    with Session(migrated) as session, session.begin():
        session.add(Org(org_id="acme", name="acme"))
        session.flush()
        session.add(
            Transcript(
                transcript_id="t1",
                org_id="acme",
                title="Reunión semanal — ñandú",
                language="es",
                started_at="2024-03-01T09:30:00Z",
                model="base",
                segment_count=2,
                duration_s=61.25,
                created_by="ana",
            )
        )
        session.flush()
        session.add(
            Segment(
                transcript_id="t1",
                segment_id="s1",
                rev=3,
                t0=0.25,
                t1=2.5,
                text="¿Dónde está el informe?",
                speaker="Ana",
                conf=0.87,
                final=True,
                lang="es",
                source="human",
                edited_by="bob",
                edited_at="2024-03-01T09:31:00Z",
            )
        )
        session.add(
            Action(
                transcript_id="t1",
                action_id="a1",
                text="Enviar el informe",
                owner="Bob",
                due="2024-03-08",
                status="open",
                conf=0.5,
                segment_ids=["s1", "s2", "ß-ñ"],
                origin="worker",
            )
        )
        session.add(
            Action(transcript_id="t1", action_id="a2", text="x", status="done", origin="human")
        )
    with Session(migrated) as session:
        transcript = session.get(Transcript, "t1")
        assert transcript is not None
        assert (transcript.title, transcript.language, transcript.duration_s) == (
            "Reunión semanal — ñandú",
            "es",
            61.25,
        )
        assert transcript.created_at is not None and transcript.updated_at is not None
        segment = session.get(Segment, ("t1", "s1"))
        assert segment is not None
        assert (segment.text, segment.rev, segment.t0, segment.t1, segment.final) == (
            "¿Dónde está el informe?",
            3,
            0.25,
            2.5,
            True,
        )
        assert (segment.speaker, segment.source, segment.edited_by) == ("Ana", "human", "bob")
        action = session.get(Action, ("t1", "a1"))
        assert action is not None
        assert action.segment_ids == ["s1", "s2", "ß-ñ"]
        default = session.get(Action, ("t1", "a2"))
        assert default is not None and default.segment_ids == [] and default.owner is None


def test_audit_events_with_json_detail(migrated: Engine) -> None:
    detail: dict[str, Any] = {
        "reason": "expired token",
        "n": 3,
        "ratio": 0.5,
        "nested": {"ok": True, "list": [1, 2.5, None, "ñ"]},
    }
    with Session(migrated) as session, session.begin():
        session.add(AuditEvent(org_id="acme", username="ana", action="reject", detail=detail))
        session.add(AuditEvent(action="login"))
    with Session(migrated) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.event_id)).all()
        assert [e.action for e in events] == ["reject", "login"]
        assert events[0].detail == detail
        assert events[1].detail == {}
        assert events[0].event_id < events[1].event_id
        assert all(e.at is not None for e in events)


def test_doc_updates_are_binary_exact_and_ordered(migrated: Engine) -> None:
    blob = random.Random(7).randbytes(5 * 2**20)
    ours = [
        bytes(range(256)),
        b"\x00",
        b"\x00" * 1000 + b"\xff",
        bytes(range(255, -1, -1)),
        b"",
        blob,
        b"\xef\xbb\xbf{not json\r\n",
    ]
    theirs = [b"\x01\x02", b"\xff" * 3]
    with Session(migrated) as session:
        for i, data in enumerate(ours):
            session.add(DocUpdate(transcript_id="t1", data=data))
            if i < len(theirs):
                session.add(DocUpdate(transcript_id="t2", data=theirs[i]))
            session.commit()  # one row per commit, as updates arrive
    with Session(migrated) as session:
        rows = session.execute(
            select(DocUpdate.seq, DocUpdate.data)
            .where(DocUpdate.transcript_id == "t1")
            .order_by(DocUpdate.seq)
        ).all()
        assert [bytes(row.data) for row in rows] == ours
        seqs = [row.seq for row in rows]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        other = session.scalars(
            select(DocUpdate.data).where(DocUpdate.transcript_id == "t2").order_by(DocUpdate.seq)
        ).all()
        assert [bytes(d) for d in other] == theirs
        first = session.scalars(select(DocUpdate).order_by(DocUpdate.seq)).first()
        assert first is not None and first.received_at is not None


def test_deleting_a_transcript_cascades(migrated: Engine) -> None:
    with Session(migrated) as session, session.begin():
        session.add(Org(org_id="acme", name="acme"))
        session.flush()
        add_transcript(session, "t1", segments=3, actions=2)
        add_transcript(session, "t2", segments=2, actions=1)
    with Session(migrated) as session, session.begin():
        session.execute(delete(Transcript).where(Transcript.transcript_id == "t1"))

    def rows(model: type[Segment] | type[Action], transcript_id: str) -> int:
        return count(
            migrated,
            select(func.count()).select_from(model).where(model.transcript_id == transcript_id),
        )

    assert (rows(Segment, "t1"), rows(Action, "t1")) == (0, 0)
    assert (rows(Segment, "t2"), rows(Action, "t2")) == (2, 1)


def test_a_segment_needs_its_transcript(migrated: Engine) -> None:
    with Session(migrated) as session:
        session.add(
            Segment(
                transcript_id="ghost",
                segment_id="s1",
                rev=1,
                t0=0.0,
                t1=1.0,
                text="x",
                final=True,
                source="asr",
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


# ----------------------------------------------------------------------------- SQLite


def test_sqlite_pragmas_on_every_connection(
    tmp_path: Path, engines: Callable[[str | URL], Engine]
) -> None:
    engine = engines(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert connection.scalar(text("PRAGMA synchronous")) == 2  # FULL
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1


def test_sqlite_writers_of_one_process_queue_on_a_lock_not_in_the_busy_handler(
    tmp_path: Path, engines: Callable[[str | URL], Engine]
) -> None:
    # SQLite's busy handler sleeps in growing steps (a 20 ms transaction cost the next
    # writer 33 ms): with it switched off, a second writer fails at once with "database
    # is locked" unless it waits on the process's lock instead.
    engine = engines(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")

    @event.listens_for(engine, "connect")
    def no_busy_handler(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")

    engine.dispose()  # the connections to come get the pragma
    holding, waiter_done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def second_writer() -> None:
        holding.wait()
        try:
            with writer(engine).begin() as connection:
                connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        except BaseException as exc:
            failures.append(exc)
        waiter_done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    with writer(engine).begin() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        holding.set()
        # The second writer is blocked for as long as this transaction lasts.
        assert not waiter_done.wait(0.3)
    thread.join(timeout=10)
    assert failures == []
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT x FROM t ORDER BY rowid").scalars().all() == [
            1,
            2,
        ]


def test_a_failed_sqlite_write_lets_the_next_writer_go(
    tmp_path: Path, engines: Callable[[str | URL], Engine]
) -> None:
    engine = engines(f"sqlite:///{tmp_path / 'failed.sqlite3'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER NOT NULL)")
    with pytest.raises(Exception, match="NOT NULL"), writer(engine).begin() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (NULL)")
    done = threading.Event()

    def other_writer() -> None:
        with writer(engine).begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        done.set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    thread.join(timeout=20)
    assert done.is_set()


def test_sqlite_connect_creates_the_folder(
    tmp_path: Path, engines: Callable[[str | URL], Engine]
) -> None:
    path = tmp_path / "a" / "b c" / "relay.sqlite3"
    engine = engines(f"sqlite:///{path}")
    assert upgrade(engine) == (None, HEAD)
    assert path.is_file()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u:p%40ss@h:5433/db", "postgresql+psycopg://u:p%40ss@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///relative.sqlite3", "sqlite:///relative.sqlite3"),
        ("sqlite://", "sqlite://"),
        ("mysql://u@h/postgresql://", "mysql://u@h/postgresql://"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_default_database_url_points_into_the_data_dir(
    tmp_path: Path, engines: Callable[[str | URL], Engine]
) -> None:
    url = default_database_url(tmp_path)
    assert url.database == str(tmp_path.resolve() / "minuta.sqlite3")
    assert make_url(url).database == str(tmp_path.resolve() / "minuta.sqlite3")
    upgrade(engines(url))
    assert (tmp_path / "minuta.sqlite3").is_file()


def test_default_database_url_resolves_a_relative_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = default_database_url(Path("data"))
    assert make_url(url).database == str(tmp_path.resolve() / "data" / "minuta.sqlite3")


@pytest.mark.parametrize(
    "name",
    [
        "relay data",
        "ñandú",
        "hash#tag",
        "what?",
        "100%41",
    ],
)
def test_default_database_url_with_odd_folder_names(
    tmp_path: Path, name: str, engines: Callable[[str | URL], Engine]
) -> None:
    data_dir = tmp_path / name
    url = default_database_url(data_dir)
    assert make_url(url).database == str(data_dir.resolve() / "minuta.sqlite3")
    upgrade(engines(url))
    assert (data_dir / "minuta.sqlite3").is_file()


# ----------------------------------------------------------------------------- command line


# Warnings are errors in the commands too.
WARNINGS = "error"


def minuta(
    *args: str | Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    warnings: str = WARNINGS,
) -> subprocess.CompletedProcess[str]:
    """Run ``minuta`` with a clean relay environment (plus ``env``) and no terminal."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MINUTA_PASSWORD", "DATABASE_URL", "MINUTA_DATA_DIR")
    }
    return subprocess.run(
        [str(MINUTA), *map(str, args)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**base, "PYTHONWARNINGS": warnings, "PYTHONIOENCODING": "utf-8", **(env or {})},
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], command: str) -> str:
    """Exit status 2, one line on stderr, no traceback, nothing on stdout."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stdout == ""
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"minuta {command}: error: "), result.stderr
    return result.stderr


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def add_user(
    target: Sequence[str | Path],
    username: str = "ana",
    *,
    password: str | None = PASSWORD,
    **kw: str,
) -> subprocess.CompletedProcess[str]:
    args = [
        "users",
        "add",
        username,
        "--org",
        kw.get("org", "acme"),
        "--role",
        kw.get("role", "editor"),
        *target,
    ]
    return minuta(*args, env=None if password is None else {"MINUTA_PASSWORD": password})


@pytest.mark.parametrize(
    "command", [["db"], ["db", "upgrade"], ["users"], ["users", "add"]], ids=" ".join
)
def test_help(command: list[str]) -> None:
    out = assert_ok(minuta(*command, "--help"))
    assert out.startswith(f"usage: minuta {' '.join(command)}")
    if command[-1] in ("upgrade", "add"):
        assert "--data-dir" in out and "--database-url" in out


def test_db_upgrade_data_dir(tmp_path: Path, engines: Callable[[str | URL], Engine]) -> None:
    data_dir = tmp_path / "relay data"
    out = assert_ok(minuta("db", "upgrade", "--data-dir", data_dir))
    assert out.startswith("Upgraded ") and f"from empty to migration {HEAD}" in out
    assert str(data_dir.resolve() / "minuta.sqlite3") in out
    assert (data_dir / "minuta.sqlite3").is_file()
    out = assert_ok(minuta("db", "upgrade", "--data-dir", data_dir))
    assert f"up to date (migration {HEAD})" in out
    check_migrated(engines(default_database_url(data_dir)))


def test_db_upgrade_postgresql(pg_url: str, engines: Callable[[str | URL], Engine]) -> None:
    out = assert_ok(minuta("db", "upgrade", "--database-url", pg_url))
    assert "Upgraded postgresql+psycopg://postgres@127.0.0.1/" in out
    assert f"from empty to migration {HEAD}" in out
    check_migrated(engines(pg_url))
    assert f"up to date (migration {HEAD})" in assert_ok(
        minuta("db", "upgrade", "--database-url", pg_url)
    )


def test_db_upgrade_hides_the_password(pg_url: str) -> None:
    url = pg_url.replace("postgres@", "postgres:hunter2-secret@")
    out = assert_ok(minuta("db", "upgrade", "--database-url", url))
    assert "hunter2" not in out and "***" in out


def test_db_upgrade_defaults_to_data_in_the_working_dir(tmp_path: Path) -> None:
    assert_ok(minuta("db", "upgrade", cwd=tmp_path))
    assert (tmp_path / "data" / "minuta.sqlite3").is_file()


def test_db_upgrade_honours_minuta_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "from-env"
    assert_ok(minuta("db", "upgrade", env={"MINUTA_DATA_DIR": str(data_dir)}, cwd=tmp_path))
    assert (data_dir / "minuta.sqlite3").is_file()
    assert not (tmp_path / "data").exists()


def test_database_url_wins_over_the_data_dir(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'env.sqlite3'}",
        "MINUTA_DATA_DIR": str(tmp_path / "data-dir"),
    }
    assert_ok(minuta("db", "upgrade", env=env))
    assert (tmp_path / "env.sqlite3").is_file()
    assert not (tmp_path / "data-dir").exists()
    # The option wins over the environment.
    flag = f"sqlite:///{tmp_path / 'flag.sqlite3'}"
    assert "from empty" in assert_ok(minuta("db", "upgrade", "--database-url", flag, env=env))
    assert (tmp_path / "flag.sqlite3").is_file()


def test_database_url_env_with_postgresql(
    pg_url: str, engines: Callable[[str | URL], Engine]
) -> None:
    assert "Upgraded" in assert_ok(minuta("db", "upgrade", env={"DATABASE_URL": pg_url}))
    check_migrated(engines(pg_url))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1/minuta_missing_{hex}",
        "nosuchdriver://x",
        "not a url",
        "sqlite:///{tmp}/not-a-database.sqlite3",
        "mysql+mysqldb://u@127.0.0.1/x",
        "postgresql+psycopg2://postgres@127.0.0.1/x",
    ],
    ids=["missing-pg-db", "no-such-driver", "not-a-url", "not-sqlite", "mysql", "psycopg2"],
)
def test_db_upgrade_bad_url(url: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "127.0.0.1" in url:
        request.getfixturevalue("pg_admin")  # the server is there; only the database is not
    (tmp_path / "not-a-database.sqlite3").write_bytes(b"this is not SQLite\n" * 100)
    url = url.format(hex=secrets.token_hex(8), tmp=tmp_path)
    stderr = assert_one_line_error(minuta("db", "upgrade", "--database-url", url), "db")
    assert "cannot upgrade the database" in stderr or "cannot use the database URL" in stderr


def test_users_add(
    request: pytest.FixtureRequest,
    db_url: str,
    tmp_path: Path,
    engines: Callable[[str | URL], Engine],
) -> None:
    if db_url.startswith("sqlite"):
        data_dir = tmp_path / "data"
        target: list[str | Path] = ["--data-dir", data_dir]
        url: str | URL = default_database_url(data_dir)
    else:
        target, url = ["--database-url", db_url], db_url
    assert_ok(minuta("db", "upgrade", *target))

    result = add_user(target)
    assert assert_ok(result) == "Added ana to acme as editor.\n"
    assert PASSWORD not in result.stdout + result.stderr

    engine = engines(url)
    with Session(engine) as session:
        user = session.scalars(select(User).where(User.username == "ana")).one()
        assert (user.org_id, user.role, user.disabled) == ("acme", "editor", False)
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, PASSWORD)
        assert not verify_password(user.password_hash, PASSWORD + "!")
        org = session.get(Org, "acme")
        assert org is not None and org.name == "acme"

    # A second user joins the same org; a third creates another.
    assert_ok(add_user(target, "bob", role="viewer"))
    assert_ok(add_user(target, "carla", org="globex", role="admin"))

    # A duplicate username is refused, and changes nothing (not even its new org).
    stderr = assert_one_line_error(add_user(target, "ana", org="initech", role="viewer"), "users")
    assert "'ana' exists already" in stderr
    with Session(engine) as session:
        assert sorted(session.scalars(select(Org.org_id)).all()) == ["acme", "globex"]
        users = session.execute(
            select(User.username, User.org_id, User.role).order_by(User.username)
        )
        assert [tuple(u) for u in users] == [
            ("ana", "acme", "editor"),
            ("bob", "acme", "viewer"),
            ("carla", "globex", "admin"),
        ]


def test_users_add_strips_the_username(
    tmp_path: Path, engines: Callable[[str | URL], Engine]
) -> None:
    target = ["--data-dir", str(tmp_path)]
    assert_ok(minuta("db", "upgrade", *target))
    assert assert_ok(add_user(target, "  dana ")) == "Added dana to acme as editor.\n"
    with Session(engines(default_database_url(tmp_path))) as session:
        assert session.scalars(select(User.username)).all() == ["dana"]


@pytest.fixture(scope="module")
def migrated_dir(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A migrated SQLite data dir, shared by the tests of refusals (which add nobody)."""
    target = ["--data-dir", str(tmp_path_factory.mktemp("migrated") / "data")]
    assert_ok(minuta("db", "upgrade", *target))
    return target


def no_users(target: list[str]) -> bool:
    engine = connect(default_database_url(Path(target[1])))
    try:
        return count(engine, select(func.count()).select_from(User)) == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("password", ["short", "1234567", ""])
def test_users_add_short_password(migrated_dir: list[str], password: str) -> None:
    stderr = assert_one_line_error(add_user(migrated_dir, password=password), "users")
    assert "at least 8 characters" in stderr
    assert no_users(migrated_dir)


@pytest.mark.parametrize("username", ["   ", "x" * 129])
def test_users_add_bad_username(migrated_dir: list[str], username: str) -> None:
    stderr = assert_one_line_error(add_user(migrated_dir, username), "users")
    assert "1 to 128 characters" in stderr
    assert no_users(migrated_dir)


def test_users_add_invalid_role(migrated_dir: list[str]) -> None:
    assert "owner" not in ROLES
    result = add_user(migrated_dir, role="owner")
    assert result.returncode == 2
    assert "invalid choice: 'owner'" in result.stderr
    assert "Traceback" not in result.stderr
    assert no_users(migrated_dir)


def test_users_add_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    stderr = assert_one_line_error(add_user(["--data-dir", str(tmp_path)]), "users")
    assert "minuta db upgrade" in stderr
    assert "has no Minuta schema" in stderr


def test_users_add_refuses_an_unmigrated_postgresql_database(
    pg_url: str, engines: Callable[[str | URL], Engine]
) -> None:
    stderr = assert_one_line_error(add_user(["--database-url", pg_url]), "users")
    assert "minuta db upgrade" in stderr
    assert inspect(engines(pg_url)).get_table_names() == []


def test_users_add_without_password_or_terminal(migrated_dir: list[str]) -> None:
    stderr = assert_one_line_error(add_user(migrated_dir, password=None), "users")
    assert "MINUTA_PASSWORD" in stderr
    assert no_users(migrated_dir)


def test_users_add_missing_postgresql_database(pg_admin: psycopg.Connection[TupleRow]) -> None:
    url = f"{PG_HOST_URL}/minuta_missing_{secrets.token_hex(8)}"
    stderr = assert_one_line_error(add_user(["--database-url", url]), "users")
    assert "does not exist" in stderr


def test_users_add_no_such_driver() -> None:
    assert_one_line_error(add_user(["--database-url", "nosuchdriver://x"]), "users")


def test_users_add_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    assert_one_line_error(add_user(["--data-dir", str(tmp_path / "a-file" / "data")]), "users")


def test_db_upgrade_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    result = minuta("db", "upgrade", "--data-dir", tmp_path / "a-file" / "data")
    assert "cannot upgrade the database" in assert_one_line_error(result, "db")


def test_users_add_driver_not_installed() -> None:
    assert_one_line_error(add_user(["--database-url", "mysql+mysqldb://u@127.0.0.1/x"]), "users")


def test_commands_close_their_connections(pg_url: str) -> None:
    target = ["--database-url", pg_url]
    assert_ok(minuta("db", "upgrade", *target, warnings="error"))
    result = minuta(
        "users",
        "add",
        "ana",
        "--org",
        "acme",
        "--role",
        "admin",
        *target,
        env={"MINUTA_PASSWORD": PASSWORD},
        warnings="error",
    )
    assert assert_ok(result) == "Added ana to acme as admin.\n"

"""Connecting to the database, and keeping its schema at the migrations' head.

SQLite (a file in the data dir) is the embedded default and needs no server; PostgreSQL
is for production. The relay refuses a database that ``minuta db upgrade`` has not
brought to the latest migration, rather than guessing at its shape.
"""

from __future__ import annotations

import threading
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

# SQL errors (and their tracebacks, which are logged) name no parameters: those are the
# transcripts' texts, titles and names (issue 17: no transcript text in the logs).
HIDE_PARAMETERS = True
# How long a writer queues on this process's lock before it leaves the wait to SQLite.
WRITE_LOCK_WAIT_S = 30.0


class NotMigratedError(Exception):
    """The database's schema is missing or older than this version of Minuta."""


class DatabaseUrlError(ValueError):
    """A database URL that cannot be used (bad syntax, or its driver is not installed)."""


def default_database_url(data_dir: Path) -> URL:
    """The embedded SQLite file in the data folder, as a URL object: a folder name with
    ``?`` or ``%`` in it must not be read as URL syntax."""
    return URL.create("sqlite", database=str(Path(data_dir).resolve() / "minuta.sqlite3"))


class _WriterQueue:
    """SQLite makes a writer that finds the database locked sleep and retry, in steps of
    1, 2, 5, 10, 15, 20, 25 ms...: behind a 20 ms transaction it waited 33 ms, behind 40 ms
    54 ms (measured here), and a projection of a long transcript held up every room's
    ACKs that long. This process's writers queue on a lock instead, handed over at once;
    other processes (a CLI command) still meet the busy handler. Each thread holds it
    from its BEGIN IMMEDIATE until its connection is back in the pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held = threading.local()

    def enter(self) -> None:
        if not getattr(self._held, "yes", False) and self._lock.acquire(
            timeout=WRITE_LOCK_WAIT_S
        ):  # after the wait, SQLite's own handler decides
            self._held.yes = True

    def leave(self) -> None:
        if getattr(self._held, "yes", False):
            self._held.yes = False
            self._lock.release()


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2).

    Example:
        >>> normalize_url("postgres://u@h/db")
        'postgresql+psycopg://u@h/db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def connect(url: str | URL) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and its folder created.

    Raises:
        DatabaseUrlError: the URL is malformed or names a driver that is not installed.
    """
    try:
        return _connect(make_url(normalize_url(url)) if isinstance(url, str) else url)
    except (ArgumentError, ModuleNotFoundError) as exc:
        shown = url if isinstance(url, str) else url.render_as_string(hide_password=True)
        raise DatabaseUrlError(f"cannot use the database URL {shown}: {exc}") from None


def _connect(url: URL) -> Engine:
    parsed = url
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        if not in_memory:
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            hide_parameters=HIDE_PARAMETERS,
            # Wait for another writer (another thread, or a relay restarting after a
            # crash) rather than failing at once.
            connect_args={"check_same_thread": False, "timeout": 30},
            # One shared connection, or each would see its own empty in-memory database.
            **({"poolclass": StaticPool} if in_memory else {}),
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # SQLAlchemy, not the driver, starts transactions (see _begin).
            dbapi_connection.isolation_level = None

        writers = None if in_memory else _WriterQueue()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # A deferred transaction that reads and then writes fails at once with
            # "database is locked" (no waiting) when another connection wrote in between;
            # writers that read first ask for the write lock up front.
            mode = connection.get_execution_options().get("sqlite_begin", "")
            if mode == "IMMEDIATE" and writers is not None:
                writers.enter()
            connection.exec_driver_sql(f"BEGIN {mode}".strip())

        if writers is not None:
            # After the commit or rollback the connection goes back to the pool (or is
            # dropped after an error): the next writer may go.
            event.listen(engine, "checkin", lambda *_: writers.leave())
            event.listen(engine, "invalidate", lambda *_: writers.leave())

        return engine
    # No server-side prepared statements (psycopg prepares a query run 5 times): their
    # generic plan does not know the values, and chose to read every match of a search
    # term through its index, 23 s where the planned query took 31 ms.
    return create_engine(
        url,
        pool_pre_ping=True,
        hide_parameters=HIDE_PARAMETERS,
        connect_args={"prepare_threshold": None},
    )


def writer(engine: Engine) -> Engine:
    """``engine`` for a transaction that reads and then writes (SQLite: BEGIN IMMEDIATE).

    Example:
        >>> writer(connect("sqlite://")).get_execution_options()["sqlite_begin"]
        'IMMEDIATE'
    """
    return engine.execution_options(sqlite_begin="IMMEDIATE")


# What migration 0005 made for search that the ORM models do not describe: SQLite's FTS5
# table (and the shadow tables FTS5 keeps, segment_search_*), PostgreSQL's
# ``segments.search`` and ``search_seq`` columns and their indexes.
SEARCH_OBJECTS = (
    "segment_search",
    "search",
    "search_seq",
    "ix_segments_search",
    "ix_segments_search_seq",
    "ix_segments_speaker",
    "ix_segments_trgm",
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For alembic's comparisons: leave out the search index's own objects."""
    if reflected and compare_to is None and name is not None:
        return not (name in SEARCH_OBJECTS or name.startswith("segment_search_"))
    return True


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config(create_engine("sqlite://"))).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Run every pending migration; returns (revision before, revision now)."""
    before = current_revision(engine)
    command.upgrade(_config(engine), "head")
    return before, head_revision()


def check_migrated(engine: Engine) -> None:
    """Raise NotMigratedError unless the schema is at the latest migration."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        state = "has no Minuta schema" if current is None else f"is at migration {current}"
        raise NotMigratedError(
            f"the database {where} {state}, this relay needs {head}: run `minuta db upgrade`"
        )

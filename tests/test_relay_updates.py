"""The relay's update log: group commit, order, durability, compaction, failures.

Runs against SQLite and a fresh PostgreSQL database (CI runs the server; an unreachable
one fails the tests rather than skipping them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import psycopg
import pytest
from pycrdt import Doc, Text, merge_updates
from sqlalchemy import Engine, text

from relay.db import connect, upgrade
from relay.updates import LogClosedError, UpdateLog

PG_ADMIN = "postgresql://postgres@127.0.0.1/postgres"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'relay.sqlite3'}"
        return
    name = f"minuta_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL must run on 127.0.0.1:5432 for these tests: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = connect(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_concurrent_appends_are_all_stored_in_order_with_few_commits(engine: Engine) -> None:
    async def main() -> UpdateLog:
        async with UpdateLog(engine) as log:

            async def client(n: int) -> None:
                for k in range(20):
                    seq = await log.append(f"t-{n % 5}", f"{n}:{k}".encode())
                    sent[(n, k)] = seq

            async with anyio.create_task_group() as tg:
                for n in range(50):
                    tg.start_soon(client, n)
            return log

    sent: dict[tuple[int, int], int] = {}
    log = anyio.run(main)
    assert len(sent) == 1000 and len(set(sent.values())) == 1000
    assert log.appended == 1000
    assert log.commits < 1000  # grouped, not one transaction per update

    async def read() -> list[list[bytes]]:
        async with UpdateLog(engine) as fresh:
            return [await fresh.load(f"t-{i}") for i in range(5)]

    stored = anyio.run(read)
    assert sum(len(rows) for rows in stored) == 1000
    for rows in stored:
        # Per client, the order of its appends is the order of the log.
        by_client: dict[str, list[int]] = {}
        for row in rows:
            n, k = row.decode().split(":")
            by_client.setdefault(n, []).append(int(k))
        assert all(ks == sorted(ks) for ks in by_client.values())


def test_binary_updates_round_trip(engine: Engine) -> None:
    blobs = [bytes(range(256)), b"\x00" * 10, os.urandom(5 * 2**20)]

    async def main() -> list[bytes]:
        async with UpdateLog(engine) as log:
            for blob in blobs:
                await log.append("t-bin", blob)
            return await log.load("t-bin")

    assert anyio.run(main) == blobs


def test_a_clean_close_commits_what_was_queued(engine: Engine) -> None:
    async def main() -> None:
        async with UpdateLog(engine, max_delay_s=0.05) as log, anyio.create_task_group() as tg:
            for k in range(100):
                tg.start_soon(log.append, "t-close", str(k).encode())

    anyio.run(main)

    async def read() -> list[bytes]:
        async with UpdateLog(engine) as log:
            return await log.load("t-close")

    assert sorted(int(r) for r in anyio.run(read)) == list(range(100))


def test_append_after_close_is_refused(engine: Engine) -> None:
    async def main() -> None:
        async with UpdateLog(engine) as log:
            pass
        await log.append("t", b"x")

    with pytest.raises(LogClosedError, match="closed"):
        anyio.run(main)


def test_compaction_keeps_the_doc_and_later_updates(engine: Engine) -> None:
    doc: Doc[Text] = Doc()
    text_type = doc.get("t", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for word in ["uno ", "dos ", "tres ", "cuatro "]:
        text_type.insert(len(text_type), word)

    async def main() -> list[bytes]:
        async with UpdateLog(engine) as log:
            seqs = [await log.append("t-c", u) for u in updates]
            await log.compact("t-c", merge_updates(*updates[:3]), seqs[2])
            return await log.load("t-c")

    rows = anyio.run(main)
    assert len(rows) == 2
    replay: Doc[Text] = Doc()
    for row in rows:
        replay.apply_update(row)
    assert str(replay.get("t", type=Text)) == "uno dos tres cuatro "


def test_a_failed_commit_is_reported_to_every_waiter(engine: Engine, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        # A read-only transaction stands in for a full disk on PostgreSQL.
        engine = engine.execution_options(postgresql_readonly=True)
    else:
        with engine.begin() as connection:
            pages = connection.execute(text("PRAGMA page_count")).scalar()
            connection.execute(text(f"PRAGMA max_page_count = {pages}"))

    async def main() -> list[BaseException]:
        errors: list[BaseException] = []
        async with UpdateLog(engine) as log:

            async def one(k: int) -> None:
                try:
                    await log.append("t-full", os.urandom(200_000) + bytes([k]))
                except LogClosedError as exc:
                    errors.append(exc)

            async with anyio.create_task_group() as tg:
                for k in range(5):
                    tg.start_soon(one, k)
        return errors

    errors = anyio.run(main)
    assert len(errors) == 5
    assert all("not stored" in str(e) for e in errors)


def test_acknowledged_updates_survive_kill_9(database_url: str, engine: Engine) -> None:
    """A child appends and prints each seq once append() returned; SIGKILL it mid-way."""
    script = textwrap.dedent(
        f"""
        import anyio, sys
        from relay.db import connect
        from relay.updates import UpdateLog

        async def main():
            async with UpdateLog(connect({database_url!r})) as log:
                for k in range(100_000):
                    seq = await log.append("t-kill", str(k).encode())
                    print(k, flush=True)

        anyio.run(main)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    acked = []
    for line in child.stdout:
        acked.append(int(line))
        if len(acked) >= 300:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()

    async def read() -> list[bytes]:
        async with UpdateLog(engine) as log:
            return await log.load("t-kill")

    stored = {int(r) for r in anyio.run(read)}
    assert set(acked) <= stored

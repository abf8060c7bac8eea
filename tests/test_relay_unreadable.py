"""A real relay keeps serving a transcript whatever an editor wrote into it (issue items 1
and 3): malformed parts are left out and listed, the flat seed form is read, nothing
crashes the process, and the REST routes and the SQL projection keep working.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from _relay import RelayProcess as Relay
from _relay import connected, metric, running, wait_until
from _unreadable import (
    BAD_ACTIONS,
    BAD_SEGMENTS,
    FLAT_SEGMENTS,
    GOOD_TEXT,
    every_bad_write,
    write_good,
)
from sqlalchemy import text

from engine import FORMATS, TranscriptDoc
from relay.db import connect

READABLE = {"good-1", *FLAT_SEGMENTS}
WORKERS_NOW = ["--workers-finals", "1", "--workers-wait", "0.2", "0.5"]


@pytest.fixture
def relay(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Relay]:
    with running(tmp_path_factory, database_url, WORKERS_NOW) as server:
        yield server


def sql_segments(database_url: str, transcript_id: str) -> dict[str, tuple[Any, ...]]:
    engine = connect(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT segment_id, t0, t1, conf, text FROM segments WHERE transcript_id = :t"
                ),
                {"t": transcript_id},
            )
            return {str(r[0]): tuple(r[1:]) for r in rows}
    finally:
        engine.dispose()


def words_of(body: str) -> str:
    return " ".join(body.split())


def no_constant(name: str) -> Any:
    raise AssertionError(f"{name} in a JSON answer")


async def write(url: str, changes: list[Any]) -> None:
    async with connected(url) as client:
        for change in changes:
            await client.change(change)
        await wait_until(client.acked)


def check_routes(relay: Relay, token: str, transcript_id: str, readable: set[str]) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{relay.url}/transcripts/{transcript_id}"
    for fmt in FORMATS:
        answer = httpx.get(f"{base}/export", params={"fmt": fmt}, headers=auth)
        assert answer.status_code == 200, (fmt, answer.text[:300])
        body = words_of(answer.text)
        assert GOOD_TEXT in body and all(t in body for _, t in FLAT_SEGMENTS.values()), fmt
    data = json.loads(
        httpx.get(f"{base}/export", params={"fmt": "json"}, headers=auth).text,
        parse_constant=no_constant,
    )
    assert {s["segment_id"] for s in data["segments"]} == readable
    listed = {(u["root"], u["key"]) for u in data["unreadable"]}
    assert {k for r, k in listed if r == "segments"} == set(BAD_SEGMENTS)
    assert {k for r, k in listed if r == "actions"} == set(BAD_ACTIONS)
    for route in ("summary", "actions"):
        answer = httpx.get(f"{base}/{route}", headers=auth)
        assert answer.status_code == 200, (route, answer.text[:300])
        json.loads(answer.text, parse_constant=no_constant)
    actions = httpx.get(f"{base}/actions", headers=auth).json()
    assert "a-good" in {a["action_id"] for a in actions}
    regenerated = httpx.post(f"{base}/summary", headers=auth)
    assert regenerated.status_code == 200, regenerated.text[:300]
    assert isinstance(regenerated.json(), dict)


async def until_projected(
    relay: Relay, database_url: str, transcript_id: str, ids: set[str]
) -> dict[str, tuple[Any, ...]]:
    async def projected() -> dict[str, tuple[Any, ...]]:
        return await anyio.to_thread.run_sync(sql_segments, database_url, transcript_id)

    with anyio.fail_after(30):
        while set(rows := await projected()) != ids:
            assert relay.running, "the relay exited"
            await anyio.sleep(0.2)
    return rows


def test_malformed_editor_updates_neither_crash_the_relay_nor_poison_the_transcript(
    relay: Relay, database_url: str
) -> None:
    token = relay.login("ana")["access_token"]
    transcript_id = relay.create_transcript(token)

    async def main() -> None:
        url = f"{relay.ws}/sync/{transcript_id}?token={token}"
        await write(url, [write_good, *every_bad_write()])
        rows = await until_projected(relay, database_url, transcript_id, READABLE)
        assert all(math.isfinite(v) for row in rows.values() for v in row[:3] if v is not None)
        assert rows["flat-str"][3] == "texto plano del cliente"
        await wait_until(lambda: metric(relay, "minuta_worker_runs_total") >= 1, 30)

    anyio.run(main)
    assert relay.running
    assert metric(relay, 'minuta_unreadable_total{root="segments"}') == len(BAD_SEGMENTS)
    assert metric(relay, 'minuta_unreadable_total{root="actions"}') == len(BAD_ACTIONS)
    check_routes(relay, token, transcript_id, READABLE)
    row = httpx.get(
        f"{relay.url}/transcripts/{transcript_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert row["segment_count"] == len(READABLE)
    assert relay.running
    first_run = relay.stop()
    assert "Traceback" not in first_run, first_run[-3000:]

    # Restarted, the relay loads the same doc; the next edit must not stop it either.
    relay.start()

    def more(doc: TranscriptDoc) -> None:
        doc.upsert_segment("good-2", rev=1, text="Y otra cosa.", t0=30.0, t1=31.0, final=True)

    async def after_restart() -> None:
        await write(f"{relay.ws}/sync/{transcript_id}?token={token}", [more])
        await until_projected(relay, database_url, transcript_id, READABLE | {"good-2"})
        await wait_until(lambda: metric(relay, "minuta_worker_runs_total") >= 1, 30)

    anyio.run(after_restart)
    assert relay.running
    check_routes(relay, token, transcript_id, READABLE | {"good-2"})
    second_run = relay.stop()
    assert "Traceback" not in second_run, second_run[-3000:]

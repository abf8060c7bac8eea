"""The relay on a real Hypercorn server (port 0, a subprocess), with websocket clients."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import anyio
import httpx
import pytest
import websockets
from _relay import RelayProcess as Relay
from _relay import SyncClient, prepare, relay_env, wait_until


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return relay_env()


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[Relay]:
    """One relay for the module (each test makes its own transcripts)."""
    data = tmp_path_factory.mktemp("relay") / "data"
    server = Relay(data, env, prepare(data, env)).start()
    yield server
    if server.running:
        server.stop()


def login(relay: Relay, username: str) -> dict[str, Any]:
    return relay.login(username)


def create_transcript(relay: Relay, token: str, title: str = "Reunión") -> str:
    return relay.create_transcript(token, title)


def test_login_refresh_and_transcripts_are_org_scoped(relay: Relay) -> None:
    tokens = login(relay, "ana")
    assert set(tokens) >= {"access_token", "refresh_token"}
    renewed = httpx.post(
        f"{relay.url}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert renewed.status_code == 200
    bad = httpx.post(f"{relay.url}/auth/login", json={"username": "ana", "password": "nope nope"})
    assert bad.status_code == 401 and "error" in bad.json()
    transcript_id = create_transcript(relay, tokens["access_token"])
    ana = {"Authorization": f"Bearer {tokens['access_token']}"}
    listed = httpx.get(f"{relay.url}/transcripts", headers=ana).json()["items"]
    assert [t["transcript_id"] for t in listed] == [transcript_id]
    zed = {"Authorization": f"Bearer {login(relay, 'zed')['access_token']}"}
    assert httpx.get(f"{relay.url}/transcripts/{transcript_id}", headers=zed).status_code == 404
    assert httpx.get(f"{relay.url}/transcripts", headers=zed).json()["items"] == []
    assert httpx.get(f"{relay.url}/transcripts").status_code == 401
    viewer = {"Authorization": f"Bearer {login(relay, 'vi')['access_token']}"}
    assert (
        httpx.post(f"{relay.url}/transcripts", json={"title": "x"}, headers=viewer).status_code
        == 403
    )


def test_two_clients_co_edit_and_every_update_is_acked(relay: Relay) -> None:
    token = login(relay, "ana")["access_token"]
    transcript_id = create_transcript(relay, token)

    async def main() -> tuple[SyncClient, SyncClient]:
        url = f"{relay.ws}/sync/{transcript_id}?token={token}"
        async with websockets.connect(url) as ws_a, websockets.connect(url) as ws_b:
            a, b = SyncClient(ws_a), SyncClient(ws_b)
            async with anyio.create_task_group() as tg:
                tg.start_soon(a.run)
                tg.start_soon(b.run)
                await a.synced.wait()
                await b.synced.wait()
                await a.change(
                    lambda d: d.upsert_segment(
                        "s1", rev=1, text="hola a todos", t0=0, t1=1, final=True
                    )
                )
                await wait_until(lambda: b.doc.segment_ids() == ["s1"])
                await b.change(lambda d: d.set_text("s1", "Hola a todos", user="bo"))
                await wait_until(lambda: a.doc.snapshot()["segments"][0]["text"] == "Hola a todos")
                tg.cancel_scope.cancel()
            return a, b

    a, b = anyio.run(main)
    assert a.doc.snapshot() == b.doc.snapshot()
    assert a.doc.snapshot()["meta"]["title"] == "Reunión"
    assert len(a.acks) >= 1 and len(b.acks) >= 1


async def close_code(url: str, frames: list[bytes] = []) -> int | None:  # noqa: B006
    async with websockets.connect(url) as ws:
        for frame in frames:
            await ws.send(frame)
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass
        return ws.close_code


def test_the_auth_matrix_closes_with_the_right_codes(relay: Relay) -> None:
    token = login(relay, "ana")["access_token"]
    transcript_id = create_transcript(relay, token)
    base = f"{relay.ws}/sync/{transcript_id}"
    expired = relay.token("ana", "acme", "editor", minutes=16)
    zed = login(relay, "zed")["access_token"]
    assert anyio.run(close_code, base) == 4401
    assert anyio.run(close_code, f"{base}?token=garbage") == 4401
    assert anyio.run(close_code, f"{base}?token={expired}") == 4401
    assert anyio.run(close_code, f"{base}?token={zed}") == 4403
    assert anyio.run(close_code, f"{relay.ws}/sync/no-such-id?token={token}") == 4404
    assert anyio.run(close_code, f"{base}?token={token}", [b"\x07\x00"]) == 4400


def test_a_viewer_is_told_and_its_writes_are_dropped(relay: Relay) -> None:
    token = login(relay, "ana")["access_token"]
    transcript_id = create_transcript(relay, token)
    viewer_token = login(relay, "vi")["access_token"]

    async def main() -> tuple[SyncClient, SyncClient]:
        async with websockets.connect(
            f"{relay.ws}/sync/{transcript_id}?token={viewer_token}"
        ) as ws:
            viewer = SyncClient(ws)
            async with anyio.create_task_group() as tg:
                tg.start_soon(viewer.run)
                await viewer.synced.wait()
                await viewer.change(lambda d: d.upsert_segment("s1", rev=1, text="no", t0=0, t1=1))
                await wait_until(lambda: bool(viewer.notices))
                tg.cancel_scope.cancel()
        async with websockets.connect(f"{relay.ws}/sync/{transcript_id}?token={token}") as ws:
            fresh = SyncClient(ws)
            async with anyio.create_task_group() as tg:
                tg.start_soon(fresh.run)
                await fresh.synced.wait()
                tg.cancel_scope.cancel()
        return viewer, fresh

    viewer, fresh = anyio.run(main)
    assert viewer.notices == ["read-only: your changes are not kept"]
    assert fresh.doc.segment_ids() == []


def test_acknowledged_updates_survive_kill_9_of_the_relay(
    relay: Relay, env: dict[str, str]
) -> None:
    victim = Relay(relay.data_dir, env).start()  # a second relay on the same database
    token = login(victim, "ana")["access_token"]
    transcript_id = create_transcript(victim, token)
    url = f"{victim.ws}/sync/{transcript_id}?token={token}"

    async def write() -> int:
        async with websockets.connect(url) as ws:
            client = SyncClient(ws)
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.run)
                await client.synced.wait()
                for n in range(200):
                    await client.change(
                        lambda d, n=n: d.upsert_segment(
                            f"s{n:03d}", rev=1, text=f"frase {n}", t0=n, t1=n + 1
                        )
                    )
                await wait_until(lambda: len(client.acks) >= 200)
                tg.cancel_scope.cancel()
        return len(client.acks)

    assert anyio.run(write) >= 200
    victim.stop(signal.SIGKILL)
    restarted = Relay(relay.data_dir, env).start()
    try:

        async def read() -> list[str]:
            async with websockets.connect(
                f"{restarted.ws}/sync/{transcript_id}?token={token}"
            ) as ws:
                client = SyncClient(ws)
                async with anyio.create_task_group() as tg:
                    tg.start_soon(client.run)
                    await client.synced.wait()
                    tg.cancel_scope.cancel()
            return client.doc.segment_ids()

        assert sorted(anyio.run(read)) == [f"s{n:03d}" for n in range(200)]
    finally:
        restarted.stop()


def test_snapshots_exports_delete_and_the_audit_trail(relay: Relay) -> None:
    token = login(relay, "ana")["access_token"]
    transcript_id = create_transcript(relay, token, title="Plan ñ")
    headers = {"Authorization": f"Bearer {token}"}

    async def edit() -> None:
        async with websockets.connect(f"{relay.ws}/sync/{transcript_id}?token={token}") as ws:
            client = SyncClient(ws)
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.run)
                await client.synced.wait()
                await client.change(
                    lambda d: d.upsert_segment(
                        "s1", rev=1, text="¿Empezamos?", t0=0.5, t1=2.0, final=True
                    )
                )
                await wait_until(lambda: bool(client.acks))
                tg.cancel_scope.cancel()

    anyio.run(edit)

    async def projected() -> None:
        async with httpx.AsyncClient(headers=headers) as http:
            with anyio.fail_after(15):  # debounce 1 s, at most 5 s
                while True:
                    row = (await http.get(f"{relay.url}/transcripts/{transcript_id}")).json()
                    if row["segment_count"] == 1:
                        return
                    await anyio.sleep(0.2)

    anyio.run(projected)
    md = httpx.get(f"{relay.url}/transcripts/{transcript_id}/export?fmt=md", headers=headers)
    assert md.status_code == 200 and "¿Empezamos?" in md.text and "# Plan ñ" in md.text
    srt = httpx.get(f"{relay.url}/transcripts/{transcript_id}/export?fmt=srt", headers=headers)
    assert "00:00:00,500 --> 00:00:02,000" in srt.text
    assert (
        httpx.get(
            f"{relay.url}/transcripts/{transcript_id}/export?fmt=doc", headers=headers
        ).status_code
        == 400
    )
    assert (
        httpx.get(f"{relay.url}/transcripts/{transcript_id}/actions", headers=headers).json() == []
    )

    assert (
        httpx.delete(f"{relay.url}/transcripts/{transcript_id}", headers=headers).status_code == 403
    )
    admin = {"Authorization": f"Bearer {login(relay, 'root')['access_token']}"}
    assert (
        httpx.delete(f"{relay.url}/transcripts/{transcript_id}", headers=admin).status_code == 204
    )
    assert httpx.get(f"{relay.url}/transcripts/{transcript_id}", headers=headers).status_code == 404
    assert anyio.run(close_code, f"{relay.ws}/sync/{transcript_id}?token={token}") == 4404

    database = sqlite3.connect(relay.data_dir / "minuta.sqlite3")
    with closing(database):
        actions = {row[0] for row in database.execute("SELECT action FROM audit_events")}
        leftovers = database.execute(
            "SELECT COUNT(*) FROM doc_updates WHERE transcript_id = ?", (transcript_id,)
        ).fetchone()[0]
    assert {"login", "connect", "reject", "export", "delete"} <= actions
    assert leftovers == 0

"""The relay on a real Hypercorn server (port 0, a subprocess), with websocket clients."""

from __future__ import annotations

import signal
import time
import uuid
from typing import Any

import anyio
import httpx
import pytest
import websockets
from _relay import RelayProcess as Relay
from _relay import SyncClient, close_code, connected, metric, query, relay_env, wait_until

from engine import TranscriptDoc, decode_state, protocol
from engine.protocol import GONE, Presence


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return relay_env()


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


def test_the_auth_matrix_closes_with_the_right_codes(relay: Relay) -> None:
    token = login(relay, "ana")["access_token"]
    transcript_id = create_transcript(relay, token)
    base = f"{relay.ws}/sync/{transcript_id}"
    expired = relay.token("ana", "acme", "editor", minutes=16)
    zed = login(relay, "zed")["access_token"]
    assert anyio.run(close_code, base) == 4401
    assert anyio.run(close_code, f"{base}?token=garbage") == 4401
    assert anyio.run(close_code, f"{base}?token={expired}") == 4401
    assert anyio.run(close_code, f"{base}?token={zed}") == 4404  # as if unknown
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


def read_doc(relay: Relay, transcript_id: str, token: str) -> TranscriptDoc:
    """The relay's doc of a transcript, as a fresh replica syncs it."""

    async def main() -> TranscriptDoc:
        async with connected(f"{relay.ws}/sync/{transcript_id}?token={token}") as client:
            return client.doc

    return anyio.run(main)


def test_acknowledged_updates_survive_kill_9_during_1000_updates_per_s(
    relay: Relay, env: dict[str, str]
) -> None:
    victim = Relay(relay.data_dir, env, relay.flags).start()  # a second relay, same database
    token = login(victim, "ana")["access_token"]
    transcript_id = create_transcript(victim, token)
    url = f"{victim.ws}/sync/{transcript_id}?token={token}"
    clock_after: dict[str, int] = {}  # segment -> our clock once its update was made
    acked: list[int] = []  # our clock in each ack received

    async def write() -> None:
        async with websockets.connect(url) as ws:
            client = SyncClient(ws)
            me = client.doc.client_id
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(client.run)
                    await client.synced.wait()
                    start = time.monotonic()
                    for n in range(100_000):
                        await client.change(
                            lambda d, n=n: d.upsert_segment(
                                f"s{n:05d}", rev=1, text=f"frase {n}", t0=n, t1=n + 1
                            )
                        )
                        clock_after[f"s{n:05d}"] = decode_state(client.doc.state_vector())[me]
                        if n == 1500:  # about 1.5 s in: pull the plug
                            await anyio.to_thread.run_sync(victim.stop, signal.SIGKILL)
                        # Pace the writer at about 1,000 updates a second.
                        await anyio.sleep(max(0.0, start + (n + 1) / 1000 - time.monotonic()))
            except* websockets.ConnectionClosed:
                pass  # the relay was killed: what it acknowledged so far must survive
            acked.extend(decode_state(protocol.parse_ack(a)[0]).get(me, 0) for a in client.acks)

    anyio.run(write)
    assert acked and max(acked) > 0, "no update was acknowledged before the kill"
    must_have = sorted(s for s, clock in clock_after.items() if clock <= max(acked))
    assert len(must_have) > 100
    restarted = Relay(relay.data_dir, env, relay.flags).start()
    try:
        kept = set(read_doc(restarted, transcript_id, token).segment_ids())
    finally:
        restarted.stop()
    assert [s for s in must_have if s not in kept] == []


def test_snapshots_exports_delete_and_the_audit_trail(relay: Relay, database_url: str) -> None:
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
                await wait_until(client.acked)
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

    assert anyio.run(close_code, f"{relay.ws}/sync/{transcript_id}?token=forged") == 4401

    actions = {row[0] for row in query(database_url, "SELECT action FROM audit_events")}
    leftovers = query(
        database_url, "SELECT COUNT(*) FROM doc_updates WHERE transcript_id = :t", t=transcript_id
    )[0][0]
    assert {"login", "connect", "reject", "export", "delete"} <= actions
    assert leftovers == 0


def test_compaction_then_kill_9_and_restart_gives_the_identical_doc(
    relay: Relay, env: dict[str, str], database_url: str
) -> None:
    # A relay that compacts every half second (transcripts with 500+ stored updates), with
    # no workers: their results, written after the client left, are not in its copy.
    flags = [*relay.flags, "--compact-every", "0.5", "--no-workers"]
    victim = Relay(relay.data_dir, env, flags).start()
    token = login(victim, "ana")["access_token"]
    transcript_id = create_transcript(victim, token)

    async def write() -> TranscriptDoc:
        url = f"{victim.ws}/sync/{transcript_id}?token={token}"
        async with websockets.connect(url) as ws:
            client = SyncClient(ws)
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.run)
                await client.synced.wait()
                for n in range(300):  # revisions, human edits and deletions: 600+ updates
                    await client.change(
                        lambda d, n=n: d.upsert_segment(
                            f"s{n:03d}", rev=1, text=f"frase {n}", t0=n, t1=n + 1
                        )
                    )
                    await client.change(
                        lambda d, n=n: d.upsert_segment(
                            f"s{n:03d}", rev=2, text=f"Frase {n}.", t0=n, t1=n + 1, final=True
                        )
                    )
                    if n % 10 == 0:
                        await client.change(
                            lambda d, n=n: d.set_text(f"s{n:03d}", f"Frase ñ {n}!", user="ana")
                        )
                    if n % 7 == 0:
                        await client.change(
                            lambda d, n=n: d.delete_segment(f"s{n:03d}", user="ana")
                        )
                await wait_until(client.acked)
                tg.cancel_scope.cancel()
        return client.doc

    written = anyio.run(write)
    stored = metric(victim, "minuta_updates_total")

    def rows() -> int:
        statement = "SELECT COUNT(*) FROM doc_updates WHERE transcript_id = :t"
        return int(query(database_url, statement, t=transcript_id)[0][0])

    async def compacted() -> None:  # other tests' transcripts may be compacted first
        with anyio.fail_after(30):
            while rows() >= 500:  # noqa: ASYNC110
                await anyio.sleep(0.1)

    anyio.run(compacted)
    assert metric(victim, "minuta_compactions_total") >= 1
    victim.stop(signal.SIGKILL)
    restarted = Relay(relay.data_dir, env, relay.flags).start()
    try:
        reloaded = read_doc(restarted, transcript_id, token)
    finally:
        restarted.stop()
    assert stored > 600
    assert reloaded.snapshot() == written.snapshot()
    assert decode_state(reloaded.state_vector()) == decode_state(written.state_vector())
    assert len(reloaded.snapshot()["segments"]) == 300 - 43  # every 7th was deleted


def test_metrics_and_openapi(relay: Relay) -> None:
    token = login(relay, "ana")["access_token"]
    transcript_id = create_transcript(relay, token)
    before = metric(relay, "minuta_updates_total")

    async def edit() -> None:
        url = f"{relay.ws}/sync/{transcript_id}?token={token}"
        for _ in range(2):  # leave and come back: one reconnect
            async with websockets.connect(url) as ws:
                client = SyncClient(ws)
                async with anyio.create_task_group() as tg:
                    tg.start_soon(client.run)
                    await client.synced.wait()
                    assert metric(relay, "minuta_connections") >= 1
                    await client.change(
                        lambda d: d.upsert_segment(
                            f"s{len(d.segment_ids())}", rev=1, text="x", t0=0, t1=1
                        )
                    )
                    await wait_until(client.acked)
                    tg.cancel_scope.cancel()

    anyio.run(edit)
    page = httpx.get(f"{relay.url}/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    assert metric(relay, "minuta_updates_total") >= before + 2
    assert metric(relay, "minuta_reconnects_total") >= 1
    assert metric(relay, "minuta_persist_seconds_count") >= 2
    assert metric(relay, "minuta_ack_seconds_count") >= 2
    for name in ("minuta_rooms", "minuta_backlog", "minuta_updates_per_second"):
        metric(relay, name)
    spec = httpx.get(f"{relay.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/transcripts/{transcript_id}/export" in spec["paths"]
    create_transcript(relay, token, title="another")  # so there are two, run alone or not
    page1 = httpx.get(
        f"{relay.url}/transcripts?limit=1", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert page1["total"] >= 2 and page1["next_offset"] == 1 and len(page1["items"]) == 1


def test_presence_is_replayed_to_a_late_joiner_and_removed_when_its_client_leaves(
    relay: Relay,
) -> None:
    token = login(relay, "ana")["access_token"]
    transcript_id = create_transcript(relay, token)
    url = f"{relay.ws}/sync/{transcript_id}?token={token}"
    ana = Presence(1234, 3, b'{"user":{"name":"Ana","color":"#c00"}}')

    async def main() -> SyncClient:
        async with connected(url) as bo:
            async with connected(url) as a:
                await a.ws.send(protocol.awareness(protocol.encode_awareness([ana])))
                await wait_until(lambda: [ana] in bo.presence)
                await wait_until(lambda: [ana] in a.presence)  # the sender hears it too
                async with connected(url) as late:
                    # Right after its sync, not at ana's renewal 15 s later.
                    await wait_until(lambda: bool(late.presence), timeout_s=2)
                    assert late.presence[0] == [ana]
            # ana's socket closed without a goodbye: the relay says it for her.
            await wait_until(lambda: [Presence(1234, 3, GONE)] in bo.presence, timeout_s=5)
            return bo

    bo = anyio.run(main)
    assert bo.presence == [[ana], [Presence(1234, 3, GONE)]]
    malformed = protocol.awareness(b"\x01\x05\x01\x04nul!")  # a state that is not JSON
    assert anyio.run(close_code, url, [malformed]) == 4400


def test_a_transcript_is_live_while_an_agent_is_connected(relay: Relay) -> None:
    token = login(relay, "ana")["access_token"]
    transcript_id = create_transcript(relay, token)
    url = f"{relay.ws}/sync/{transcript_id}?token={token}"
    headers = {"Authorization": f"Bearer {token}"}

    def live() -> tuple[bool, bool]:
        one = httpx.get(f"{relay.url}/transcripts/{transcript_id}", headers=headers).json()
        page = httpx.get(f"{relay.url}/transcripts?limit=200", headers=headers).json()
        [listed] = [t for t in page["items"] if t["transcript_id"] == transcript_id]
        return one["live"], listed["live"]

    async def main() -> list[tuple[bool, bool]]:
        seen = [await anyio.to_thread.run_sync(live)]
        async with connected(url):
            seen.append(await anyio.to_thread.run_sync(live))
            async with connected(f"{url}&client=agent"):
                seen.append(await anyio.to_thread.run_sync(live))
        return seen

    assert anyio.run(main) == [(False, False), (False, False), (True, True)]
    deadline = time.monotonic() + 5
    while live() != (False, False):  # the relay notices the agent is gone
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_the_list_searches_titles(relay: Relay) -> None:
    token = login(relay, "ana")["access_token"]
    marker = uuid.uuid4().hex[:8]
    titles = [f"Comité {marker} de obra", f"comité {marker} 100% remoto", f"retro {marker}_x"]
    for title in titles:
        create_transcript(relay, token, title=title)

    def search(q: str) -> list[str]:
        page = httpx.get(
            f"{relay.url}/transcripts", params={"q": q, "limit": 200},
            headers={"Authorization": f"Bearer {token}"},
        ).json()  # fmt: skip
        assert page["total"] == len(page["items"])
        return sorted(item["title"] for item in page["items"])

    assert search(f"comité {marker}") == sorted(titles[:2])
    assert search(f"{marker} 100%") == [titles[1]]  # % is a character, not a wildcard
    assert search(f"{marker}_") == [titles[2]]
    assert search(f"{marker}%") == []
    assert search(f"{marker} DE OBRA") == [titles[0]]
    # Another org's titles never show.
    zed = login(relay, "zed")["access_token"]
    other = httpx.get(
        f"{relay.url}/transcripts", params={"q": marker}, headers={"Authorization": f"Bearer {zed}"}
    ).json()
    assert other["items"] == []


def test_a_browser_that_goes_silent_is_closed_and_its_presence_removed(
    relay: Relay, env: dict[str, str]
) -> None:
    """A browser renews its presence; one whose network vanished without a close stops.
    Its connection is closed (1001: a client still there reconnects) and the others are
    told it left. An agent, which announces nothing, may stay silent."""
    quick = Relay(relay.data_dir, env, [*relay.flags, "--presence-timeout", "1"]).start()
    try:
        token = login(quick, "ana")["access_token"]
        url = f"{quick.ws}/sync/{create_transcript(quick, token)}?token={token}"
        browser = Presence(77, 3, b'{"user":{"name":"Ana"}}')

        async def main() -> tuple[int | None, SyncClient]:
            async with connected(url) as agent, connected(url) as tab:
                await tab.ws.send(protocol.awareness(protocol.encode_awareness([browser])))
                await wait_until(lambda: [browser] in agent.presence)
                # Then nothing from the tab (as if its network had gone).
                await wait_until(lambda: [Presence(77, 3, GONE)] in agent.presence, timeout_s=5)
                await wait_until(lambda: tab.ws.close_code is not None, timeout_s=5)
                await anyio.sleep(1.5)  # the agent, silent as long, is still connected
                await agent.change(lambda d: d.set_meta(title="sigue aquí"))
                await wait_until(agent.acked)
                return tab.ws.close_code, agent

        code, _ = anyio.run(main)
        assert code == 1001
        assert metric(quick, 'minuta_rejected_frames_total{reason="silent"}') == 1
    finally:
        quick.stop()


def test_what_a_client_sends_just_before_it_leaves_reaches_the_others(relay: Relay) -> None:
    """The agent's last segment, or a tab's goodbye, sent right before the socket closes:
    the relay's handler is cancelled by the close, and still relays them (it used to
    store the update and tell no one until they reconnected)."""
    token = login(relay, "ana")["access_token"]
    url = f"{relay.ws}/sync/{create_transcript(relay, token)}?token={token}"

    async def main() -> None:
        async with connected(url) as watcher:
            for i in range(8):
                doc = TranscriptDoc()
                doc.upsert_segment(f"last{i}", rev=1, text="fin", t0=i, t1=i + 1, final=True)
                hello = Presence(500 + i, 1, b'{"user":{"name":"tab"}}')
                async with websockets.connect(url) as ws:
                    await ws.recv()  # the relay's sync step 1
                    await ws.send(protocol.update(doc.encode_update()))
                await wait_until(lambda i=i: f"last{i}" in watcher.doc.segment_ids(), 5)
                async with websockets.connect(url) as ws:
                    await ws.send(protocol.awareness(protocol.encode_awareness([hello])))
                    await wait_until(lambda hello=hello: [hello] in watcher.presence)
                    goodbye = Presence(500 + i, 1, GONE)  # y-websocket's, as the tab closes
                    await ws.send(protocol.awareness(protocol.encode_awareness([goodbye])))
                # The goodbye itself, or the relay's own for the leaving connection.
                try:
                    await wait_until(lambda g=goodbye: [g] in watcher.presence, 5)
                except TimeoutError:
                    raise AssertionError(f"{i}: {watcher.presence[-4:]}") from None

    anyio.run(main)


def test_vocabulary_is_edited_over_rest_and_reaches_a_live_replica(relay: Relay) -> None:
    editor = login(relay, "ana")["access_token"]
    viewer = login(relay, "vi")["access_token"]
    stranger = login(relay, "zed")["access_token"]
    transcript_id = create_transcript(relay, editor)
    url = f"{relay.url}/transcripts/{transcript_id}"

    def patch(token: str, body: Any) -> httpx.Response:
        return httpx.patch(url, json=body, headers={"Authorization": f"Bearer {token}"})

    async def scenario() -> None:
        async with connected(f"{relay.ws}/sync/{transcript_id}?token={editor}") as replica:
            response = patch(editor, {"vocabulary": [" Siobhan ", "Kubeflow", "siobhan"]})
            assert response.status_code == 200, response.text
            assert response.json()["vocabulary"] == ["Siobhan", "Kubeflow"]
            await wait_until(lambda: replica.doc.vocabulary() == ["Siobhan", "Kubeflow"])

    anyio.run(scenario)
    # Stored, not only relayed: the export (from the stored updates) has it.
    exported = httpx.get(
        f"{url}/export?fmt=json", headers={"Authorization": f"Bearer {editor}"}
    ).json()
    assert exported["meta"]["vocabulary"] == ["Siobhan", "Kubeflow"]
    # Refusals are JSON, and change nothing.
    assert patch(viewer, {"vocabulary": ["x"]}).status_code == 403
    assert patch(stranger, {"vocabulary": ["x"]}).status_code == 404
    bad: Any
    for bad in ({"vocabulary": "Siobhan"}, {"vocabulary": [3]}, {"title": "x"}, [],
                {"vocabulary": ["x" * 61]}, {"vocabulary": [f"t{i}" for i in range(101)]}):  # fmt: skip
        response = patch(editor, bad)
        assert response.status_code == 400, (bad, response.text)
        assert "error" in response.json()
    assert patch(editor, {"vocabulary": []}).json()["vocabulary"] == []

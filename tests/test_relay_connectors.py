"""Connectors through a real relay (Hypercorn in a subprocess): configured by an admin,
pushed by an editor over REST or the CLI, sent by the relay's dispatcher or by
``minuta connectors dispatch``, to local servers speaking the vendors' APIs."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from _relay import MINUTA, RelayProcess, connected, prepare, relay_env, run_minuta, wait_until
from vendors.webhook import FakeWebhook

from engine import TranscriptDoc

SECRET = "whsec-" + "r" * 24


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    with FakeWebhook(SECRET) as fake:
        yield fake


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[RelayProcess]:
    env = relay_env()
    data = tmp_path / "data"
    server = RelayProcess(data, env, prepare(data, env)).start()
    yield server
    if server.running:
        server.stop()


def auth(relay: RelayProcess, username: str, org: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {relay.token(username, org, role)}"}


def add_webhook(relay: RelayProcess, hook: FakeWebhook, **extra: Any) -> dict[str, Any]:
    body = {"target": "webhook", "name": "Ops hook",
            "credential": {"url": hook.url + "/hook", "secret": SECRET}, **extra}  # fmt: skip
    response = httpx.post(f"{relay.url}/connectors", json=body,
                          headers=auth(relay, "root", "acme", "admin"))  # fmt: skip
    assert response.status_code == 201, response.text
    return dict(response.json())


def meeting(relay: RelayProcess) -> str:
    """A transcript with a summary and two actions, written by a websocket client."""
    token = relay.token("ana", "acme", "editor")
    transcript_id = relay.create_transcript(token, title="Kickoff")

    def write(doc: TranscriptDoc) -> None:
        doc.upsert_segment("s1", rev=1, text="Ana sends the deck on Friday.", t0=0, t1=2,
                           speaker="Ana", final=True)  # fmt: skip
        doc.set_summary(bullets=["Budget agreed at 40k"], risks=["Legal review pending"])
        doc.upsert_action("a1", text="Send the deck", owner="Ana", due="2026-12-11")
        doc.upsert_action("a2", text="Book the venue", owner="Bo")

    async def main() -> None:
        async with connected(f"{relay.ws}/sync/{transcript_id}?token={token}") as client:
            await client.change(write)
            await wait_until(client.acked)

    anyio.run(main)
    return transcript_id


def push(relay: RelayProcess, transcript_id: str, target: str = "webhook") -> httpx.Response:
    return httpx.post(f"{relay.url}/connectors/{target}/push",
                      json={"transcript_id": transcript_id},
                      headers=auth(relay, "ana", "acme", "editor"))  # fmt: skip


def states(relay: RelayProcess, transcript_id: str) -> dict[str, str]:
    response = httpx.get(f"{relay.url}/connectors/pushes",
                         params={"transcript_id": transcript_id},
                         headers=auth(relay, "ana", "acme", "editor"))  # fmt: skip
    assert response.status_code == 200, response.text
    return {p["item"]: p["state"] for p in response.json()["pushes"]}


def until(condition: Any, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_editor_pushes_a_meeting_and_it_arrives_once(
    relay: RelayProcess, hook: FakeWebhook
) -> None:
    connector = add_webhook(relay, hook)
    assert "credential" not in connector and SECRET not in str(connector)
    transcript_id = meeting(relay)
    response = push(relay, transcript_id)
    assert response.status_code == 202, response.text
    assert [p["item"] for p in response.json()["pushes"]] == ["note", "action:a1", "action:a2"]
    until(lambda: set(states(relay, transcript_id).values()) == {"sent"})
    assert sorted(hook.by_item()) == ["a1", "a2", "note"]
    note = hook.by_item()["note"][0]
    assert note["context"] == ["Budget agreed at 40k"]
    assert "Ana sends the deck" not in str(hook.events)  # no transcript text was asked for
    # Pushed again, unchanged: the same rows, already sent; nothing new leaves.
    again = push(relay, transcript_id)
    assert {p["state"] for p in again.json()["pushes"]} == {"sent"}
    time.sleep(0.5)
    assert len(hook.deliveries) == 3
    listed = httpx.get(f"{relay.url}/connectors", headers=auth(relay, "ana", "acme", "editor"))
    assert [c["name"] for c in listed.json()["connectors"]] == ["Ops hook"]
    assert SECRET not in listed.text
    assert SECRET not in relay.stop()  # nor in the relay's log


def test_connector_permissions_and_errors_are_json(relay: RelayProcess, hook: FakeWebhook) -> None:
    connector = add_webhook(relay, hook)
    transcript_id = meeting(relay)
    viewer, other = auth(relay, "vi", "acme", "viewer"), auth(relay, "zed", "other", "editor")
    editor = auth(relay, "ana", "acme", "editor")
    cases = [
        ("GET", "/connectors", viewer, None, 403),
        ("POST", "/connectors", editor, {"target": "webhook"}, 403),
        ("POST", "/connectors", auth(relay, "root", "acme", "admin"), {"target": "jira"}, 400),
        ("POST", "/connectors", auth(relay, "root", "acme", "admin"), [1], 400),
        ("POST", "/connectors/webhook/push", viewer, {"transcript_id": transcript_id}, 403),
        ("POST", "/connectors/webhook/push", other, {"transcript_id": transcript_id}, 404),
        ("POST", "/connectors/trello/push", editor, {"transcript_id": transcript_id}, 404),
        ("POST", "/connectors/webhook/push", editor, {}, 400),
        ("GET", f"/connectors/pushes?transcript_id={transcript_id}", other, None, 404),
        ("DELETE", f"/connectors/{connector['connector_id']}", editor, None, 403),
        ("DELETE", "/connectors/c-nope", auth(relay, "root", "acme", "admin"), None, 404),
        ("POST", "/connectors/c-nope/test", auth(relay, "root", "acme", "admin"), None, 404),
    ]
    for method, path, headers, body, status in cases:
        response = httpx.request(method, relay.url + path, json=body, headers=headers)
        assert response.status_code == status, (method, path, response.text)
        assert "error" in response.json(), (method, path)


def test_test_says_plainly_what_is_wrong(relay: RelayProcess, hook: FakeWebhook) -> None:
    connector = add_webhook(relay, hook)
    admin = auth(relay, "root", "acme", "admin")
    url = f"{relay.url}/connectors/{connector['connector_id']}/test"
    assert httpx.post(url, headers=admin).json()["ok"] is True
    hook.fail(401, body={"error": "bad signature"})
    answer = httpx.post(url, headers=admin).json()
    assert answer == {"ok": False, "error": 'HTTP 401: {"error": "bad signature"}'}


def test_connectors_are_off_without_a_key(tmp_path: Path) -> None:
    env = relay_env(MINUTA_CONNECTOR_KEY="")
    data = tmp_path / "data"
    relay = RelayProcess(data, env, prepare(data, env)).start()
    try:
        response = httpx.post(f"{relay.url}/connectors", json={"target": "webhook"},
                              headers=auth(relay, "root", "acme", "admin"))  # fmt: skip
        assert response.status_code == 503
        assert "MINUTA_CONNECTOR_KEY" in response.json()["error"]
    finally:
        relay.stop()


def test_kill_9_of_the_dispatcher_mid_flight_loses_nothing(
    tmp_path: Path, hook: FakeWebhook
) -> None:
    env = relay_env()
    data = tmp_path / "data"
    flags = prepare(data, env)
    relay = RelayProcess(data, env, [*flags, "--no-dispatch"]).start()
    try:
        add_webhook(relay, hook, send="note")
        transcript_id = meeting(relay)
        assert push(relay, transcript_id).status_code == 202
        hook.stall(30)  # the receiver takes the event, and answers too late
        dispatcher = subprocess.Popen([str(MINUTA), "connectors", "dispatch", "--lease", "1",
                                       *flags], env=env)  # fmt: skip
        until(lambda: len(hook.deliveries) == 1)
        dispatcher.send_signal(signal.SIGKILL)
        dispatcher.wait(timeout=10)
        assert states(relay, transcript_id) == {"note": "sending"}
        hook.stall(0)
        time.sleep(1.1)  # the dead dispatcher's lease runs out
        run_minuta("connectors", "dispatch", "--once", *flags, env=env)
        assert states(relay, transcript_id) == {"note": "sent"}
        assert len(hook.deliveries) == 2 and len(hook.events) == 1  # one event, twice
    finally:
        relay.stop()


def test_the_cli_adds_tests_pushes_and_lists(tmp_path: Path, hook: FakeWebhook) -> None:
    env = relay_env()
    data = tmp_path / "data"
    flags = prepare(data, env)
    relay = RelayProcess(data, env, [*flags, "--no-dispatch"]).start()
    try:
        transcript_id = meeting(relay)
        credential = f'{{"url": "{hook.url}/hook", "secret": "{SECRET}"}}'
        added = run_minuta("connectors", "add", "webhook", "--org", "acme", "--send", "actions",
                           *flags, env={**env, "MINUTA_CONNECTOR_CREDENTIAL": credential})  # fmt: skip
        connector_id = added.stdout.split()[1]
        listed = run_minuta("connectors", "list", "--org", "acme", *flags, env=env).stdout
        assert connector_id in listed and SECRET not in listed
        tested = run_minuta("connectors", "test", connector_id, "--org", "acme", *flags, env=env)
        assert "ok" in tested.stdout
        run_minuta("connectors", "push", transcript_id, "--connector", connector_id, *flags,
                   env=env)  # fmt: skip
        run_minuta("connectors", "dispatch", "--once", *flags, env=env)
        shown = run_minuta("connectors", "pushes", transcript_id, "--org", "acme", *flags,
                           env=env).stdout  # fmt: skip
        assert shown.count(" sent ") == 2, shown
        assert sorted(hook.by_item()) == ["None", "a1", "a2"]  # "None": the test event
        bad = subprocess.run([str(MINUTA), "connectors", "add", "trello", "--org", "acme", *flags],
                             env={**env, "MINUTA_CONNECTOR_CREDENTIAL": "{}"},
                             capture_output=True, text=True)  # fmt: skip
        assert bad.returncode != 0 and "Traceback" not in bad.stderr
    finally:
        relay.stop()


def test_deleting_a_transcript_deletes_its_pushes(relay: RelayProcess, hook: FakeWebhook) -> None:
    from sqlalchemy import text

    from relay.db import connect, default_database_url

    add_webhook(relay, hook)
    transcript_id = meeting(relay)
    assert push(relay, transcript_id).status_code == 202
    until(lambda: set(states(relay, transcript_id).values()) == {"sent"})
    admin = auth(relay, "root", "acme", "admin")
    assert (
        httpx.delete(f"{relay.url}/transcripts/{transcript_id}", headers=admin).status_code == 204
    )
    engine = connect(default_database_url(relay.data_dir))
    try:
        with engine.connect() as connection:
            for table in ("connector_pushes", "connector_links"):
                rows = connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE transcript_id = :t"),
                    {"t": transcript_id},
                ).scalar()
                assert rows == 0, table
    finally:
        engine.dispose()


def test_minuta_worker_dispatches_and_survives_kill_9(tmp_path: Path, hook: FakeWebhook) -> None:
    env = relay_env(MINUTA_USERNAME="root")
    data = tmp_path / "data"
    relay = RelayProcess(data, env, [*prepare(data, env), "--no-dispatch", "--no-workers"]).start()
    worker: subprocess.Popen[str] | None = None

    log = (tmp_path / "worker.log").open("w")

    def start_worker() -> subprocess.Popen[str]:
        return subprocess.Popen([str(MINUTA), "worker", relay.url, "--dispatch"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)  # fmt: skip

    try:
        add_webhook(relay, hook)
        transcript_id = meeting(relay)
        hook.stall(30)  # the first event is taken, and its answer is late
        worker = start_worker()
        assert push(relay, transcript_id).status_code == 202
        until(lambda: len(hook.deliveries) >= 1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        hook.stall(0)
        assert "sending" in states(relay, transcript_id).values()
        # The claims' leases (120 s) keep a second worker off those rows; sooner, the
        # rows are the relay's to give again only once their lease ends. Shorten it here.
        from sqlalchemy import text

        from relay.db import connect, default_database_url

        engine = connect(default_database_url(data))
        with engine.begin() as connection:
            connection.execute(text("UPDATE connector_pushes SET lease_until = :t"),
                               {"t": "2000-01-01 00:00:00"})  # fmt: skip
        engine.dispose()
        worker = start_worker()
        until(lambda: set(states(relay, transcript_id).values()) == {"sent"})
        assert sorted(hook.by_item()) == ["a1", "a2", "note"]
        assert len(hook.events) == 3  # each item once, however often it was delivered
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=10)
        relay.stop()
        log.close()
        print((tmp_path / "worker.log").read_text())


def test_minuta_worker_without_admin_says_it_cannot_dispatch(relay: RelayProcess) -> None:
    env = relay_env(MINUTA_USERNAME="ana")
    run = subprocess.run([str(MINUTA), "worker", relay.url, "--dispatch"], env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode != 0
    assert "admin" in run.stderr and "Traceback" not in run.stderr

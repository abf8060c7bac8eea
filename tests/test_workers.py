"""The workers on a real room: triggered by changes, written back live, human edits kept.

In-process here (a room over a SQLite update log, clients as pycrdt docs); the relay
test at the end runs them in a real ``minuta relay`` with websocket clients.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import websockets
from _relay import (
    MINUTA,
    RelayProcess,
    SyncClient,
    connected,
    prepare,
    relay_env,
    wait_until,
)
from sqlalchemy import Engine, text

from engine import Origin, TranscriptDoc, protocol
from engine.protocol import Kind
from relay.db import connect
from relay.rooms import Connection, Rooms
from relay.updates import UpdateLog
from relay.workers import WorkerOptions, Workers

FAST = WorkerOptions(every_finals=3, min_wait_s=0.3, quiet_s=0.1, max_wait_s=1.0, poll_s=0.05)
MEETING = [
    ("Carmen", "Vamos con el estado de la obra del almacén."),
    ("Jorge", "El hormigón llegó el jueves pasado sin incidencias."),
    ("Carmen", "Jorge, llama al arquitecto mañana para cerrar los planos."),
    ("Elena", "Yo prepararé el calendario de entregas antes del viernes."),
    ("Carmen", "Hay riesgo de que el proveedor de acero se retrase dos semanas."),
    ("Elena", "Acordamos mantener la fecha de entrega del almacén en septiembre."),
]


class Peer:
    """A client in the room: its own doc, kept in sync from what the room sends it."""

    def __init__(self) -> None:
        self.doc = TranscriptDoc()
        self.connection = Connection(self._send, "peer", True)

    async def _send(self, frame: bytes) -> None:
        if frame[0] == protocol.SYNC:
            message = protocol.parse(frame)
            if message.kind in (Kind.SYNC_STEP2, Kind.UPDATE):
                self.doc.apply_update(message.payload, origin=Origin.RELAY)

    async def change(self, room: Any, fn: Any) -> None:
        state = self.doc.state_vector()
        fn(self.doc)
        await room.receive(self.connection, protocol.update(self.doc.encode_update(state)))


def write_meeting(doc: TranscriptDoc, lines: list[tuple[str, str]], *, final: bool = True) -> None:
    for n, (speaker, said) in enumerate(lines):
        doc.upsert_segment(
            f"s{n}", rev=1, text=said, t0=n * 5.0, t1=n * 5.0 + 4, speaker=speaker, final=final
        )


def test_a_run_writes_actions_and_summary_live_and_keeps_human_edits(engine: Engine) -> None:
    async def main() -> tuple[Peer, Workers]:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            workers = Workers(rooms, options=FAST)
            rooms.on_stored = lambda room: workers.touch(room.transcript_id)
            room = await rooms.open("t-1")
            agent, browser = Peer(), Peer()
            await room.join(agent.connection)
            await room.join(browser.connection)
            seed = TranscriptDoc.create("t-1", title="Obra", language="es")
            seed.set_meta(started_at="2025-06-16T10:00:00+02:00")
            await agent.change(room, lambda d: d.apply_update(seed.encode_update()))
            await agent.change(room, lambda d: write_meeting(d, MEETING))
            async with anyio.create_task_group() as tg:
                tg.start_soon(workers.run)
                # Live: the browser sees the worker's results without asking.
                await wait_until(lambda: len(browser.doc.snapshot()["actions"]) == 2)
                # A person reassigns an action and closes it; a later run keeps that.
                await browser.change(
                    room,
                    lambda d: d.edit_action("a-s2", user="carmen", owner="Elena", status="done"),
                )
                # The evidence of the other action is deleted: it goes stale.
                await browser.change(room, lambda d: d.delete_segment("s3", user="carmen"))
                await workers.run_now("t-1")
                tg.cancel_scope.cancel()
            return browser, workers

    browser, workers = anyio.run(main)
    snapshot = browser.doc.snapshot()
    actions = {a["action_id"]: a for a in snapshot["actions"]}
    assert actions["a-s2"]["owner"] == "Elena" and actions["a-s2"]["status"] == "done"
    assert actions["a-s2"]["edited_fields"] == ["owner", "status"]
    assert actions["a-s2"]["due"] == "2025-06-17"
    assert actions["a-s3"]["stale"] is True and actions["a-s3"]["owner"] == "Elena"
    summary = snapshot["summary"]
    assert summary is not None and summary["model"] == "heuristic"
    assert any("Acordamos" in b for b in summary["bullets"])
    assert summary["risks"] == ["Hay riesgo de que el proveedor de acero se retrase dos semanas."]
    assert workers.metrics.worker_runs._value.get() >= 2


def test_partials_alone_do_not_trigger_a_run(engine: Engine) -> None:
    async def main() -> TranscriptDoc:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            workers = Workers(rooms, options=FAST)
            rooms.on_stored = lambda room: workers.touch(room.transcript_id)
            room = await rooms.open("t-2")
            agent = Peer()
            await room.join(agent.connection)
            seed = TranscriptDoc.create("t-2", language="es")
            await agent.change(room, lambda d: d.apply_update(seed.encode_update()))
            await agent.change(room, lambda d: write_meeting(d, MEETING, final=False))
            async with anyio.create_task_group() as tg:
                tg.start_soon(workers.run)
                await anyio.sleep(1.5)  # past max_wait_s: a run would have happened
                tg.cancel_scope.cancel()
            return TranscriptDoc(room.doc)

    doc = anyio.run(main)
    assert doc.snapshot()["summary"] is None and doc.snapshot()["actions"] == []


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    data = tmp_path_factory.mktemp("workers") / "data"
    env = relay_env()
    server = RelayProcess(data, env, prepare(data, env)).start()
    yield server
    server.stop()


def test_in_the_relay_twenty_finals_bring_actions_to_every_client_and_sql(
    relay: RelayProcess,
) -> None:
    token = relay.login("ana")["access_token"]
    transcript_id = relay.create_transcript(token)
    lines = MEETING + [
        ("Jorge", f"Seguimos con el punto número {n} del orden del día.") for n in range(20)
    ]

    async def main() -> TranscriptDoc:
        url = f"{relay.ws}/sync/{transcript_id}?token={token}"
        async with websockets.connect(url) as ws_a, websockets.connect(url) as ws_b:
            agent, browser = SyncClient(ws_a), SyncClient(ws_b)
            async with anyio.create_task_group() as tg:
                tg.start_soon(agent.run)
                tg.start_soon(browser.run)
                await agent.synced.wait()
                await browser.synced.wait()
                for n, (speaker, said) in enumerate(lines):
                    await agent.change(
                        lambda d, n=n, speaker=speaker, said=said: d.upsert_segment(
                            f"s{n:02d}", rev=1, text=said, t0=n * 5.0, t1=n * 5.0 + 4,
                            speaker=speaker, final=True,
                        )
                    )  # fmt: skip
                await wait_until(lambda: len(browser.doc.snapshot()["actions"]) >= 2, 30)
                tg.cancel_scope.cancel()
        return browser.doc

    doc = anyio.run(main)
    assert {a["owner"] for a in doc.snapshot()["actions"]} >= {"Jorge", "Elena"}
    headers = {"Authorization": f"Bearer {token}"}

    async def in_sql() -> None:
        engine = connect(f"sqlite:///{relay.data_dir / 'minuta.sqlite3'}")
        try:
            with anyio.fail_after(15):
                while True:
                    with engine.connect() as c:
                        n = c.execute(
                            text("SELECT COUNT(*) FROM actions WHERE transcript_id = :t"),
                            {"t": transcript_id},
                        ).scalar()
                    if n and n >= 2:
                        return
                    await anyio.sleep(0.2)
        finally:
            engine.dispose()

    anyio.run(in_sql)
    regenerated = httpx.post(f"{relay.url}/transcripts/{transcript_id}/summary", headers=headers)
    assert regenerated.status_code == 200, regenerated.text
    assert regenerated.json()["model"] == "heuristic" and regenerated.json()["bullets"]
    viewer = {"Authorization": f"Bearer {relay.login('vi')['access_token']}"}
    assert (
        httpx.post(f"{relay.url}/transcripts/{transcript_id}/summary", headers=viewer).status_code
        == 403
    )


def test_minuta_worker_runs_them_in_another_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = relay_env(MINUTA_USERNAME="root")
    server = RelayProcess(data, env, [*prepare(data, env), "--no-workers"]).start()
    worker = None
    try:
        worker = subprocess.Popen(
            [str(MINUTA), "worker", server.url, "--poll", "0.3", "--workers-wait", "0.5", "1"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert worker.stdout is not None
        assert worker.stdout.readline().startswith("Minuta workers on ")
        token = server.login("ana")["access_token"]
        transcript_id = server.create_transcript(token)

        async def main() -> TranscriptDoc:
            url = f"{server.ws}/sync/{transcript_id}?token={token}"
            async with connected(url) as agent:
                await agent.change(lambda d: write_meeting(d, MEETING))
                await wait_until(lambda: len(agent.doc.snapshot()["actions"]) == 2, 30)
                return agent.doc

        doc = anyio.run(main)
        assert {a["owner"] for a in doc.snapshot()["actions"]} == {"Jorge", "Elena"}
        summary = doc.snapshot()["summary"]
        assert summary is not None and summary["model"] == "heuristic"
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
            if worker.stdout is not None:
                worker.stdout.close()
        server.stop()


def test_a_remote_run_reaches_the_relay_as_one_update() -> None:
    """``minuta worker`` writes a run's actions and summary in one transaction, so no
    client ever sees the actions of a run without its summary."""
    from relay.workers._remote import RemoteDocs, _Session

    class Acked:  # the relay's ACK, at once (the real sync is tested above)
        async def wait_acked(self) -> None:
            return None

    doc = TranscriptDoc.create("t-1")
    updates: list[Origin | None] = []
    doc.observe(lambda _update, origin: updates.append(origin))

    def write(d: TranscriptDoc) -> None:
        d.upsert_action("a-s1", text="llamar al arquitecto", owner="Jorge")
        d.mark_stale("a-s1", False)
        d.set_summary(bullets=["obra"], model="heuristic")

    async def main() -> None:
        docs = RemoteDocs(Any, on_change=lambda _id: None)  # type: ignore[arg-type]
        session = _Session(doc, Acked(), anyio.CancelScope())  # type: ignore[arg-type]
        docs._sessions["t-1"] = session
        await docs.change("t-1", write)

    anyio.run(main)
    assert updates == [Origin.WORKER]
    snapshot = doc.snapshot()
    assert snapshot["summary"] is not None and len(snapshot["actions"]) == 1

"""Deleting a transcript is complete and final, whatever is in flight (a real relay on
SQLite and on PostgreSQL, real websocket writers).

Before the fix, a delete while a client wrote left 1-108 rows in ``doc_updates`` in 9 of
10 runs, and another org could then create the same id (``client_doc: true``) and export
the deleted content.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import anyio
import httpx
import websockets
from _relay import RelayProcess as Relay
from _relay import SyncClient, close_code, query

from engine import TranscriptDoc

RUNS = 4


def rows(database_url: str, transcript_id: str) -> int:
    statement = "SELECT count(*) FROM doc_updates WHERE transcript_id = :t"
    return int(query(database_url, statement, t=transcript_id)[0][0])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def write_segment(doc: TranscriptDoc, i: int) -> None:
    doc.upsert_segment(
        f"s-{i}", rev=1, text=f"secreto número {i}", t0=float(i), t1=i + 0.9, final=True
    )


async def write_until_closed(url: str, codes: list[int | None], started: anyio.Event) -> None:
    """A writer that sends a segment every 2 ms until the relay closes it."""
    async with websockets.connect(url) as ws:
        client = SyncClient(ws)

        async def listen() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await client.run()

        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            i = 0
            try:
                while True:
                    await client.change(lambda doc, i=i: write_segment(doc, i))
                    i += 1
                    if i == 20:
                        started.set()
                    await anyio.sleep(0.002)
            except websockets.ConnectionClosed:
                pass
            finally:
                codes.append(ws.close_code)
                tg.cancel_scope.cancel()


async def delete_while_writing(relay: Relay, transcript_id: str) -> list[int | None]:
    editor = relay.token("ana", "acme", "editor")
    admin = relay.token("root", "acme", "admin")
    url = f"{relay.ws}/sync/{transcript_id}?token={editor}"
    codes: list[int | None] = []
    started = anyio.Event()
    async with anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(write_until_closed, url, codes, started)
        await started.wait()
        async with httpx.AsyncClient() as http:
            response = await http.delete(
                f"{relay.url}/transcripts/{transcript_id}", headers=auth(admin)
            )
        assert response.status_code == 204, response.text
    return codes


def test_delete_while_clients_write_leaves_no_row_in_the_log(
    relay: Relay, database_url: str
) -> None:
    editor = relay.token("ana", "acme", "editor")
    for _ in range(RUNS):
        transcript_id = relay.create_transcript(editor)
        codes = anyio.run(delete_while_writing, relay, transcript_id)
        assert codes == [4404, 4404]
        assert rows(database_url, transcript_id) == 0
    assert relay.running


def test_writes_in_flight_at_the_delete_are_refused_with_4404(relay: Relay) -> None:
    editor = relay.token("ana", "acme", "editor")
    transcript_id = relay.create_transcript(editor)
    anyio.run(delete_while_writing, relay, transcript_id)

    assert anyio.run(close_code, f"{relay.ws}/sync/{transcript_id}?token={editor}") == 4404


def test_a_deleted_id_is_never_created_again_by_another_org(
    relay: Relay, database_url: str
) -> None:
    editor = relay.token("ana", "acme", "editor")
    transcript_id = relay.create_transcript(editor)
    anyio.run(delete_while_writing, relay, transcript_id)
    for token in (relay.token("zed", "other", "editor"), editor):
        response = httpx.post(
            f"{relay.url}/transcripts",
            json={"transcript_id": transcript_id, "client_doc": True},
            headers=auth(token),
        )
        assert response.status_code == 409, response.text
        assert response.json() == {"error": f"transcript_id {transcript_id} is not available"}
        exported = httpx.get(
            f"{relay.url}/transcripts/{transcript_id}/export?format=json", headers=auth(token)
        )
        assert exported.status_code == 404
        assert "secreto" not in exported.text
    assert rows(database_url, transcript_id) == 0


def test_creating_another_orgs_id_answers_as_any_taken_id(relay: Relay) -> None:
    ana = relay.token("ana", "acme", "editor")
    zed = relay.token("zed", "other", "editor")
    theirs = relay.create_transcript(ana)
    mine = f"t-{uuid.uuid4().hex[:12]}"
    relay.create_transcript(zed, transcript_id=mine)

    def create(transcript_id: str) -> tuple[int, Any]:
        response = httpx.post(
            f"{relay.url}/transcripts", json={"transcript_id": transcript_id}, headers=auth(zed)
        )
        return response.status_code, response.json()

    status, body = create(theirs)
    assert (status, body) == (409, {"error": f"transcript_id {theirs} is not available"})
    assert create(mine) == (409, {"error": f"transcript_id {mine} is not available"})

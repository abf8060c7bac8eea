"""Transcripts over the relay's frame limit sync both ways, in parts, on a real relay.

Before, the frame limit refused them in both directions, and the agent and ``minuta
worker`` reconnected forever. Now a sync larger than a part goes as several updates
(:func:`engine.split_update`), and a close that sending again cannot fix stops the
client's loop with the relay's reason.
"""

from __future__ import annotations

import anyio
import httpx
from _relay import PASSWORD, RelayProcess, connected, wait_until
from pycrdt import Map

from agent.credentials import Tokens, login
from agent.sync import Backoff, RelaySync
from engine import TranscriptDoc, protocol

SEGMENTS = 3000  # about 6.5 MiB encoded: over the 4 MiB frame limit


def long_meeting(transcript_id: str) -> TranscriptDoc:
    doc = TranscriptDoc.create(transcript_id, title="Larga", language="es")
    for n in range(SEGMENTS):
        doc.upsert_segment(
            f"s-{n}", rev=1, text=f"segmento {n} " + "palabra " * 250, t0=n, t1=n + 1
        )
    assert len(doc.encode_update()) > protocol.MAX_FRAME_BYTES
    return doc


def create(relay: RelayProcess, tokens: Tokens, transcript_id: str) -> None:
    response = httpx.post(
        f"{relay.url}/transcripts",
        json={"transcript_id": transcript_id, "title": "Larga", "client_doc": True},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert response.status_code == 201, response.text


def test_a_transcript_over_the_frame_limit_syncs_up_and_down(relay: RelayProcess) -> None:
    tokens = login(relay.url, "ana", PASSWORD)
    transcript_id = "large-1"
    create(relay, tokens, transcript_id)
    doc = long_meeting(transcript_id)  # recorded offline
    up = RelaySync(doc, tokens, backoff=Backoff(first_s=0.1), client="agent")
    down = RelaySync(TranscriptDoc(), tokens, transcript_id=transcript_id, client="worker")

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(up.run)
            with anyio.fail_after(120):
                await up.wait_acked()
            tg.start_soon(down.run)
            await wait_until(lambda: len(down.doc.snapshot()["segments"]) == SEGMENTS, 120)
            # A stock client (websockets' default 1 MiB frame limit) gets it all too.
            ws = relay.ws + f"/sync/{transcript_id}?token={tokens.access_token}"
            async with connected(ws) as plain:
                assert plain.doc.snapshot() == doc.snapshot()
            tg.cancel_scope.cancel()

    anyio.run(main)
    assert (up.connects, down.connects) == (1, 1)  # no refusal, no reconnect
    assert up.stopped is None and down.stopped is None
    assert down.doc.snapshot() == doc.snapshot()
    exported = httpx.get(
        f"{relay.url}/transcripts/{transcript_id}/export?fmt=json",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=60,
    )
    assert exported.status_code == 200
    assert len(exported.json()["segments"]) == SEGMENTS


def test_an_update_that_cannot_be_split_under_the_limit_stops_the_agent_with_the_reason(
    relay: RelayProcess,
) -> None:
    """A single value over the frame limit (here a 5 MiB binary) cannot be cut: the
    agent does not send it (the relay would close at every reconnect: with 4413 up to
    twice the limit, Hypercorn with 1009 beyond), stops and says why."""
    tokens = login(relay.url, "ana", PASSWORD)
    create(relay, tokens, "large-2")
    doc = TranscriptDoc.create("large-2", title="Larga")
    doc.doc["attachments"] = attachments = Map[bytes]()
    attachments["blob"] = b"\x00" * (5 * 2**20)
    sync = RelaySync(doc, tokens, backoff=Backoff(first_s=0.05, max_s=0.1), client="agent")

    async def main() -> None:
        with anyio.fail_after(60):
            await sync.run()  # returns: it gave up

    anyio.run(main)
    assert sync.connects == 1
    assert sync.stopped is not None
    assert "too large" in sync.stopped and "frames are limited to" in sync.stopped

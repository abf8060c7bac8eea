"""A stock browser-side Yjs client and pycrdt clients co-edit one transcript through the relay.

The browser is played by ``tests/node/coedit.mjs``: npm's ``yjs`` and ``y-websocket``, as
a web page would load them, run by Node with ``ws`` as its WebSocket. It edits with the
plain Yjs API following the engine's layout; the agent (an ASR writer) and a second person
(``bo``) are pycrdt replicas (``SyncClient``). Their edits are made concurrently with the
browser's: each is made before the browser's edits reach it and sent only once the browser
has made its own. Everyone must end with the same transcript, the relay's export included.

Needs ``web/node_modules``: ``npm ci --prefix web`` (the README's test command runs it).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import websockets
from _relay import RelayProcess as Relay
from _relay import SyncClient, prepare, relay_env, wait_until
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from pycrdt import Map

from engine import Snapshot, TranscriptDoc, protocol, to_json

WEB = Path(__file__).resolve().parents[1] / "web"
SCRIPT = Path(__file__).resolve().parent / "node" / "coedit.mjs"
PACKAGES = ("yjs", "y-websocket", "ws")

# What the ASR wrote first: segment_id -> (t0, t1, speaker, text, final). The emoji (two
# UTF-16 units, four UTF-8 bytes, one character) sits before both insertions into s2.
ASR = {
    "s1": (0.0, 2.5, "S1", "hola a todos bienvenidos a la reunión", True),
    "s2": (2.5, 6.0, "S2", "el presupuesto 👍 está aprobado para marzo", True),
    "s3": (6.0, 8.0, "S1", "gracias a todos", True),
    "s4": (8.0, 9.5, "S2", "y ahora los riesgos", False),
}
S1_REV2 = "hola a todos, bienvenidos a la reunión"
S1_REV3 = "Hola a todos, bienvenidos a la reunión."
S4_REV2 = "y ahora los riesgos del proyecto"
S5 = "siguiente punto"

# The browser (ana): corrects s1 (a final: it edits the ASR's Y.Text and claims it), inserts
# into the middle of s2, corrects s4 (a partial: it edits its own copy) and names S1.
S1_HUMAN = "¡Hola a todos! Bienvenidos a la reunión."
S4_HUMAN = "Y ahora, los riesgos."
BROWSER_INSERT = "ya "
# bo, concurrently: inserts into s2 further on, corrects s3 and names S2.
BO_INSERT = " por la junta"
S3_HUMAN = "Gracias a todos."
S2_MERGED = "el presupuesto 👍 ya está aprobado por la junta para marzo"

PLAN = {
    "user": "ana",
    "edits": [
        {"segment": "s1", "text": S1_HUMAN},
        {"segment": "s2", "index": ASR["s2"][3].index("está"), "insert": BROWSER_INSERT},
        {"segment": "s4", "text": S4_HUMAN},
    ],
    "rename": {"S1": "Ana"},
    "until": {
        "speakers": {"S2": "Bruno"},
        "revs": {"s1": 3, "s4": 2},
        "texts": {"s2": [BO_INSERT], "s3": [S3_HUMAN], "s5": [S5]},
    },
    "timeout_s": 60,
}
# The fields of a snapshot's segment that coedit.mjs computes too.
SHOWN = ("text", "source", "asr_text", "rev", "final", "speaker", "speaker_id", "edited_by")


@pytest.fixture(scope="module")
def node() -> str:
    """The node executable, once ``web/node_modules`` holds what coedit.mjs loads."""
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("Node.js is not installed: this test needs node (v20+) and npm")
    missing = [p for p in PACKAGES if not (WEB / "node_modules" / p / "package.json").is_file()]
    if missing:
        pytest.fail(
            f"web/node_modules lacks {', '.join(missing)}: run `npm ci --prefix web` "
            "(the README's test command does)",
            pytrace=False,
        )
    return exe


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    env = relay_env()
    data = tmp_path_factory.mktemp("relay") / "data"
    server = Relay(data, env, prepare(data, env)).start()
    yield server
    if server.running:
        server.stop()


class Browser:
    """coedit.mjs in a subprocess: its stdout read as JSON lines, its stderr kept."""

    def __init__(self, process: Process) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.process = process
        self.lines = BufferedByteReceiveStream(process.stdout)
        self.stderr = bytearray()

    async def keep_stderr(self) -> None:
        assert self.process.stderr is not None
        async for chunk in self.process.stderr:
            self.stderr += chunk

    async def message(self, event: str) -> dict[str, Any]:
        try:
            line = await self.lines.receive_until(b"\n", 2**24)
        except (anyio.IncompleteRead, anyio.EndOfStream):
            await self.process.wait()
            pytest.fail(
                f"coedit.mjs exited ({self.process.returncode}) before {event!r}:\n"
                + self.stderr.decode(errors="replace")
            )
        message = dict(json.loads(line))
        assert message["event"] == event, message
        return message


def held(client: SyncClient, fn: Callable[[TranscriptDoc], Any]) -> bytes:
    """Make a change on a replica now, and return the frame that sends it later."""
    state = client.doc.state_vector()
    fn(client.doc)
    return protocol.update(client.doc.encode_update(state))


def shown(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Per segment id, the fields that coedit.mjs computes too."""
    return {s["segment_id"]: {k: dict(s)[k] for k in SHOWN} for s in snapshot["segments"]}


def root(t: TranscriptDoc, name: str) -> Map[Any]:
    return t.doc.get(name, type=Map)


def write_asr(t: TranscriptDoc) -> None:
    for segment_id, (t0, t1, speaker, text, final) in ASR.items():
        t.upsert_segment(segment_id, rev=1, text=text, t0=t0, t1=t1, speaker=speaker, final=final)


def asr_revises(t: TranscriptDoc) -> None:
    t.upsert_segment("s1", rev=2, text=S1_REV2, t0=0.0, t1=2.5, speaker="S1", final=True)
    t.upsert_segment("s4", rev=2, text=S4_REV2, t0=8.0, t1=9.5, speaker="S2", final=True)


def asr_goes_on(t: TranscriptDoc) -> None:
    t.upsert_segment("s1", rev=3, text=S1_REV3, t0=0.0, t1=2.5, speaker="S1", final=True)
    t.upsert_segment("s5", rev=1, text=S5, t0=9.5, t1=11.0, speaker="S1", final=True)


def bo_edits(t: TranscriptDoc) -> None:
    t.edit_text("s2", ASR["s2"][3].index(" para"), 0, BO_INSERT, user="bo")
    t.set_text("s3", S3_HUMAN, user="bo")
    t.rename_speaker("S2", "Bruno")


def test_a_stock_yjs_client_and_pycrdt_clients_co_edit_and_converge(
    node: str, relay: Relay
) -> None:
    token = relay.login("ana")["access_token"]
    transcript_id = relay.create_transcript(token, "Presupuesto")
    url = f"{relay.ws}/sync/{transcript_id}?token={token}"

    async def main() -> tuple[dict[str, Any], SyncClient, SyncClient, str]:
        with anyio.fail_after(120):  # a guard against hanging, not a measure
            return await co_edit()

    async def co_edit() -> tuple[dict[str, Any], SyncClient, SyncClient, str]:
        async with (
            websockets.connect(url) as ws_agent,
            websockets.connect(url) as ws_bo,
            anyio.create_task_group() as tg,
        ):
            agent, bo = SyncClient(ws_agent), SyncClient(ws_bo)
            tg.start_soon(agent.run)
            tg.start_soon(bo.run)
            await agent.synced.wait()
            await bo.synced.wait()
            await agent.change(write_asr)
            await wait_until(lambda: sorted(bo.doc.segment_ids()) == sorted(ASR))
            # Made before the browser edits, sent after: concurrent with the browser's edits.
            from_agent, from_bo = held(agent, asr_revises), held(bo, bo_edits)
            async with await anyio.open_process(
                [node, str(SCRIPT), f"{relay.ws}/sync", transcript_id, json.dumps(PLAN)],
                stdin=subprocess.DEVNULL,
                env={**os.environ, "MINUTA_TOKEN": token},
            ) as process:
                browser = Browser(process)
                tg.start_soon(browser.keep_stderr)
                await browser.message("edited")
                await agent.ws.send(from_agent)
                await bo.ws.send(from_bo)
                # Once the browser's edits have reached the agent, the ASR goes on.
                await wait_until(lambda: agent.doc.snapshot()["segments"][0]["source"] == "human")
                await agent.change(asr_goes_on)
                final = await browser.message("final")
                await process.wait()
            node_doc = TranscriptDoc.from_update(base64.b64decode(final["update"]))
            with contextlib.suppress(TimeoutError):  # the asserts below say what differs
                await wait_until(
                    lambda: agent.doc.snapshot() == bo.doc.snapshot() == node_doc.snapshot()
                )
            tg.cancel_scope.cancel()
        assert process.returncode == 0, browser.stderr.decode(errors="replace")
        return final, agent, bo, browser.stderr.decode(errors="replace")

    final, agent, bo, stderr = anyio.run(main)
    # Stock y-websocket logs each frame of a type it does not know (the relay's ACKs) as
    # "Unable to compute message"; anything else (a second Yjs instance, say) is a fault.
    assert set(stderr.splitlines()) <= {"Unable to compute message"}, stderr

    # Every replica shows the same transcript, and the browser computed it as the engine does.
    snapshot = agent.doc.snapshot()
    assert bo.doc.snapshot() == snapshot
    assert TranscriptDoc.from_update(base64.b64decode(final["update"])).snapshot() == snapshot
    assert final["segments"] == shown(snapshot)
    speakers = {"S1": "Ana", "S2": "Bruno"}
    assert final["speakers"] == root(agent.doc, "speakers").to_py() == speakers

    segments = shown(snapshot)
    assert list(segments) == ["s1", "s2", "s3", "s4", "s5"]
    # The browser's correction of s1 survives the ASR's concurrent and later revisions.
    assert segments["s1"] == {
        "text": S1_HUMAN,
        "source": "human",
        "asr_text": S1_REV3,
        "rev": 3,
        "final": True,
        "speaker": "Ana",
        "speaker_id": "S1",
        "edited_by": "ana",
    }
    # Both concurrent insertions into s2's Y.Text, each where its author put it.
    assert segments["s2"]["text"] == S2_MERGED
    assert segments["s2"]["speaker"] == "Bruno"
    assert segments["s2"]["edited_by"] in {"ana", "bo"}
    assert (segments["s3"]["text"], segments["s3"]["edited_by"]) == (S3_HUMAN, "bo")
    # s4 was a partial: the browser edited a copy of its own, which outlives the final text.
    s4 = root(agent.doc, "segments")["s4"]
    assert s4["human_key"] == f"1.{final['client_id']}"
    assert (segments["s4"]["text"], segments["s4"]["asr_text"]) == (S4_HUMAN, S4_REV2)
    assert segments["s5"]["source"] == "asr" and segments["s5"]["speaker"] == "Ana"

    # The relay's merged document is the same.
    response = httpx.get(
        f"{relay.url}/transcripts/{transcript_id}/export",
        params={"fmt": "json"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == json.loads(json.dumps(to_json(snapshot)))

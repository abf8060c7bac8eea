"""The websocket rooms against hostile or broken peers, on a real relay (port 0).

A peer that never reads, a viewer that floods, oversized presence, an update sent before
the one it depends on, an empty frame, and presence or ``?client=agent`` abuse. Memory is
measured as the relay process's RSS (``/proc/<pid>/status``), with generous bounds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
import websockets
from _relay import (
    RelayProcess,
    SyncClient,
    close_code,
    connected,
    metric,
    prepare,
    relay_env,
    wait_until,
)
from sqlalchemy import Engine
from websockets.asyncio.client import ClientConnection

from engine import TranscriptDoc, decode_state, protocol
from engine.protocol import GONE, Presence
from relay.rooms import Connection, Rooms
from relay.updates import UpdateLog

MiB = 2**20


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    data = tmp_path_factory.mktemp("hostile") / "data"
    env = relay_env()
    server = RelayProcess(data, env, prepare(data, env)).start()
    yield server
    if server.running:
        server.stop()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@contextlib.contextmanager
def peak_rss(pid: int) -> Iterator[list[float]]:
    """Samples the process's RSS every 20 ms; yields [baseline, peak]."""
    seen = [rss_mib(pid), 0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                seen[1] = max(seen[1], rss_mib(pid))
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


@contextlib.asynccontextmanager
async def never_reading(url: str) -> AsyncIterator[ClientConnection]:
    """A websocket that says sync step 1, then never reads again (a tiny receive buffer,
    reading paused): what a frozen tab or a hostile viewer looks like to the relay."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname, parts.port))
    sock.setblocking(False)
    async with websockets.connect(
        url, sock=sock, max_queue=1, ping_interval=None, compression=None
    ) as ws:
        await ws.send(protocol.sync_step1(b"\x00"))
        ws.transport.pause_reading()
        yield ws


def big_text(n: int, size: int) -> str:
    return f"{n:04d}" + "x" * (size - 4)


def test_a_peer_that_never_reads_does_not_stall_its_room_and_is_closed(
    relay: RelayProcess,
) -> None:
    """The writer gets every ACK, a listener every update, Regenerate answers, while a
    viewer reads nothing; the viewer, too far behind, is closed (it used to stall all)."""
    token = relay.login("ana")["access_token"]
    viewer = relay.login("vi")["access_token"]
    transcript_id = relay.create_transcript(token)
    url = f"{relay.ws}/sync/{transcript_id}?token={token}"
    updates = 64  # of 512 KiB: far more than the socket buffers and the send queue hold
    dropped_before = behind(relay)

    async def main() -> tuple[SyncClient, int, int | None]:
        stuck_url = f"{relay.ws}/sync/{transcript_id}?token={viewer}"
        async with never_reading(stuck_url) as stuck, connected(url) as listener:
            async with connected(url) as writer:
                with anyio.fail_after(60):
                    for n in range(updates):
                        await writer.change(
                            lambda d, n=n: d.upsert_segment(
                                f"s{n}", rev=1, text=big_text(n, 512 * 2**10), t0=n, t1=n + 1
                            )
                        )
                    await wait_until(writer.acked, timeout_s=60)
                    await wait_until(lambda: len(listener.doc.segment_ids()) == updates, 60)
                    async with httpx.AsyncClient(timeout=60) as http:
                        summary = await http.post(
                            f"{relay.url}/transcripts/{transcript_id}/summary",
                            headers={"Authorization": f"Bearer {token}"},
                        )
                    await wait_until(lambda: behind(relay) > dropped_before, timeout_s=30)
            # The relay dropped it: reading again, it finds the connection gone.
            stuck.transport.resume_reading()
            with anyio.fail_after(30), contextlib.suppress(websockets.ConnectionClosed):
                async for _ in stuck:
                    pass
            return listener, summary.status_code, stuck.close_code

    listener, status, code = anyio.run(main)
    assert status == 200
    assert sorted(listener.doc.segment_ids()) == sorted(f"s{n}" for n in range(updates))
    assert code == 1006  # cut off (aborted), not a close frame queued behind what it never read


def behind(relay: RelayProcess) -> float:
    """How many peers the relay dropped for being too far behind."""
    name = 'minuta_rejected_frames_total{reason="behind"}'
    return metric(relay, name) if name in httpx.get(f"{relay.url}/metrics").text else 0.0


def test_a_flood_from_one_viewer_does_not_grow_the_relays_memory(
    relay: RelayProcess, tmp_path: Path
) -> None:
    """A viewer sending 1 MiB updates as fast as it can, then 1 MiB presence states:
    the relay used to buffer everything it had not handled yet (2.6 GiB in 8 s)."""
    relay = RelayProcess(relay.data_dir, relay.env, relay.flags).start()  # nothing else on it
    try:
        _flood(relay)
    finally:
        relay.stop()


def _flood(relay: RelayProcess) -> None:
    assert relay.process is not None
    pid = relay.process.pid
    editor = relay.login("ana")["access_token"]
    viewer = relay.login("vi")["access_token"]
    transcript_id = relay.create_transcript(editor)
    url = f"{relay.ws}/sync/{transcript_id}?token={viewer}"
    doc = TranscriptDoc()
    doc.upsert_segment("s1", rev=1, text="x" * MiB, t0=0, t1=1)
    update = protocol.update(doc.encode_update())
    state = b'"' + b"y" * MiB + b'"'
    presence = protocol.awareness(protocol.encode_awareness([Presence(4242, 1, state)]))

    async def flood(frame: bytes, seconds: float) -> int:
        sent = 0
        async with never_reading(url) as ws:
            with anyio.move_on_after(seconds):
                while True:
                    await ws.send(frame)
                    sent += len(frame)
        return sent

    with peak_rss(pid) as seen:
        sent = anyio.run(flood, update, 4.0)
        sent += anyio.run(flood, presence, 4.0)
    baseline, peak = seen
    assert sent >= 16 * MiB  # the relay took at least its burst
    assert peak - baseline < 64, f"RSS {baseline:.0f} -> {peak:.0f} MiB after {sent / MiB:.0f} MiB"


def test_presence_over_the_size_cap_is_refused(relay: RelayProcess) -> None:
    token = relay.login("ana")["access_token"]
    url = f"{relay.ws}/sync/{relay.create_transcript(token)}?token={token}"
    big = Presence(31, 1, b'{"user":{"name":"' + b"A" * (8 * 2**10) + b'"}}')
    small = Presence(32, 1, b'{"user":{"name":"Ana"}}')

    async def main() -> tuple[SyncClient, SyncClient]:
        async with connected(url) as watcher, connected(url) as sender:
            for entry in (big, small):
                await sender.ws.send(protocol.awareness(protocol.encode_awareness([entry])))
            await wait_until(lambda: [small] in watcher.presence)
            async with connected(url) as late:
                await wait_until(lambda: bool(late.presence))
                return watcher, late

    watcher, late = anyio.run(main)
    assert all(entry.client_id != 31 for frame in watcher.presence for entry in frame)
    assert late.presence[0] == [small]


def test_a_dependent_update_sent_before_its_dependency_is_stored_before_it_is_acked(
    relay: RelayProcess,
) -> None:
    """B, a person's correction of the agent's segment A, arrives before A (yrs keeps it
    waiting). The ACK after A covers B, so B must be in the log by then: after the room
    unloads and reloads, everything acked is there (B used to be acked and lost)."""
    token = relay.login("ana")["access_token"]
    transcript_id = relay.create_transcript(token)
    url = f"{relay.ws}/sync/{transcript_id}?token={token}"
    agent, person = TranscriptDoc(), TranscriptDoc()
    agent.upsert_segment("a", rev=1, text="primero", t0=0, t1=1, final=True)
    first = agent.encode_update()
    person.apply_update(first)
    before = person.state_vector()
    person.upsert_segment("a", rev=2, text="primero, corregido", t0=0, t1=1, final=True)
    second = person.encode_update(before)

    def rooms_open() -> int:
        return int(httpx.get(f"{relay.url}/healthz").json()["rooms"])

    async def main() -> tuple[bytes, TranscriptDoc]:
        async with connected(url) as client:
            await client.ws.send(protocol.update(second))
            await wait_until(lambda: len(client.acks) >= 2)  # sync step 2's and B's
            await client.ws.send(protocol.update(first))
            await wait_until(lambda: len(client.acks) >= 3)
            acked = protocol.parse_ack(client.acks[-1])[0]
        await wait_until(lambda: rooms_open() == 0, timeout_s=10)
        async with connected(url) as fresh:
            return acked, fresh.doc

    acked, reloaded = anyio.run(main)
    covered = decode_state(acked)
    assert all(covered.get(c, 0) >= n for c, n in decode_state(person.state_vector()).items())
    assert reloaded.snapshot()["segments"][0]["text"] == "primero, corregido"


def test_an_empty_frame_is_a_protocol_error_not_a_presence_timeout(relay: RelayProcess) -> None:
    token = relay.login("ana")["access_token"]
    url = f"{relay.ws}/sync/{relay.create_transcript(token)}?token={token}"
    assert anyio.run(close_code, url, [b""]) == 4400
    assert anyio.run(close_code, url, [""]) == 4400


def test_a_viewer_cannot_overwrite_or_remove_anothers_presence(relay: RelayProcess) -> None:
    editor = relay.login("ana")["access_token"]
    viewer = relay.login("vi")["access_token"]
    transcript_id = relay.create_transcript(editor)
    ana = Presence(1234, 3, b'{"user":{"name":"Ana"}}')
    forged = [Presence(1234, 9, b'{"user":{"name":"forged"}}'), Presence(1234, 10, GONE)]
    marker = Presence(999, 1, b'{"user":{"name":"vi"}}')

    async def main() -> tuple[list[list[Presence]], list[list[Presence]]]:
        base = f"{relay.ws}/sync/{transcript_id}?token="
        async with connected(base + editor) as bo, connected(base + editor) as a:
            await a.ws.send(protocol.awareness(protocol.encode_awareness([ana])))
            await wait_until(lambda: [ana] in bo.presence)
            async with connected(base + viewer) as vi:
                for entry in forged:
                    await vi.ws.send(protocol.awareness(protocol.encode_awareness([entry])))
                await vi.ws.send(protocol.awareness(protocol.encode_awareness([marker])))
                await wait_until(lambda: [marker] in bo.presence)
            async with connected(base + editor) as late:
                with contextlib.suppress(TimeoutError):  # nothing, if ana was removed
                    await wait_until(lambda: bool(late.presence), timeout_s=3)
                # Copied now: once ``a`` leaves, bo rightly hears that 1234 is gone.
                return list(bo.presence), list(late.presence)

    bo_heard, late_heard = anyio.run(main)
    assert late_heard, "ana's presence was removed by the viewer"
    heard = [entry for frame in bo_heard for entry in frame if entry.client_id == 1234]
    assert heard == [ana]
    assert ana in late_heard[0]


def test_only_an_editors_agent_makes_a_transcript_live(relay: RelayProcess) -> None:
    editor = relay.login("ana")["access_token"]
    viewer = relay.login("vi")["access_token"]
    transcript_id = relay.create_transcript(editor)
    headers = {"Authorization": f"Bearer {editor}"}

    def live() -> bool:
        url = f"{relay.url}/transcripts/{transcript_id}"
        return bool(httpx.get(url, headers=headers).json()["live"])

    async def main() -> list[bool]:
        base = f"{relay.ws}/sync/{transcript_id}?client=agent&token="
        async with connected(base + viewer):
            seen = [await anyio.to_thread.run_sync(live)]
            async with connected(base + editor):
                seen.append(await anyio.to_thread.run_sync(live))
        return seen

    assert anyio.run(main) == [False, True]


def test_a_sync_step_1_is_charged_by_the_size_of_its_answer(relay: RelayProcess) -> None:
    """A loop of sync step 1 on a large doc costs the relay an encoding and a send of the
    whole doc each time: the throttle counts those bytes, not the frame's few."""
    editor = relay.login("ana")["access_token"]
    viewer = relay.login("vi")["access_token"]
    transcript_id = relay.create_transcript(editor)
    base = f"{relay.ws}/sync/{transcript_id}?token="
    asks = 20

    async def main() -> int:
        async with connected(base + editor) as writer:
            for n in range(2):
                await writer.change(
                    lambda d, n=n: d.upsert_segment(
                        f"s{n}", rev=1, text=big_text(n, 512 * 2**10), t0=n, t1=n + 1
                    )
                )
            await wait_until(writer.acked)
        answers = 0
        async with websockets.connect(base + viewer, max_size=None) as ws:
            with anyio.fail_after(60):
                for _ in range(asks):  # each once the last is answered
                    await ws.send(protocol.sync_step1(b"\x00"))
                    async for frame in ws:
                        assert isinstance(frame, bytes)
                        if frame[:2] == bytes([protocol.SYNC, protocol.Kind.SYNC_STEP2]):
                            answers += 1
                            break
        return answers

    before = metric(relay, "minuta_throttled_seconds_total")
    assert anyio.run(main) == 20
    # 20 answers of 1 MiB: 12 MiB past the 8 MiB burst, at 4 MiB/s.
    assert metric(relay, "minuta_throttled_seconds_total") - before > 0.5


def test_repeated_sync_step_1_reuses_the_encoded_doc(engine: Engine) -> None:
    """Encoding a large doc holds the GIL; the answer for one version is encoded once."""
    frames: list[bytes] = []

    async def send(frame: bytes) -> None:
        frames.append(frame)

    async def main() -> None:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-cache")
            connection = Connection(send, "vi", can_write=False)
            await room.join(connection)
            for state in (b"\x00", b"\x00", b"\x01\x05\x00"):  # empty, and a stranger's
                await room.accept(connection, protocol.sync_step1(state))

    anyio.run(main)
    assert frames[-1] is frames[-2] is frames[-3]


def test_a_throttled_peer_that_vanishes_is_let_go_at_once(relay: RelayProcess) -> None:
    """A peer sends far more frames than its rate allows, then its socket is reset. The
    relay reads a throttled peer only as fast as its rate (so what it sent waits in the
    socket), yet must see it gone and drop it, not handle its backlog for minutes."""
    slow = RelayProcess(relay.data_dir, relay.env, [*relay.flags, "--max-frames-per-s", "20"])
    slow.start()
    try:
        token = slow.login("ana")["access_token"]
        viewer = slow.login("vi")["access_token"]  # nothing is sent back to it
        url = f"{slow.ws}/sync/{slow.create_transcript(token)}?token={viewer}"

        async def main() -> None:
            async with websockets.connect(url, compression=None) as ws:
                for _ in range(50_000):  # 40 minutes of frames at 20 a second
                    await ws.send(protocol.update(b"\x00\x00"))
                await wait_until(lambda: metric(slow, "minuta_connections") == 1)
                ws.transport.abort()
            await wait_until(lambda: metric(slow, "minuta_connections") == 0, timeout_s=15)

        anyio.run(main)
    finally:
        slow.stop()

"""The attacks of ``bench/relay.py --attacks``: what one client sends to a relay.

Each attack is a coroutine that runs until a deadline (``time.perf_counter``) and says what
it sent and how the relay ended its connections; ``bench/_relay_attacks.py`` runs each one
against a fresh relay while a probe in another room measures its round trips. A flooding
client keeps reading what the relay sends it (only attack 1 stops reading), and reconnects
whenever the relay closes it, so that the attack lasts its whole time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
import httpx
import pycrdt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench import relay as base
from engine import TranscriptDoc, decode_state, protocol

MIB = 2**20
WRITER_RATE = 50.0  # attack 1: the writer's updates per second...
WRITER_UPDATE_BYTES = 64 * 2**10  # ...of this size: more than the kernel's socket buffers
LOGINS = 200
LOGINS_AT_ONCE = 8  # requests in flight: one client with a small connection pool
MALFORMED: list[bytes | str] = [
    b"",  # an empty binary frame
    b"\x00",  # too short
    bytes([0, 2, 5, 0]),  # an update whose length claims more bytes than it has
    bytes([9, 0, 0]),  # an unknown message type
    bytes([0, 7, 0]),  # an unknown sync message
    "not a binary frame",
]


@dataclass(frozen=True)
class Target:
    """Where an attack goes: the relay's URLs, tokens and the rooms made for it."""

    http: str
    ws: str
    editor: str  # the attacker's tokens (another user than the probe's)
    viewer: str
    writer: str  # a well-behaved editor in the attacker's room (attack 1)
    room: str  # the attacker's room
    big_room: str  # holds the 2-hour doc (attacks 5 and 6)

    def sync_url(self, token: str, room: str | None = None) -> str:
        return f"{self.ws}/sync/{room or self.room}?token={token}"


@dataclass
class Sent:
    """What an attack sent, and how each of its connections ended."""

    unit: str = "frames"
    count: int = 0
    sent_bytes: int = 0
    received_bytes: int = 0
    ends: Counter[str] = field(default_factory=Counter)  # close code (or HTTP status): times
    note: str = ""
    sending_s: float | None = None  # if it did more than send (attack 1 reads at the end)

    def add(self, item: bytes | str) -> None:
        self.count += 1
        self.sent_bytes += len(item)


# ------------------------------------------------------------------ what they send


@functools.cache
def two_hour_doc() -> bytes:
    """``bench/engine.py``'s 2-hour meeting (1,500 segments x 10 revisions) as one update."""
    return base.engine_bench.build(1500, 10).encode_update()


@functools.cache
def small_updates(count: int = 40_000) -> list[bytes]:
    """Valid ~150-byte updates: revisions of one partial segment, each replacing the last,
    so that the doc stays small and the relay's RSS shows its buffers, not the doc."""
    doc = TranscriptDoc()
    words = base.engine_bench.VOCAB
    updates = []
    for rev in range(1, count + 1):
        state = doc.state_vector()
        text = " ".join(words[(rev + i) % len(words)] for i in range(12))
        doc.upsert_segment("flood", rev=rev, text=text, t0=0.0, t1=4.0, speaker="S1")
        updates.append(doc.encode_update(state))
    return updates


@functools.cache
def update_at_the_limit() -> bytes:
    """An update whose frame is as large as the relay takes."""
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    text = doc.get("t", type=pycrdt.Text)
    text.insert(0, "x" * (protocol.MAX_FRAME_BYTES - 64))  # not ``+=``: that empties a Y.Text
    return doc.get_update()


@functools.cache
def writer_updates(count: int = int(WRITER_RATE * 10)) -> tuple[list[bytes], int, list[int]]:
    """Attack 1's writer: ``count`` revisions of one partial segment of ~64 KiB each (the
    doc stays small: each replaces the last), with its client id and clocks for ACKs."""
    doc = TranscriptDoc()
    frames, ends = [], []
    words = " ".join(base.engine_bench.VOCAB)
    text = (words * (WRITER_UPDATE_BYTES // len(words) + 1))[:WRITER_UPDATE_BYTES]
    for rev in range(1, count + 1):
        state = doc.state_vector()
        doc.upsert_segment("big-partial", rev=rev, text=f"{rev} {text}", t0=0.0, t1=1.0)
        frames.append(protocol.update(doc.encode_update(state)))
        ends.append(decode_state(doc.state_vector())[doc.client_id])
    return frames, doc.client_id, ends


def warm() -> None:
    """Build what the attacks send beforehand, so none of it runs during one."""
    two_hour_doc(), small_updates(), update_at_the_limit(), writer_updates()


def awareness_frames(big: bool) -> Iterator[bytes]:
    """Presence updates: one client's 1 MiB state, or 64 small states of new client ids."""
    ids = itertools.count(1000)
    for clock in itertools.count(1):
        if big:
            state = json.dumps({"user": {"name": "x" * (MIB - 64)}}).encode()
            entries = [protocol.Presence(4242, clock, state)]
        else:
            entries = [
                protocol.Presence(next(ids), clock, b'{"user":{"name":"m","color":"#f00"}}')
                for _ in range(protocol.MAX_AWARENESS_ENTRIES)
            ]
        yield protocol.awareness(protocol.encode_awareness(entries))


# ------------------------------------------------------------------ connections

Send = Callable[[ClientConnection], Awaitable[None]]


async def session(url: str, send: Send, until: float, sent: Sent) -> None:
    """One connection: ``send`` on it, reading everything, until the relay closes it or
    ``until`` passes; counts how it ended (a close code, or "open at the end")."""
    try:
        # No compression: each frame's bytes go on the wire, as the table says.
        ws = await connect(url, max_size=None, open_timeout=10, compression=None)
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        sent.ends[type(exc).__name__] += 1
        await anyio.sleep(0.01)
        return
    ended = anyio.Event()

    async def drain() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                sent.received_bytes += len(message)
        ended.set()  # not on cancellation: the relay (or the network) ended it

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain)
            with anyio.move_on_after(max(0.0, until - time.perf_counter())):
                with contextlib.suppress(ConnectionClosed):
                    await send(ws)
                await ended.wait()  # all sent (one malformed frame): wait for the relay
            tg.cancel_scope.cancel()
    finally:
        # A polite close would wait behind the frames the relay has not read yet.
        if not ended.is_set():
            ws.transport.abort()
        with anyio.move_on_after(2):
            await ws.wait_closed()
    sent.ends[str(ws.close_code) if ended.is_set() else "open at the end"] += 1


def sender(frames: Iterator[bytes | str], sent: Sent, until: float) -> Send:
    """Send ``frames`` as fast as the socket takes them (``send`` waits when it is full)."""

    async def send(ws: ClientConnection) -> None:
        for i, frame in enumerate(frames):
            await ws.send(frame)
            sent.add(frame)
            # A send that need not wait does not yield: let the reader and deadline in.
            if i % 64 == 63:
                if time.perf_counter() >= until:
                    return
                await anyio.lowlevel.checkpoint()

    return send


async def flood(url: str, frames: Iterator[bytes | str], until: float) -> Sent:
    """Flood on one connection; reconnect if the relay closes it."""
    sent = Sent()
    send = sender(frames, sent, until)
    while time.perf_counter() < until:
        await session(url, send, until, sent)
    return sent


async def one_frame_each(url: str, frames: list[bytes | str], until: float) -> Sent:
    """Connect, send one frame, wait to be closed; again with the next frame."""
    sent = Sent()
    for frame in itertools.cycle(frames):
        if time.perf_counter() >= until:
            break
        await session(url, sender(iter([frame]), sent, until), until, sent)
    return sent


# ------------------------------------------------------------------ the attacks


async def slow_viewer(t: Target, until: float) -> Sent:
    """1. A viewer that stops reading (a 4 KiB receive buffer, its transport paused) while
    a writer in its room sends 64 KiB updates at 50/s."""
    host, port = urlsplit(t.ws).hostname or "127.0.0.1", urlsplit(t.ws).port or 80
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    viewer = await connect(
        t.sync_url(t.viewer), sock=sock, max_size=None, close_timeout=1, compression=None
    )
    await viewer.send(protocol.sync_step1(base.EMPTY_STATE))
    viewer.transport.pause_reading()
    frames, client_id, ends = writer_updates()  # more than it has time to send
    sent = Sent(unit="writer updates")
    async with anyio.create_task_group() as tg:
        writer = await base.open_client(t.ws, t.room, t.writer, tg, 1)
        writer.client_id, writer.ends = client_id, ends
        with anyio.move_on_after(max(0.0, until - time.perf_counter())):
            await writer.steady(frames, WRITER_RATE, time.perf_counter())
        sent.count = len(writer.sent)
        sent.sending_s = writer.sent[-1] - writer.sent[0] if writer.sent else 0.0
        sent.sent_bytes = sum(map(len, frames[: sent.count]))
        with anyio.move_on_after(2):  # the last ACKs, if the room is not stalled
            while len(writer.acks) < sent.count:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        sent.note = f"writer: {len(writer.acks)} of {sent.count} acked"
        await writer.ws.close()
        tg.cancel_scope.cancel()
    # Now read: what the relay kept for the viewer, then its close if it sent one.
    viewer.transport.resume_reading()
    ended = False
    with anyio.move_on_after(5):
        with contextlib.suppress(ConnectionClosed):
            async for message in viewer:
                sent.received_bytes += len(message)
        ended = True
    sent.ends[str(viewer.close_code) if ended else "open at the end"] += 1
    await viewer.close()
    return sent


async def big_updates_viewer(t: Target, until: float) -> Sent:
    """2. A viewer sending update frames at the frame limit as fast as it can."""
    return await flood(t.sync_url(t.viewer), itertools.repeat(protocol.update(update_at_the_limit())),
                       until)  # fmt: skip


async def small_updates_editor(t: Target, until: float) -> Sent:
    """3. An editor sending valid small updates as fast as it can (then echoes of the
    last one, should it run out)."""
    updates = small_updates()
    frames = (protocol.update(u) for u in itertools.chain(updates, itertools.repeat(updates[-1])))
    return await flood(t.sync_url(t.editor), frames, until)


async def big_awareness(t: Target, until: float) -> Sent:
    """4a. One client's 1 MiB awareness state, again and again."""
    return await flood(t.sync_url(t.viewer), awareness_frames(big=True), until)


async def small_awareness(t: Target, until: float) -> Sent:
    """4b. Awareness frames of 64 small states each, every one a new client id."""
    return await flood(t.sync_url(t.viewer), awareness_frames(big=False), until)


async def sync_loop(t: Target, until: float) -> Sent:
    """5. Sync step 1 from scratch, in a loop, in the room of the 2-hour doc."""
    frames = itertools.repeat(protocol.sync_step1(base.EMPTY_STATE))
    return await flood(t.sync_url(t.viewer, t.big_room), frames, until)


async def export_loop(t: Target, until: float) -> Sent:
    """6. ``GET /transcripts/<id>/export`` of the 2-hour doc, one after the other."""
    sent = Sent(unit="exports")
    headers = {"Authorization": f"Bearer {t.viewer}"}
    async with httpx.AsyncClient(base_url=t.http, headers=headers, timeout=30) as http:
        while time.perf_counter() < until:
            try:
                response = await http.get(f"/transcripts/{t.big_room}/export?fmt=md")
            except httpx.HTTPError as exc:
                sent.ends[type(exc).__name__] += 1
                continue
            sent.count += 1
            sent.received_bytes += len(response.content)
            sent.ends[f"HTTP {response.status_code}"] += 1
    return sent


async def crafted_updates(t: Target, until: float) -> Sent:
    """7. The crafted updates of ``bench/relay.py`` 6a, one per connection."""
    frames: list[bytes | str] = [protocol.update(data) for data in base.CRAFTED]
    return await one_frame_each(t.sync_url(t.editor), frames, until)


async def malformed_frames(t: Target, until: float) -> Sent:
    """8. Empty and malformed frames, one per connection."""
    return await one_frame_each(t.sync_url(t.viewer), MALFORMED, until)


async def login_flood(t: Target, until: float) -> Sent:
    """9. 200 logins with wrong passwords, each for another username (a per-username
    lockout alone does not stop them), a few at a time."""
    sent = Sent(unit="logins")
    limiter = anyio.CapacityLimiter(LOGINS_AT_ONCE)
    async with httpx.AsyncClient(base_url=t.http, timeout=30) as http:

        async def login(i: int) -> None:
            body = {"username": f"guess{i}", "password": f"wrong password {i}"}
            async with limiter:
                try:
                    response = await http.post("/auth/login", json=body)
                except httpx.HTTPError as exc:
                    sent.ends[type(exc).__name__] += 1
                    return
            sent.add(json.dumps(body))
            sent.ends[f"HTTP {response.status_code}"] += 1

        with anyio.move_on_after(max(0.0, until - time.perf_counter())):
            async with anyio.create_task_group() as tg:
                for i in range(LOGINS):
                    tg.start_soon(login, i)
    if sent.count < LOGINS:
        sent.note = f"only {sent.count} of {LOGINS} answered in time"
    return sent

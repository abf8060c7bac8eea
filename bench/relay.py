"""Benchmark the relay: durable throughput, latency, fan-out, cold loads, memory, floods.

Each figure, and how it is measured (``--quick`` shrinks every one of them):

1. **Persisted updates/s.** (a) In process: many tasks each ``await UpdateLog.append``
   (which returns once the update is committed) on a fresh database, with agent-like
   updates of ~150-350 bytes (a partial revision of a segment each); appends/s and the
   mean group-commit size. (b) If ``pycrdt.store`` is installed, the stock
   ``SQLiteYStore`` writing the same kind of updates, one transaction each, for
   reference. (c) End to end: ``minuta relay`` in a subprocess, websocket writers (each
   in its own room, spread over ``--procs`` client processes) sending pre-encoded updates
   with up to 8 unacknowledged each; updates acknowledged per second, from the first send
   to the last ACK. Also one writer alone: the relay handles a connection's frames one
   at a time, each after the previous one's commit.
2. **ACK latency p50 / p99**: writers sending at a steady rate, each at its own phase (a
   reader in each room), time from ``send`` to the ACK frame arriving (the relay
   acknowledges after the commit).
3. **Fan-out latency**: 50 rooms x 4 clients, one writer per room at a steady rate, the
   other three only receive (they do not apply the updates); time from the writer's send
   to each receipt, timestamped with ``time.perf_counter`` in the receiving task (a
   system-wide monotonic clock; a room's clients share a process anyway).

   For figures 1c-3 the clients run in ``--procs`` processes apart from the relay. To
   tell client-side overhead from the relay's, each row's "while" line gives the relay's
   own view from its ``/metrics`` histograms (arrival to commit, arrival to ACK sent:
   bucket upper bounds), the SQL snapshots it wrote meanwhile, its CPU use and the
   clients', and the clients' event-loop lag (how late a 5 ms sleep wakes, p99).
4. **Cold load of a 2-hour room**: ``bench/engine.py``'s 2-hour transcript (1,500
   segments x 10 revisions) stored as one update per transaction, as an agent sends
   them (~15,000 rows); time of ``Rooms.open`` on a new ``Rooms`` (a relay that has not
   seen the room; the database file is in the OS cache), median of 3, and the longest
   the event loop stalled meanwhile (so many rows are squashed in a worker process).
   Then the relay's compaction (``relay/compaction.py``, in a worker process: its time
   and the event loop's longest stall meanwhile), and the cold load of the one row.
5. **Memory per room**: a fresh relay; a client per room sends a 10-minute transcript
   (125 segments x 10 revisions, as one update) and stays connected; growth of the
   relay's RSS (``/proc/PID/status``) divided by the rooms, once the SQL projections
   are written. Also the RSS left once every client has gone (rooms unloaded).
6. **Malformed-update floods** (``--flood`` runs only this figure): (a) time of
   ``pycrdt.Doc().apply_update`` on tiny crafted updates whose headers claim millions of
   clients (what a stock pycrdt-websocket room would spend, holding the GIL; the first
   one also pays for faulting in ~0.5 GiB); (b) ``check_update`` on the same frames, and
   on a valid update; (c) end to end: 4 attackers reconnect in a loop, each connection
   sending one crafted update frame (the relay closes it, code 4400), up to 1,000
   frames, while a well-behaved writer in another room measures its ACK latency during
   the attack, compared with the same writer without it; plus the relay's peak RSS.

Prints a Markdown table on stdout (progress on stderr).

    python -m bench.relay [--quick] [--flood | --attacks] [--procs 2] [--postgres URL] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import math
import multiprocessing
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

# This file is named like the package it measures; keep its folder off the import path, and
# the repository on it (``python bench/relay.py`` works too).
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
if not any(Path(p or ".").resolve() == ROOT for p in sys.path):
    sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
import anyio.to_process  # noqa: E402
import httpx  # noqa: E402
import pycrdt  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

import bench.engine as engine_bench  # noqa: E402
from engine import (  # noqa: E402  # noqa: E402
    InvalidUpdateError,
    TranscriptDoc,
    check_update,
    decode_state,
    protocol,
)
from engine.protocol import Kind  # noqa: E402
from relay.compaction import Compactor  # noqa: E402
from relay.db import connect as db_connect  # noqa: E402
from relay.db import upgrade  # noqa: E402
from relay.rooms import Rooms  # noqa: E402
from relay.updates import UpdateLog  # noqa: E402

MINUTA = Path(sys.executable).parent / "minuta"
SECRET = "bench-secret-" + "x" * 40
PASSWORD = "correct horse battery staple"
USER, ORG = "bench", "bench"
EMPTY_STATE = b"\x00"  # the state vector of an empty doc
EMPTY_UPDATE = b"\x00\x00"  # the update that changes nothing
# Tiny updates whose headers claim ~2**28 clients (or structs): yrs allocates for them all.
CRAFTED = [
    bytes.fromhex("ffffff7c01070182"),
    bytes.fromhex("8080807c00"),
    bytes.fromhex("808080800100"),
    bytes.fromhex("ffffff3f00"),
]

Row = tuple[str, str, str]  # figure, measured, target


@dataclass(frozen=True)
class Sizes:
    appends: int = 12_800
    appenders: tuple[int, ...] = (64, 256)
    ystore_writes: int = 300
    writers: int = 64
    writer_updates: int = 300
    window: int = 8
    ack_rooms: int = 10
    ack_rate: float = 20.0
    ack_s: float = 5.0
    fanout_rooms: int = 50
    fanout_clients: int = 4
    fanout_rate: float = 5.0
    fanout_s: float = 10.0
    segments: int = 1500
    revisions: int = 10
    repeat: int = 3
    memory_rooms: int = 40
    memory_segments: int = 125
    settle_s: float = 2.5  # for the SQL projections (written ~1 s after a change)
    direct_frames: int = 4
    attack_frames: int = 1000  # at most: the attack stops at the end of the writer's run
    attackers: int = 4
    victim_rate: float = 50.0
    victim_s: float = 8.0


QUICK = Sizes(
    appends=3_200, appenders=(64,), ystore_writes=100, writers=16, writer_updates=100,
    ack_rooms=4, ack_s=1.5, fanout_rooms=10, fanout_s=2.0, segments=300, repeat=1,
    memory_rooms=8, settle_s=1.5, direct_frames=2, attack_frames=200, victim_s=2.5,
)  # fmt: skip


# ------------------------------------------------------------------ measuring


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def proc_status_mib(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process (VmRSS, VmHWM) from ``/proc/PID/status``, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(f"no {field} for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Say on stderr what runs and how long it took (stdout keeps the table)."""
    print(f"{name}...", end="", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    print(f" {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def verdict(ok: bool, goal: str) -> str:
    return f"{goal}: {'ok' if ok else 'MISSED'}"


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


# ------------------------------------------------------------------ updates


def live_updates(n: int, seed: int) -> list[bytes]:
    """``n`` chained updates as a live agent sends them, ~150-350 bytes each: every one the
    next partial revision of the current segment (a word or two longer, no word timings),
    the last revision of a segment final. A fresh Yjs client id for each call."""
    return live_updates_with_clocks(n, seed)[0]


def live_updates_with_clocks(n: int, seed: int) -> tuple[list[bytes], int, list[int]]:
    """:func:`live_updates`, with the Yjs client id and its clock after each update
    (an ACK covers an update when its clock for the client id reaches that)."""
    rng = random.Random(seed)
    doc = TranscriptDoc()
    out: list[bytes] = []
    ends: list[int] = []
    segment, clock, words = 0, 0.0, list[str]()
    target = rng.randint(6, 14)
    for _ in range(n):
        words += [rng.choice(engine_bench.VOCAB) for _ in range(rng.randint(1, 2))]
        final = len(words) >= target
        state = doc.state_vector()
        doc.upsert_segment(
            f"w{seed}-{segment:05d}", rev=len(words), text=" ".join(words), t0=clock,
            t1=clock + 0.4 * len(words), speaker="S1", conf=0.8, final=final, lang="en",
        )  # fmt: skip
        out.append(doc.encode_update(state))
        ends.append(decode_state(doc.state_vector())[doc.client_id])
        if final:
            clock += 0.4 * len(words) + 0.3
            segment, words, target = segment + 1, [], rng.randint(6, 14)
    return out, doc.client_id, ends


class _Recorder(TranscriptDoc):
    """A transcript that keeps each transaction's update, as an agent sends them."""

    def __init__(self, doc: pycrdt.Doc[Any] | None = None) -> None:
        super().__init__(doc)
        self.updates: list[bytes] = []
        self.observe(lambda update, _origin: self.updates.append(update))


def agent_updates(segments: int, revisions: int) -> list[bytes]:
    """``bench/engine.py``'s meeting, as the updates of its transactions (one per revision)."""
    module = vars(engine_bench)
    original = module["TranscriptDoc"]
    module["TranscriptDoc"] = _Recorder  # its build() calls TranscriptDoc.create
    try:
        doc = engine_bench.build(segments, revisions)
    finally:
        module["TranscriptDoc"] = original
    assert isinstance(doc, _Recorder)
    return doc.updates


# ------------------------------------------------------------------ 1a, 1b: the update log


async def log_throughput(engine: Engine, appenders: int, total: int) -> tuple[float, float]:
    """(appends/s, mean updates per commit) with ``appenders`` concurrent appenders."""
    pool = [u for seed in range(8) for u in live_updates(250, seed)]
    per = max(1, total // appenders)
    async with UpdateLog(engine) as log:

        async def appender(i: int) -> None:
            for k in range(per):
                await log.append(f"log-{appenders}-{i % 32}", pool[(i * per + k) % len(pool)])

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(appenders):
                tg.start_soon(appender, i)
        elapsed = time.perf_counter() - start
        return appenders * per / elapsed, log.appended / max(1, log.commits)


async def ystore_throughput(path: Path, writes: int) -> float | None:
    """Writes/s of pycrdt-store's SQLiteYStore (one transaction per update), if installed."""
    try:
        from pycrdt.store import SQLiteYStore
    except ImportError:
        return None

    class Store(SQLiteYStore):
        db_path = str(path)

    updates = live_updates(writes, seed=99)
    async with Store("bench-ystore") as store:
        start = time.perf_counter()
        for update in updates:
            await store.write(update)
        return writes / (time.perf_counter() - start)


def bench_log(engine: Engine, data_dir: Path, sizes: Sizes, database: str) -> list[Row]:
    rows: list[Row] = []
    for appenders in sizes.appenders:
        rate, batch = anyio.run(log_throughput, engine, appenders, sizes.appends)
        rows.append((
            f"1a. UpdateLog appends/s, {appenders} concurrent appenders ({database})",
            f"{rate:,.0f}/s ({batch:.0f} per commit)",
            verdict(rate >= 5000, ">= 5,000/s"),
        ))  # fmt: skip
    ystore = anyio.run(ystore_throughput, data_dir / "ystore.db", sizes.ystore_writes)
    if ystore is not None:
        rows.append((
            "1b. pycrdt-store SQLiteYStore writes/s (a SQLite file), for reference",
            f"{ystore:,.0f}/s", "(stock: ~300/s)",
        ))  # fmt: skip
    return rows


# ------------------------------------------------------------------ 4: cold loads


async def timed_open(log: UpdateLog, transcript_id: str, repeat: int) -> tuple[float, float, int]:
    """(median ms, worst event-loop stall ms, segments shown) of ``Rooms.open`` on a new
    ``Rooms`` each time."""
    times, stalls, shown = [], [], 0
    for _ in range(repeat):
        rooms = Rooms(log)
        start = time.perf_counter()
        async with stall_probe() as stall:
            room = await rooms.open(transcript_id)
        times.append((time.perf_counter() - start) * 1000)
        stalls.append(max(stall, default=0.0))
        shown = len(TranscriptDoc(room.doc).segment_ids())
    return statistics.median(times), max(stalls), shown


@contextlib.asynccontextmanager
async def stall_probe() -> AsyncIterator[list[float]]:
    """How late a 1 ms sleep wakes while the body runs: the event loop's stalls (ms)."""
    lag: list[float] = []
    done = anyio.Event()

    async def probe() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await anyio.sleep(0.001)
            lag.append((time.perf_counter() - before - 0.001) * 1000)

    async with anyio.create_task_group() as tg:
        tg.start_soon(probe)
        await anyio.sleep(0.005)
        try:
            yield lag
        finally:
            done.set()


async def cold_load(engine: Engine, sizes: Sizes) -> list[Row]:
    updates = agent_updates(sizes.segments, sizes.revisions)
    minutes = sizes.segments * 120 // 1500  # the generator's meetings run ~2 h per 1,500
    tid = "cold-load"
    what = f"{minutes}-min room" if minutes != 120 else "2-hour room"
    async with UpdateLog(engine, max_batch=1000) as log:
        # Appends started in order are queued in order: the rows keep the agent's order.
        for start in range(0, len(updates), 1000):
            async with anyio.create_task_group() as tg:
                for update in updates[start : start + 1000]:
                    tg.start_soon(log.append, tid, update)
        rows = await log.load(tid)
        assert rows == updates, "the update log changed the order of the appends"
        await anyio.to_process.run_sync(len, [])  # start the worker process beforehand
        raw_ms, raw_stall, shown = await timed_open(log, tid, sizes.repeat)
        assert shown == sizes.segments, shown

        # What the relay's periodic compaction does (in a worker process).
        compactor = Compactor(log, min_rows=2)
        start_t = time.perf_counter()
        async with stall_probe() as stall:
            assert await compactor.compact(tid)
        compact_s = time.perf_counter() - start_t
        [(_, compacted)] = await log.rows(tid)
        compacted_ms, compacted_stall, shown = await timed_open(log, tid, sizes.repeat)
        assert shown == sizes.segments, shown
    size = sum(map(len, updates))
    return [
        (f"4. {what} cold load (`Rooms.open`), {len(updates):,} rows, {size / 2**20:.1f} MiB "
         f"(squashed in a worker process); event-loop stall",
         f"{ms(raw_ms)}; stall {raw_stall:.0f} ms", "(before compaction)"),
        (f"4. ... after the relay's compaction: 1 row, {len(compacted) / 2**20:.1f} MiB; "
         f"event-loop stall",
         f"{ms(compacted_ms)}; stall {compacted_stall:.0f} ms",
         verdict(compacted_ms <= 50, "<= 50 ms")),
        (f"4. compaction of the {len(rows):,} rows (worker process); longest event-loop "
         f"stall meanwhile",
         f"{compact_s * 1000:,.0f} ms; stall {max(stall, default=math.nan):,.0f} ms", ""),
    ]  # fmt: skip


# ------------------------------------------------------------------ 6a, 6b: crafted updates


def crafted_direct(frames: int) -> list[Row]:
    peak_before = proc_status_mib(os.getpid(), "VmHWM")
    yrs_ms, errors = [], set()
    for data in CRAFTED[:frames]:
        start = time.perf_counter()
        try:
            pycrdt.Doc().apply_update(data)
        except Exception as exc:  # what yrs raises is the point, not its type
            errors.add(type(exc).__name__)
        yrs_ms.append((time.perf_counter() - start) * 1000)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        for data in CRAFTED[:frames]:
            try:
                check_update(data)
            except InvalidUpdateError:
                pass
            else:
                raise AssertionError(f"check_update let {data.hex()} through")
    check_us = (time.perf_counter() - start) / (n * frames) * 1e6
    peak = proc_status_mib(os.getpid(), "VmHWM") - peak_before
    valid = live_updates(20, seed=5)
    start = time.perf_counter()
    for _ in range(n // 10):
        for data in valid:
            check_update(data)
    valid_us = (time.perf_counter() - start) / (n // 10 * len(valid)) * 1e6
    mean_size = statistics.mean(map(len, valid))
    return [
        (f"6a. crafted update (5-8 bytes), `pycrdt.Doc().apply_update`, {frames} frames",
         f"{statistics.mean(yrs_ms):.0f} ms each (max {max(yrs_ms):.0f}; "
         f"{', '.join(sorted(errors)) or 'accepted'}; peak RSS +{peak:.0f} MiB)",
         "(stock pycrdt-websocket)"),
        ("6b. `check_update` on the same frames", f"{check_us:.1f} µs each", ""),
        (f"6b. `check_update` on a valid update (~{mean_size:.0f} bytes)",
         f"{valid_us:.1f} µs each", ""),
    ]  # fmt: skip


# ------------------------------------------------------------------ the relay


class RelayServer:
    """``minuta relay`` in a subprocess, on a migrated database with one editor."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir = data_dir
        self.flags = ["--data-dir", str(data_dir)]
        # 200 clients of one user connect at once here; the flood then measures the frame
        # check alone, as if the attacker had many accounts (no connection-rate limit).
        self.relay_flags = ["--max-connects-per-s", "100000"]
        if database_url is not None:
            self.flags += ["--database-url", database_url]
        self.env = {**os.environ, "JWT_SECRET": SECRET, "MINUTA_PASSWORD": PASSWORD}
        self.env.pop("DATABASE_URL", None)
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []  # what it printed after its first line
        self._drain: threading.Thread | None = None

    def prepare(self) -> None:
        for args in (["db", "upgrade"], ["users", "add", USER, "--org", ORG, "--role", "editor"]):
            subprocess.run(
                [str(MINUTA), *args, *self.flags], env=self.env, check=True, capture_output=True
            )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(MINUTA), "relay", "--port", "0", *self.flags, *self.relay_flags],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("Minuta relay on "):
            raise RuntimeError(f"the relay did not start: {line}{self.process.stdout.read()}")
        self.url = line.split()[3]
        # Keep reading what it prints, or a full pipe would block it.
        stdout = self.process.stdout
        self._drain = threading.Thread(target=lambda: self.output.extend(stdout), daemon=True)
        self._drain.start()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self.output.append("(the relay did not stop within 30 s of SIGTERM: killed)\n")
        if self._drain is not None:
            self._drain.join(timeout=5)
        self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    def login(self) -> str:
        response = httpx.post(
            f"{self.url}/auth/login", json={"username": USER, "password": PASSWORD}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def create(self, token: str, transcript_ids: Sequence[str]) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for transcript_id in transcript_ids:
                response = http.post(
                    f"{self.url}/transcripts",
                    json={"title": "Bench", "language": "en", "transcript_id": transcript_id},
                )
                response.raise_for_status()


class Client:
    """One y-websocket connection, timestamping what it sends and receives."""

    def __init__(self, ws: ClientConnection, window: int = 1) -> None:
        self.ws = ws
        self.sent: list[float] = []  # perf_counter before each update is sent
        self.acks: list[float] = []  # perf_counter at each ACK of an update
        self.updates: list[tuple[float, bytes]] = []  # update frames relayed from others
        self.synced = anyio.Event()  # the relay's sync step 2 arrived
        self.ready = anyio.Event()  # our (empty) sync step 2 was acknowledged
        self.all_acked = anyio.Event()
        self.expected_acks = -1
        self.window = anyio.Semaphore(window)
        # Our Yjs client id and its clock after each update we send: the relay may
        # acknowledge several updates with one ACK (its state vector covers them all).
        self.client_id: int | None = None
        self.ends: list[int] = []

    async def run(self) -> None:
        try:
            async for frame in self.ws:
                now = time.perf_counter()
                if not isinstance(frame, bytes) or len(frame) < 2:
                    continue
                if frame[0] == protocol.ACK:
                    if not self.ready.is_set():
                        self.ready.set()
                        continue
                    if self.client_id is None:  # one update per ACK (figure 5)
                        covered = len(self.acks) + 1
                    else:
                        clock = decode_state(protocol.parse_ack(frame)[0]).get(self.client_id, 0)
                        covered = bisect.bisect_right(self.ends, clock)
                    for _ in range(covered - len(self.acks)):
                        self.acks.append(now)
                        self.window.release()
                    if len(self.acks) == self.expected_acks:
                        self.all_acked.set()
                elif frame[0] == protocol.SYNC:
                    if frame[1] == Kind.UPDATE:
                        self.updates.append((now, frame))
                    elif frame[1] == Kind.SYNC_STEP1:  # we have nothing the relay lacks
                        await self.ws.send(protocol.sync_step2(EMPTY_UPDATE))
                    elif frame[1] == Kind.SYNC_STEP2:
                        self.synced.set()
        except ConnectionClosed:
            pass

    async def handshake(self) -> None:
        await self.ws.send(protocol.sync_step1(EMPTY_STATE))
        with anyio.fail_after(30):
            await self.synced.wait()
            await self.ready.wait()

    async def steady(self, frames: Sequence[bytes], rate: float, start: float) -> None:
        """Send at ``rate`` per second from ``start``, whatever the ACKs."""
        self.expected_acks = len(frames)
        for i, frame in enumerate(frames):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await anyio.sleep(delay)
            self.sent.append(time.perf_counter())
            await self.ws.send(frame)

    async def pipelined(self, frames: Sequence[bytes], start: float) -> None:
        """Send as fast as the window of unacknowledged updates allows."""
        self.expected_acks = len(frames)
        await anyio.sleep(max(0.0, start - time.perf_counter()))
        for frame in frames:
            await self.window.acquire()
            self.sent.append(time.perf_counter())
            await self.ws.send(frame)


async def open_client(base: str, transcript_id: str, token: str, tg: Any, window: int) -> Client:
    ws = await connect(
        f"{base}/sync/{transcript_id}?token={token}", max_size=protocol.MAX_FRAME_BYTES
    )
    client = Client(ws, window)
    tg.start_soon(client.run)
    await client.handshake()
    return client


class Plan(TypedDict):
    """What one client process does: a writer (and ``readers`` readers) in each room."""

    base: str
    token: str
    rooms: list[str]
    readers: int
    count: int  # updates per writer
    rate: float  # per writer and second; 0: pipelined, ``window`` unacknowledged at most
    window: int
    seed: int
    reader_base: NotRequired[str]  # the readers' relay, if not the writer's (bench/cluster.py)


class Outcome(TypedDict):
    """What a client process measured (plain types: it comes back through a pipe)."""

    acks: list[tuple[float, float]]  # (send time, ms to the ACK)
    fanout_ms: list[float]
    sent: int
    acked: int
    delivered: int
    expected: int
    first_send: float
    last_ack: float
    lag_ms: list[float]
    cpu_s: float
    wall_s: float
    errors: list[str]


def new_outcome() -> Outcome:
    return Outcome(
        acks=[], fanout_ms=[], sent=0, acked=0, delivered=0, expected=0, first_send=math.inf,
        last_ack=0.0, lag_ms=[], cpu_s=0.0, wall_s=0.0, errors=[],
    )  # fmt: skip


def client_process(plan: Plan, pipe: Pipe) -> None:
    """A client process: connect, say "ready", wait for the start time, run, report."""

    async def go() -> float:
        pipe.send("ready")
        start: float = await anyio.to_thread.run_sync(pipe.recv)
        return start

    outcome = new_outcome()
    try:
        anyio.run(_drive, plan, go, outcome)
    except BaseException as exc:  # report it rather than hang the benchmark
        outcome["errors"].append(f"{type(exc).__name__}: {exc}")
    pipe.send(outcome)
    pipe.close()


async def _drive(plan: Plan, go: Callable[[], Awaitable[float]], outcome: Outcome) -> None:
    """Connect the plan's clients, wait for ``go()``'s start time, send, collect timings."""
    made = [
        live_updates_with_clocks(plan["count"], plan["seed"] * 1000 + i)
        for i in range(len(plan["rooms"]))
    ]
    frames = [[protocol.update(u) for u in updates] for updates, _, _ in made]
    index = [{frame: i for i, frame in enumerate(room)} for room in frames]
    joined: dict[int, list[Client]] = {}  # room -> [writer, *readers]
    async with anyio.create_task_group() as tg:
        limiter = anyio.CapacityLimiter(16)

        async def join(room: int) -> None:
            async with limiter:
                tid, token = plan["rooms"][room], plan["token"]
                clients = [await open_client(plan["base"], tid, token, tg, plan["window"])]
                for _ in range(plan["readers"]):
                    base = plan.get("reader_base") or plan["base"]
                    clients.append(await open_client(base, tid, token, tg, 1))
                joined[room] = clients

        async with anyio.create_task_group() as joins:
            for room in range(len(plan["rooms"])):
                joins.start_soon(join, room)
        writers = [joined[room][0] for room in range(len(plan["rooms"]))]
        for writer, (_, client_id, ends) in zip(writers, made, strict=True):
            writer.client_id, writer.ends = client_id, ends
        readers = [joined[room][1:] for room in range(len(plan["rooms"]))]

        start = await go()
        stop = anyio.Event()

        async def probe() -> None:
            await anyio.sleep(max(0.0, start - time.perf_counter()))
            while not stop.is_set():
                before = time.perf_counter()
                await anyio.sleep(0.005)
                outcome["lag_ms"].append((time.perf_counter() - before - 0.005) * 1000)

        tg.start_soon(probe)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        async with anyio.create_task_group() as sending:
            for room, writer in enumerate(writers):
                if plan["rate"]:
                    # Independent writers: each at its own phase, not all in step.
                    phase = random.Random(plan["seed"] * 1000 + room).random() / plan["rate"]
                    sending.start_soon(writer.steady, frames[room], plan["rate"], start + phase)
                else:
                    sending.start_soon(writer.pipelined, frames[room], start)
        with anyio.move_on_after(30):
            for writer in writers:
                await writer.all_acked.wait()
        expected = plan["count"] * plan["readers"]
        with anyio.move_on_after(5):
            while any(len(r.updates) < plan["count"] for room in readers for r in room):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        outcome["cpu_s"] = time.process_time() - cpu0
        outcome["wall_s"] = time.perf_counter() - wall0
        stop.set()
        for room, writer in enumerate(writers):
            outcome["sent"] += len(writer.sent)
            outcome["acked"] += len(writer.acks)
            outcome["acks"] += [
                (s, (a - s) * 1000) for s, a in zip(writer.sent, writer.acks, strict=False)
            ]
            if writer.sent:
                outcome["first_send"] = min(outcome["first_send"], writer.sent[0])
            if writer.acks:
                outcome["last_ack"] = max(outcome["last_ack"], writer.acks[-1])
            outcome["expected"] += expected
            for reader in readers[room]:
                for at, frame in reader.updates:
                    i = index[room].get(frame)
                    if i is not None:
                        outcome["delivered"] += 1
                        outcome["fanout_ms"].append((at - writer.sent[i]) * 1000)
        for client in [*writers, *(r for room in readers for r in room)]:
            await client.ws.close()
        tg.cancel_scope.cancel()


def run_clients(
    plans: Sequence[Plan], pid: int, during: Callable[[float], object] | None = None
) -> tuple[list[Outcome], float]:
    """Run each plan in a client process; ``during(start)`` runs here meanwhile. Returns
    the outcomes and the CPU that process ``pid`` (the relay) used from the start to the
    last report, as a fraction of one core."""
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for plan in plans:
        parent, child = context.Pipe()
        process = context.Process(target=client_process, args=(plan, child), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    early: dict[int, Outcome] = {}
    for i, pipe in enumerate(pipes):
        if not pipe.poll(120):
            raise RuntimeError("a client process did not connect within 120 s")
        message = pipe.recv()
        if message != "ready":
            early[i] = message  # it failed before the start
    start = time.perf_counter() + 0.2
    for i, pipe in enumerate(pipes):
        if i not in early:
            pipe.send(start)
    time.sleep(max(0.0, start - time.perf_counter()))
    cpu0 = cpu_seconds(pid)
    if during is not None:
        during(start)
    outcomes = []
    for i, pipe in enumerate(pipes):
        if i in early:
            outcomes.append(early[i])
        elif pipe.poll(120):
            outcomes.append(pipe.recv())
        else:
            raise RuntimeError("a client process did not report within 120 s")
    cpu = (cpu_seconds(pid) - cpu0) / (time.perf_counter() - start)
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    errors = [e for o in outcomes for e in o["errors"]]
    if errors:
        print(f"client errors: {errors[:5]}", file=sys.stderr)
    return outcomes, cpu


def plans_for(
    relay: RelayServer, token: str, rooms: Sequence[str], procs: int,
    *, readers: int, count: int, rate: float, window: int,
) -> list[Plan]:  # fmt: skip
    """The rooms dealt out to ``procs`` client processes."""
    procs = max(1, min(procs, len(rooms)))
    return [
        Plan(base=relay.ws, token=token, rooms=list(rooms[p::procs]), readers=readers,
             count=count, rate=rate, window=window, seed=p)
        for p in range(procs)
    ]  # fmt: skip


def scrape(relay: RelayServer) -> dict[str, float]:
    """The relay's ``/metrics``, as {"name{labels}": value}."""
    text = httpx.get(f"{relay.url}/metrics", timeout=30).text
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def relay_quantile(before: dict[str, float], after: dict[str, float], name: str, q: float) -> float:
    """The upper bound (ms) of the histogram bucket holding quantile ``q`` of what ``name``
    recorded between two scrapes (the relay's own view, from arrival to commit or ACK)."""
    buckets = sorted(
        (float(key.split('le="')[1].rstrip('"}')), after[key] - before.get(key, 0.0))
        for key in after
        if key.startswith(f"{name}_bucket{{")
    )
    count = buckets[-1][1] if buckets else 0.0
    for bound, cumulative in buckets:
        if count and cumulative >= q * count:
            return bound * 1000
    return math.nan


@dataclass
class Run:
    """Client outcomes merged, what the relay process used meanwhile and its metrics."""

    outcomes: list[Outcome]
    relay_cpu: float  # fraction of one core
    before: dict[str, float]  # the relay's metrics before and after
    after: dict[str, float]

    def relay_ack(self, q: float) -> float:
        """Quantile ``q`` of the relay's own arrival-to-ACK time (a bucket's upper bound)."""
        return relay_quantile(self.before, self.after, "minuta_ack_seconds", q)

    @property
    def ack_ms(self) -> list[float]:
        return [latency for o in self.outcomes for _, latency in o["acks"]]

    @property
    def fanout_ms(self) -> list[float]:
        return [latency for o in self.outcomes for latency in o["fanout_ms"]]

    def total(self, key: Literal["sent", "acked", "delivered", "expected"]) -> int:
        return sum(o[key] for o in self.outcomes)

    def client_note(self) -> str:
        lag = percentile([x for o in self.outcomes for x in o["lag_ms"]], 99)
        cpu = sum(o["cpu_s"] for o in self.outcomes) / max(o["wall_s"] for o in self.outcomes)
        commit = relay_quantile(self.before, self.after, "minuta_persist_seconds", 0.99)
        projections = self.after.get("minuta_projections_total", 0.0) - self.before.get(
            "minuta_projections_total", 0.0
        )
        return (
            f"relay's own arrival-to-ACK p50 / p99 <= {self.relay_ack(0.5):g} / "
            f"{self.relay_ack(0.99):g} ms (to commit p99 <= {commit:g} ms; {projections:.0f} "
            f"SQL snapshots written); relay {self.relay_cpu:.0%} of a core, clients "
            f"{cpu:.0%}, client loop lag p99 {lag:.1f} ms"
        )


def measure(
    relay: RelayServer, plans: Sequence[Plan], during: Callable[[float], object] | None = None
) -> Run:
    before = scrape(relay)
    outcomes, cpu = run_clients(plans, relay.pid, during)
    return Run(outcomes, cpu, before, scrape(relay))


def measure_here(relay: RelayServer, plan: Plan) -> Run:
    """One plan run in this process (for a client or two: no overhead to speak of)."""

    async def go() -> float:
        return time.perf_counter() + 0.05

    outcome = new_outcome()
    before = scrape(relay)
    cpu0, wall0 = cpu_seconds(relay.pid), time.perf_counter()
    anyio.run(_drive, plan, go, outcome)
    if outcome["errors"]:
        print(f"client errors: {outcome['errors'][:5]}", file=sys.stderr)
    cpu = (cpu_seconds(relay.pid) - cpu0) / (time.perf_counter() - wall0)
    return Run([outcome], cpu, before, scrape(relay))


def bench_throughput(relay: RelayServer, token: str, sizes: Sizes, procs: int) -> list[Row]:
    rooms = [f"tput-{i}" for i in range(sizes.writers)]
    relay.create(token, rooms)
    plans = plans_for(relay, token, rooms, procs, readers=0, count=sizes.writer_updates,
                      rate=0.0, window=sizes.window)  # fmt: skip
    run = measure(relay, plans)
    acked = run.total("acked")
    first = min(o["first_send"] for o in run.outcomes)
    last = max(o["last_ack"] for o in run.outcomes)
    rate = acked / (last - first) if last > first else 0.0
    lost = run.total("sent") - acked
    relay.create(token, ["tput-one"])
    (one,) = plans_for(relay, token, ["tput-one"], 1, readers=0, count=sizes.writer_updates,
                       rate=0.0, window=sizes.window)  # fmt: skip
    single = measure_here(relay, one)
    single_rate = single.total("acked") / (
        single.outcomes[0]["last_ack"] - single.outcomes[0]["first_send"]
    )
    return [
        (f"1c. relay: updates acked/s, {sizes.writers} websocket writers, window "
         f"{sizes.window}{f', {lost} NOT ACKED' if lost else ''}",
         f"{rate:,.0f}/s (ack p50 {percentile(run.ack_ms, 50):.0f} ms)",
         verdict(rate >= 5000, ">= 5,000/s")),
        ("1c. ... while", run.client_note(), ""),
        (f"1c. relay: one websocket writer, window {sizes.window}", f"{single_rate:,.0f}/s", ""),
    ]  # fmt: skip


def bench_ack_latency(relay: RelayServer, token: str, sizes: Sizes, procs: int) -> list[Row]:
    rooms = [f"ack-{i}" for i in range(sizes.ack_rooms)]
    relay.create(token, rooms)
    count = int(sizes.ack_rate * sizes.ack_s)
    run = measure(
        relay, plans_for(relay, token, rooms, procs, readers=1, count=count,
                         rate=sizes.ack_rate, window=1),
    )  # fmt: skip
    acks = run.ack_ms
    return [
        (f"2. ACK latency p50 / p99, {len(rooms)} writers x {sizes.ack_rate:.0f}/s "
         f"({len(acks):,} updates)",
         f"{percentile(acks, 50):.1f} / {percentile(acks, 99):.1f} ms", ""),
        ("2. ... while", run.client_note(), ""),
    ]  # fmt: skip


def bench_fanout(relay: RelayServer, token: str, sizes: Sizes, procs: int) -> list[Row]:
    rooms = [f"fan-{i}" for i in range(sizes.fanout_rooms)]
    relay.create(token, rooms)
    count = int(sizes.fanout_rate * sizes.fanout_s)
    run = measure(
        relay, plans_for(relay, token, rooms, procs, readers=sizes.fanout_clients - 1,
                         count=count, rate=sizes.fanout_rate, window=1),
    )  # fmt: skip
    fan = run.fanout_ms
    p99 = percentile(fan, 99)
    delivered, expected = run.total("delivered"), run.total("expected")
    missing = f", {expected - delivered} NOT DELIVERED" if delivered < expected else ""
    return [
        (f"3. fan-out latency p50 / p99 / max, {len(rooms)} rooms x {sizes.fanout_clients} "
         f"clients, {sizes.fanout_rate:.0f} updates/s per room ({delivered:,} receipts{missing})",
         f"{percentile(fan, 50):.1f} / {p99:.1f} / {max(fan, default=math.nan):.1f} ms",
         verdict(p99 <= 20, "p99 <= 20 ms")),
        (f"3. ... ACK p99 {percentile(run.ack_ms, 99):.1f} ms, while", run.client_note(), ""),
    ]  # fmt: skip


async def attack(
    base: str, token: str, room: str, total: int, start: float, until: float, attackers: int
) -> tuple[int, float, Counter[str]]:
    """Connect, send one crafted update, wait to be closed; again. Returns (frames, s, codes)."""
    await anyio.sleep(max(0.0, start - time.perf_counter()))
    sent, codes = 0, Counter[str]()
    began = time.perf_counter()

    async def loop() -> None:
        nonlocal sent
        while sent < total and time.perf_counter() < until:
            frame = protocol.update(CRAFTED[sent % len(CRAFTED)])
            sent += 1
            try:
                with anyio.fail_after(10):
                    async with connect(f"{base}/sync/{room}?token={token}") as ws:
                        await ws.send(frame)
                        try:
                            async for _ in ws:
                                pass
                        except ConnectionClosed:
                            pass
                        codes[str(ws.close_code)] += 1
            except TimeoutError:
                codes["no close within 10 s"] += 1
            except (OSError, ConnectionClosed) as exc:
                codes[type(exc).__name__] += 1

    async with anyio.create_task_group() as tg:
        for _ in range(attackers):
            tg.start_soon(loop)
    return sent, time.perf_counter() - began, codes


def bench_flood(relay: RelayServer, token: str, sizes: Sizes) -> list[Row]:
    victim, target = "victim", "attacked"
    relay.create(token, [victim, target])
    count = int(sizes.victim_rate * sizes.victim_s)

    def plan() -> list[Plan]:
        return plans_for(relay, token, [victim], 1, readers=1, count=count,
                         rate=sizes.victim_rate, window=1)  # fmt: skip

    calm = measure(relay, plan())
    peak_before = proc_status_mib(relay.pid, "VmHWM")
    began: list[float] = []
    result: list[tuple[int, float, Counter[str]]] = []
    relay_cpu: list[float] = []

    def during(start: float) -> None:
        # The attack runs through the writer's run but its first and last half second.
        begin, end = start + 0.5, start + sizes.victim_s - 0.5
        time.sleep(max(0.0, begin - time.perf_counter()))
        cpu0 = cpu_seconds(relay.pid)
        began.append(time.perf_counter())
        result.append(
            anyio.run(attack, relay.ws, token, target, sizes.attack_frames, begin, end,
                      sizes.attackers)
        )  # fmt: skip
        relay_cpu.append((cpu_seconds(relay.pid) - cpu0) / result[0][1])

    stormy = measure(relay, plan(), during)
    peak_after = proc_status_mib(relay.pid, "VmHWM")
    frames, seconds, codes = result[0]
    begin, end = began[0], began[0] + seconds
    under = [ms for o in stormy.outcomes for sent, ms in o["acks"] if begin <= sent <= end]
    closed = ", ".join(f"{n} closed {code}" for code, n in codes.most_common())
    return [
        (f"6c. well-behaved writer's ACK p50 / p99, {sizes.victim_rate:.0f}/s, no attack",
         f"{percentile(calm.ack_ms, 50):.1f} / {percentile(calm.ack_ms, 99):.1f} ms", ""),
        (f"6c. ... under attack: {sizes.attackers} attackers reconnecting, {frames} crafted "
         f"frames in {seconds:.1f} s ({closed}); relay at {relay_cpu[0]:.0%} of a core",
         f"{percentile(under, 50):.1f} / {percentile(under, 99):.1f} ms "
         f"(max {max(under, default=math.nan):.0f}, {len(under)} updates)", "~ no attack"),
        ("6c. relay peak RSS before / after the attack",
         f"{peak_before:.0f} / {peak_after:.0f} MiB", ""),
    ]  # fmt: skip


async def _fill_rooms(base: str, token: str, rooms: Sequence[str], update: bytes) -> list[Client]:
    """Connect a client to each room and send it ``update``; the clients stay connected."""
    clients: list[Client] = []
    async with anyio.create_task_group() as tg:
        for room in rooms:
            client = await open_client(base, room, token, tg, 1)
            client.expected_acks = 1
            await client.ws.send(protocol.update(update))
            with anyio.fail_after(30):
                await client.all_acked.wait()
            clients.append(client)
        tg.cancel_scope.cancel()  # stop reading; the connections stay open
    return clients


def bench_memory(relay: RelayServer, token: str, sizes: Sizes) -> list[Row]:
    update = engine_bench.build(sizes.memory_segments, sizes.revisions).encode_update()
    rooms = [f"mem-{i}" for i in range(sizes.memory_rooms + 1)]
    relay.create(token, rooms)
    settle = sizes.settle_s

    async def scenario() -> tuple[float, float, float]:
        warm = await _fill_rooms(relay.ws, token, rooms[:1], update)
        await anyio.sleep(settle)
        before = proc_status_mib(relay.pid)
        clients = await _fill_rooms(relay.ws, token, rooms[1:], update)
        await anyio.sleep(settle)
        after = proc_status_mib(relay.pid)
        for client in [*warm, *clients]:
            await client.ws.close()
        await anyio.sleep(settle)
        return before, after, proc_status_mib(relay.pid)

    before, after, left = anyio.run(scenario)
    n = sizes.memory_rooms
    return [
        (f"5. relay RSS per open room ({sizes.memory_segments} segments x {sizes.revisions} "
         f"revisions, {len(update) / 2**10:.0f} KiB doc, 1 client each; {n} rooms)",
         f"{(after - before) / n:.2f} MiB/room", ""),
        (f"5. ... relay RSS: {n + 1} rooms open / all closed",
         f"{after:.0f} / {left:.0f} MiB (before: {before:.0f})", ""),
    ]  # fmt: skip


# ------------------------------------------------------------------ main


@contextmanager
def workspace(data_dir: str | None, postgres: str | None) -> Iterator[tuple[Path, str | None]]:
    """A data folder, and the URL of a fresh PostgreSQL database if ``postgres`` names a
    server (dropped afterwards); None means the relay's SQLite file in the folder."""
    with tempfile.TemporaryDirectory(prefix="minuta-bench-", dir=data_dir) as tmp:
        if postgres is None:
            yield Path(tmp), None
            return
        import psycopg

        name = f"minuta_bench_{os.getpid()}"
        server = make_url(postgres)
        with psycopg.connect(postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield Path(tmp), server.set(database=name).render_as_string(hide_password=False)
        finally:
            with psycopg.connect(postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


Figure = tuple[str, Callable[[RelayServer, str], list[Row]]]


def run_relay_figures(relay: RelayServer, figures: Sequence[Figure]) -> list[Row]:
    """Start the relay, log in, measure each figure, stop it."""
    rows: list[Row] = []
    with stage("starting the relay"):
        relay.start()
        token = relay.login()
    try:
        for name, figure in figures:
            with stage(name):
                rows += figure(relay, token)
    finally:
        relay.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--flood", action="store_true", help="only the malformed-frame figure")
    parser.add_argument("--attacks", action="store_true", help="only bench/_relay_attacks.py")
    parser.add_argument("--procs", type=int, default=2, help="client processes (default 2)")
    parser.add_argument(
        "--postgres", metavar="URL",
        help="use a fresh database on this PostgreSQL server (e.g. postgresql://postgres@127.0.0.1/)",
    )  # fmt: skip
    parser.add_argument("--data-dir", help="where the temporary data folder goes")
    args = parser.parse_args()
    if args.attacks:  # its own table, one fresh relay per attack (SQLite)
        from bench._relay_attacks import main as attacks

        return attacks(args.quick, args.data_dir)
    sizes = QUICK if args.quick else Sizes()
    procs = max(1, args.procs)
    database = "PostgreSQL" if args.postgres else "SQLite"
    began = time.perf_counter()

    rows: list[Row] = []
    relay_output: list[str] = []
    with workspace(args.data_dir, args.postgres) as (data_dir, database_url):
        if not args.flood:
            engine = db_connect(database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}")
            try:
                upgrade(engine)
                with stage("1a, 1b: update log"):
                    rows += bench_log(engine, data_dir, sizes, database)
                with stage("4: cold load"):
                    rows += anyio.run(cold_load, engine, sizes)
            finally:
                engine.dispose()
        with stage("6a, 6b: crafted updates"):
            rows += crafted_direct(sizes.direct_frames)
        relay = RelayServer(data_dir / "relay", database_url)
        with stage("migrating the relay's database"):
            relay.prepare()
        figures: list[Figure] = []
        if not args.flood:
            figures += [
                ("1c: relay throughput", lambda r, t: bench_throughput(r, t, sizes, procs)),
                ("2: ack latency", lambda r, t: bench_ack_latency(r, t, sizes, procs)),
                ("3: fan-out", lambda r, t: bench_fanout(r, t, sizes, procs)),
            ]
        figures.append(("6c: flood", lambda r, t: bench_flood(r, t, sizes)))
        rows += run_relay_figures(relay, figures)
        relay_output += relay.output
        if not args.flood:
            # A fresh relay process, so that its RSS holds nothing but these rooms.
            relay.output = []
            rows += run_relay_figures(
                relay, [("5: memory", lambda r, t: bench_memory(r, t, sizes))]
            )
            relay_output += relay.output

    rows.sort(key=lambda row: row[0].split(".")[0])  # by figure, stable within one
    print(f"relay benchmark{' (--quick)' if args.quick else ''}{' (--flood)' * args.flood}: "
          f"{database}, {procs} client processes, {time.perf_counter() - began:.0f} s")  # fmt: skip
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    print("| figure | measured | target |")
    print("|---|---|---|")
    for name, value, goal in rows:
        print(f"| {name} | {value} | {goal} |")
    # Hypercorn's "Running on" line aside, what the relay printed is worth a look.
    unexpected = [line for line in relay_output if "] Running on " not in line]
    if unexpected:
        print(f"\nthe relay printed {len(unexpected)} lines; the last ones:", file=sys.stderr)
        print("".join(unexpected[-20:]).rstrip(), file=sys.stderr)


if __name__ == "__main__":
    main()

"""Benchmark several relays as one service (``--redis-url``, relay/peers.py).

Real ``minuta relay`` processes on one PostgreSQL database (a new one, dropped after)
and the machine's Redis (a channel prefix of their own), with websocket clients in other
processes (``bench/relay.py``'s). In one run:

1. acked updates/s with 1, 2 and 3 relays (64 writers, window 8, spread over the relays);
2. fan-out p50 / p99 to a reader on another relay, against one on the writer's relay;
3. Redis commands and PostgreSQL transactions per update (from their own counters);
4. failover: an agent (``RelaySync`` with the other relays as alternates) is on another
   relay this long after ``kill -9`` of its own;
5. the two Redis transports, per update: pub/sub against a stream.

This machine has 2 cores: three relays, PostgreSQL and the clients share them, so the
1-2-3 row is a measure of the overhead, not of scaling; the README projects N cores.

    python bench/cluster.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402

import bench.relay as rb  # noqa: E402
from agent.credentials import Tokens  # noqa: E402
from agent.sync import RelaySync  # noqa: E402
from engine import TranscriptDoc  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"


class Cluster:
    def __init__(self, tmp: Path, database_url: str, prefix: str) -> None:
        self.tmp, self.database_url, self.prefix = tmp, database_url, prefix
        self.relays: list[rb.RelayServer] = []

    def start(self) -> rb.RelayServer:
        relay = rb.RelayServer(self.tmp / f"relay-{len(self.relays)}", self.database_url)
        relay.relay_flags += ["--redis-url", REDIS, "--redis-prefix", self.prefix,
                              "--no-workers", "--no-dispatch"]  # fmt: skip
        if not self.relays:
            relay.prepare()
        relay.start()
        self.relays.append(relay)
        return relay

    def stop(self) -> None:
        for relay in self.relays:
            relay.stop()
        self.relays.clear()


def throughput(cluster: Cluster, n: int, sizes: rb.Sizes) -> tuple[float, int]:
    while len(cluster.relays) < n:
        cluster.start()
    relays = cluster.relays[:n]
    token = relays[0].login()
    rooms = [f"tput{n}-{secrets.token_hex(3)}-{i}" for i in range(sizes.writers)]
    relays[0].create(token, rooms)
    plans = rb.plans_for(relays[0], token, rooms, max(2, n), readers=0,
                         count=sizes.writer_updates, rate=0.0, window=sizes.window)  # fmt: skip
    for i, plan in enumerate(plans):
        plan["base"] = relays[i % n].ws
    outcomes, _ = rb.run_clients(plans, relays[0].pid)
    acked = sum(o["acked"] for o in outcomes)
    first = min(o["first_send"] for o in outcomes)
    last = max(o["last_ack"] for o in outcomes)
    return (acked / (last - first) if last > first else 0.0), acked


def fanout(cluster: Cluster, cross: bool, sizes: rb.Sizes) -> list[float]:
    writer_relay, reader_relay = cluster.relays[0], cluster.relays[1 if cross else 0]
    token = writer_relay.login()
    rooms = [f"fan-{int(cross)}-{secrets.token_hex(3)}-{i}" for i in range(sizes.fanout_rooms)]
    writer_relay.create(token, rooms)
    count = int(sizes.fanout_rate * sizes.fanout_s)
    plans = rb.plans_for(writer_relay, token, rooms, 2, readers=1, count=count,
                         rate=sizes.fanout_rate, window=1)  # fmt: skip
    for plan in plans:
        plan["reader_base"] = reader_relay.ws
    outcomes, _ = rb.run_clients(plans, writer_relay.pid)
    return [ms for o in outcomes for ms in o["fanout_ms"]]


def counters(database_url: str) -> tuple[int, int]:
    """(Redis commands processed, PostgreSQL transactions committed in the database)."""
    stats = redis.Redis.from_url(REDIS).info("stats")
    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(stats["total_commands_processed"]), int(row[0] if row else 0)


def failover(cluster: Cluster) -> float:
    relays = cluster.relays
    token = relays[0].login()
    transcript_id = f"failover-{secrets.token_hex(3)}"
    relays[0].create(token, [transcript_id])
    import httpx

    pair = httpx.post(f"{relays[0].url}/auth/login",
                      json={"username": rb.USER, "password": rb.PASSWORD}).json()  # fmt: skip
    tokens = Tokens(relays[0].url, rb.USER, pair["access_token"], pair["refresh_token"])
    doc = TranscriptDoc()
    sync = RelaySync(doc, tokens, transcript_id=transcript_id,
                     alternates=[r.url for r in relays[1:]])  # fmt: skip
    took: list[float] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sync.run)
            with anyio.fail_after(20):
                await sync.connected.wait()
            before = sync.connects
            killed = time.monotonic()
            assert relays[0].process is not None
            relays[0].process.send_signal(signal.SIGKILL)
            with anyio.fail_after(20):
                while sync.connects == before or not sync.connected.is_set():  # noqa: ASYNC110
                    await anyio.sleep(0.005)
            took.append(time.monotonic() - killed)
            tg.cancel_scope.cancel()

    anyio.run(main)
    relays[0].process.wait()  # type: ignore[union-attr]
    relays[0].process = None
    return took[0]


def transports(messages: int = 5000) -> tuple[float, float]:
    """Microseconds per 200-byte update carried to one other relay: pub/sub (``PUBLISH``
    to a subscriber) against a stream (``XADD``, read back with blocking ``XREAD``), both
    through redis.asyncio as relay/peers.py uses it."""
    import redis.asyncio as aredis

    payload = b"x" * 200
    channel = f"bench-transport-{secrets.token_hex(4)}"

    async def pubsub() -> float:
        sender, receiver = aredis.from_url(REDIS), aredis.from_url(REDIS)
        async with receiver.pubsub() as sub:
            await sub.subscribe(channel)
            await sub.get_message(timeout=1)  # the subscribe confirmation
            got = 0
            started = time.perf_counter()

            async def read() -> None:
                nonlocal got
                while got < messages:
                    if await sub.get_message(timeout=1) is not None:
                        got += 1

            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                for _ in range(messages):
                    await sender.publish(channel, payload)
            elapsed = time.perf_counter() - started
        await sender.aclose()
        await receiver.aclose()
        return elapsed / messages * 1e6

    async def stream() -> float:
        sender, receiver = aredis.from_url(REDIS), aredis.from_url(REDIS)
        key = channel + "-stream"
        got, last = 0, "$"
        started = time.perf_counter()

        async def read() -> None:
            nonlocal got, last
            while got < messages:
                answer: Any = await receiver.xread({key: last}, block=1000, count=500)
                for _, entries in answer:
                    got += len(entries)
                    last = entries[-1][0]

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await anyio.sleep(0.05)  # reading from "$" before the first XADD
            for _ in range(messages):
                await sender.xadd(key, {"u": payload}, maxlen=10_000, approximate=True)
        elapsed = time.perf_counter() - started
        await sender.delete(key)
        await sender.aclose()
        await receiver.aclose()
        return elapsed / messages * 1e6

    return anyio.run(pubsub), anyio.run(stream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    sizes = rb.QUICK if args.quick else rb.Sizes()
    name = f"bench_cluster_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    rows: list[tuple[str, str]] = []
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cluster = Cluster(Path(tmp), database_url, f"bench{secrets.token_hex(3)}")
            try:
                rates = {}
                for n in (1, 2, 3):
                    redis0, pg0 = counters(database_url)
                    rate, acked = throughput(cluster, n, sizes)
                    redis1, pg1 = counters(database_url)
                    rates[n] = rate
                    rows.append((f"1. acked updates/s, {sizes.writers} writers over {n} "
                                 f"relay{'s' if n > 1 else ''}", f"{rate:,.0f}/s"))  # fmt: skip
                    if n == 2:
                        rows.append(("3. per update, 2 relays: Redis commands / PostgreSQL "
                                     "transactions",
                                     f"{(redis1 - redis0) / acked:.2f} / {(pg1 - pg0) / acked:.3f}"))  # fmt: skip
                same, cross = fanout(cluster, False, sizes), fanout(cluster, True, sizes)
                for label, values in (("same relay", same), ("another relay", cross)):
                    rows.append((f"2. fan-out p50 / p99 to a reader on {label}, "
                                 f"{sizes.fanout_rooms} rooms x {sizes.fanout_rate:.0f}/s",
                                 f"{rb.percentile(values, 50):.1f} / "
                                 f"{rb.percentile(values, 99):.1f} ms ({len(values):,})"))  # fmt: skip
                rows.append(("4. failover: agent on another relay after kill -9 of its own",
                             f"{failover(cluster):.2f} s"))  # fmt: skip
                pub, xadd = transports()
                rows.append(("5. Redis, per update to one other relay: pub/sub / stream "
                             "(XADD + XREAD)", f"{pub:.0f} / {xadd:.0f} µs"))  # fmt: skip
            finally:
                cluster.stop()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"cluster benchmark: PostgreSQL + Redis, {time.perf_counter() - started:.0f} s")
    print(f"machine: {platform.machine()}, {rb.os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print()
    print("| figure | measured |")
    print("|---|---|")
    for figure, value in rows:
        print(f"| {figure} | {value} |")


if __name__ == "__main__":
    main()

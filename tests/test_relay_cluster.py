"""Several relays as one service (relay/peers.py): real ``minuta relay`` processes on one
PostgreSQL database (each test its own) and the machine's Redis (each test its own
channel prefix)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis
from _relay import RelayProcess, SyncClient, connected, prepare, relay_env, wait_until
from test_relay_node import SCRIPT, Browser, node  # noqa: F401  (node: the fixture)

from engine import TranscriptDoc

REDIS = "redis://127.0.0.1:6379/0"
NO_REDIS = "redis://127.0.0.1:9/0"  # nothing listens there: Redis is "down" for that relay


class Cluster:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path, self.env = tmp_path, relay_env()
        self.prefix = "t" + secrets.token_hex(6)
        self.flags = prepare(tmp_path / "data", self.env, database_url)
        self.relays: list[RelayProcess] = []

    def start(self, redis_url: str = REDIS) -> RelayProcess:
        data = self.tmp_path / f"relay-{len(self.relays)}"
        flags = [*self.flags[2:], "--redis-url", redis_url, "--redis-prefix", self.prefix,
                 "--no-workers", "--no-dispatch"]  # fmt: skip
        relay = RelayProcess(data, self.env, flags).start()
        self.relays.append(relay)
        return relay

    def stop(self) -> None:
        for relay in self.relays:
            if relay.process is not None:
                relay.stop()  # a killed one too: reaped, its pipe closed


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str) -> Iterator[Cluster]:
    group = Cluster(tmp_path, pg_url)
    yield group
    group.stop()


def url(relay: RelayProcess, transcript_id: str) -> str:
    return f"{relay.ws}/sync/{transcript_id}?token={relay.token('ana', 'acme', 'editor')}"


def write(segment_id: str, text: str) -> object:
    def change(doc: TranscriptDoc) -> None:
        doc.upsert_segment(segment_id, rev=1, text=text, t0=0.0, t1=1.0, final=True)

    return change


def texts(client: SyncClient) -> dict[str, str]:
    return {s["segment_id"]: s["text"] for s in client.doc.snapshot()["segments"]}


def test_clients_on_three_relays_co_edit_and_converge(cluster: Cluster) -> None:
    relays = [cluster.start() for _ in range(3)]
    transcript_id = relays[0].create_transcript(relays[0].token("ana", "acme", "editor"))

    async def main() -> None:
        async with AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(connected(url(r, transcript_id)))
                       for r in relays]  # fmt: skip
            for n, client in enumerate(clients):
                await client.change(write(f"s{n}", f"from relay {n}"))
            want = {f"s{n}": f"from relay {n}" for n in range(3)}
            for client in clients:
                await wait_until(lambda c=client: texts(c) == want, 10)

    anyio.run(main)


def test_a_relay_without_redis_still_converges_from_the_log(cluster: Cluster) -> None:
    with_redis, without = cluster.start(), cluster.start(NO_REDIS)
    transcript_id = with_redis.create_transcript(with_redis.token("ana", "acme", "editor"))

    async def main() -> None:
        async with (
            connected(url(with_redis, transcript_id)) as a,
            connected(url(without, transcript_id)) as b,
        ):
            await a.change(write("s1", "written next to Redis"))
            await b.change(write("s2", "written where Redis is unreachable"))
            for client in (a, b):
                await wait_until(lambda c=client: len(texts(c)) == 2, 10)

    anyio.run(main)


def test_cut_redis_connections_heal_from_the_log(cluster: Cluster) -> None:
    first, second = cluster.start(), cluster.start()
    transcript_id = first.create_transcript(first.token("ana", "acme", "editor"))
    admin = redis.Redis.from_url(REDIS)

    async def main() -> None:
        async with (
            connected(url(first, transcript_id)) as a,
            connected(url(second, transcript_id)) as b,
        ):
            await a.change(write("s1", "before the cut"))
            await wait_until(lambda: "s1" in texts(b), 10)
            # Every Redis connection of these relays is cut, then an update is written.
            for client in admin.client_list():
                if client.get("name") == f"{cluster.prefix}-relay":
                    admin.client_kill_filter(_id=client["id"])
            await a.change(write("s2", "while Redis was cut"))
            await wait_until(lambda: "s2" in texts(b), 10)
            await b.change(write("s3", "after"))
            await wait_until(lambda: "s3" in texts(a), 10)

    anyio.run(main)
    admin.close()


def test_a_relay_started_late_catches_up_and_follows(cluster: Cluster) -> None:
    first = cluster.start()
    transcript_id = first.create_transcript(first.token("ana", "acme", "editor"))

    async def main() -> None:
        async with connected(url(first, transcript_id)) as a:
            for n in range(20):
                await a.change(write(f"s{n}", f"early {n}"))
            await wait_until(a.acked)
            late = cluster.start()
            async with connected(url(late, transcript_id)) as b:
                assert len(texts(b)) == 20  # its sync answer came from the log
                await a.change(write("s20", "live"))
                await wait_until(lambda: "s20" in texts(b), 10)

    anyio.run(main)


def test_redis_without_postgresql_is_refused(tmp_path: Path) -> None:
    import subprocess

    from _relay import MINUTA

    env = relay_env()
    run = subprocess.run([str(MINUTA), "relay", "--port", "0", "--data-dir", str(tmp_path),
                          "--redis-url", REDIS], env=env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert run.returncode != 0 and "PostgreSQL" in run.stderr and "Traceback" not in run.stderr


def test_kill_9_of_a_relay_under_load_loses_nothing_acknowledged(cluster: Cluster) -> None:
    """Three agents, one per relay, each writing ~330 updates/s (1,000/s in all); the
    first relay is killed mid-stream. Its agent is on another relay within 3 s, and
    every update any relay acknowledged is in the log."""
    import signal
    import time

    from agent.credentials import Tokens
    from agent.sync import RelaySync
    from engine import decode_state
    from relay.db import connect

    relays = [cluster.start() for _ in range(3)]
    transcript_id = relays[0].create_transcript(relays[0].token("ana", "acme", "editor"))
    pairs = [relays[0].login("ana") for _ in relays]
    tokens = [
        Tokens(r.url, "ana", p["access_token"], p["refresh_token"])
        for r, p in zip(relays, pairs, strict=True)
    ]
    docs = [TranscriptDoc() for _ in relays]
    syncs = [
        RelaySync(
            docs[n],
            tokens[n],
            transcript_id=transcript_id,
            alternates=[relays[(n + k) % 3].url for k in (1, 2)],
        )
        for n in range(3)
    ]
    acked_at_kill: list[bytes | None] = []
    written = [0, 0, 0]
    back_after: list[float] = []

    async def writer(n: int, stop: anyio.Event) -> None:
        i = 0
        while not stop.is_set():
            docs[n].upsert_segment(f"w{n}-{i}", rev=1, text=f"writer {n} says {i}", t0=i, t1=i + 1)
            i += 1
            written[n] = i
            await anyio.sleep(0.002)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for sync in syncs:
                tg.start_soon(sync.run)
            for sync in syncs:
                with anyio.fail_after(20):
                    await sync.connected.wait()
            stop = anyio.Event()
            started = time.monotonic()
            for n in range(3):
                tg.start_soon(writer, n, stop)
            await anyio.sleep(2.0)
            acked_at_kill.extend(s.acked for s in syncs)
            before = syncs[0].connects
            killed = time.monotonic()
            assert relays[0].process is not None
            relays[0].process.send_signal(signal.SIGKILL)
            with anyio.fail_after(10):
                while syncs[0].connects == before or not syncs[0].connected.is_set():  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            back_after.append(time.monotonic() - killed)
            await anyio.sleep(1.0)
            stop.set()
            elapsed = time.monotonic() - started
            print(f"{sum(written)} updates in {elapsed:.1f} s: {sum(written) / elapsed:.0f}/s")
            with anyio.fail_after(30):
                for sync in syncs:
                    await sync.wait_acked()
            tg.cancel_scope.cancel()

    anyio.run(main)
    assert back_after[0] < 3.0, back_after  # the seed's reconnect bound
    # Everything any relay acknowledged, and in the end everything written, is in the log.
    engine = connect(cluster.flags[cluster.flags.index("--database-url") + 1])
    try:
        from sqlalchemy import text

        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT data FROM doc_updates WHERE transcript_id = :t ORDER BY seq"),
                {"t": transcript_id},
            ).scalars()
            log = TranscriptDoc()
            for data in rows:
                log.apply_update(bytes(data))
    finally:
        engine.dispose()
    stored = decode_state(log.state_vector())
    for n, doc in enumerate(docs):
        for state in (acked_at_kill[n], doc.state_vector()):
            assert state is not None
            for client, clock in decode_state(state).items():
                assert stored.get(client, 0) >= clock, (n, client)
    assert len(log.snapshot()["segments"]) == sum(written)


def summarized(client: SyncClient) -> bool:
    summary = client.doc.snapshot()["summary"]
    return summary is not None and bool(summary["bullets"])


def test_two_worker_processes_run_once_per_trigger(cluster: Cluster) -> None:
    """Three relays, two ``minuta worker`` processes (each on a different relay): the
    20 finals an agent sends make one worker run, by whichever process holds the lease."""
    import subprocess

    from _relay import MINUTA

    relays = [cluster.start() for _ in range(3)]
    transcript_id = relays[0].create_transcript(relays[0].token("ana", "acme", "editor"))
    env = {**cluster.env, "MINUTA_USERNAME": "ana"}
    logs = [(cluster.tmp_path / f"worker-{n}.log").open("w+") for n in range(2)]
    workers = [
        subprocess.Popen(
            [str(MINUTA), "worker", relays[n + 1].url, "--poll", "0.5"],
            env=env,
            stdout=logs[n],
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(2)
    ]

    def finals(doc: TranscriptDoc) -> None:
        for n in range(20):
            doc.upsert_segment(f"s{n}", rev=1, text=f"Ana will send report {n} by Friday.",
                               t0=n, t1=n + 1, speaker="S1", final=True)  # fmt: skip

    async def main() -> None:
        async with connected(url(relays[0], transcript_id)) as agent:
            await agent.change(finals)
            await wait_until(lambda: summarized(agent), 40)
            await anyio.sleep(3)  # a second run, if there were one, would be done by now

    ran: list[str] = []
    try:
        anyio.run(main)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=20)
        for log in logs:
            log.seek(0)
            ran += [line for line in log if f"ran on {transcript_id}" in line]
            log.close()
    assert len(ran) == 1, ran


def test_a_lease_lapses_when_its_holder_stops_renewing(pg_url: str) -> None:
    import time

    from relay.db import connect, upgrade
    from relay.leases import take

    engine = connect(pg_url)
    upgrade(engine)
    try:
        assert take(engine, "workers", "t-1", holder="a", ttl_s=0.5)
        assert not take(engine, "workers", "t-1", holder="b", ttl_s=0.5)
        time.sleep(0.6)
        assert take(engine, "workers", "t-1", holder="b", ttl_s=0.5)
        assert not take(engine, "workers", "t-1", holder="a", ttl_s=0.5)
    finally:
        engine.dispose()


def test_one_relay_at_a_time_writes_a_transcripts_projection(cluster: Cluster) -> None:
    from _relay import metric

    first, second = cluster.start(), cluster.start()
    transcript_id = first.create_transcript(first.token("ana", "acme", "editor"))
    before = [metric(r, "minuta_projections_total") for r in (first, second)]

    async def main() -> None:
        async with (
            connected(url(first, transcript_id)) as a,
            connected(url(second, transcript_id)) as b,
        ):
            for n in range(8):  # both relays' clients write, for about 4 s
                await a.change(write(f"a{n}", f"on the first relay {n}"))
                await b.change(write(f"b{n}", f"on the second relay {n}"))
                await anyio.sleep(0.5)
            await anyio.sleep(1.5)  # the projector's debounce

    anyio.run(main)
    wrote = [
        metric(r, "minuta_projections_total") - b
        for r, b in zip((first, second), before, strict=True)
    ]
    assert sorted(w > 0 for w in wrote) == [False, True], wrote  # one writer, within a lease


def test_the_stock_yjs_client_on_one_relay_co_edits_with_pycrdt_clients_on_others(
    cluster: Cluster,
    node: str,  # noqa: F811 (the fixture imported above)
) -> None:
    import base64
    import json
    import os
    import subprocess

    exe = node
    relays = [cluster.start() for _ in range(3)]
    token = relays[0].token("ana", "acme", "editor")
    transcript_id = relays[0].create_transcript(token)
    plan = {
        "user": "bo",
        "edits": [{"segment": "s1", "text": "Hola a todos, bienvenidos"}],
        "until": {"texts": {"s2": ["from the third relay"]}},
        "timeout_s": 30,
    }

    async def main() -> None:
        async with (
            connected(url(relays[0], transcript_id)) as agent,
            connected(url(relays[2], transcript_id)) as third,
        ):
            await agent.change(write("s1", "hola a todos bienvenidos"))
            await wait_until(lambda: "s1" in texts(third), 10)
            async with await anyio.open_process(
                [exe, str(SCRIPT), f"{relays[1].ws}/sync", transcript_id, json.dumps(plan)],
                stdin=subprocess.DEVNULL, env={**os.environ, "MINUTA_TOKEN": token},
            ) as process:  # fmt: skip
                browser = Browser(process)
                async with anyio.create_task_group() as tg:
                    tg.start_soon(browser.keep_stderr)
                    await browser.message("edited")
                    await wait_until(lambda: texts(agent)["s1"] == "Hola a todos, bienvenidos", 10)
                    await third.change(write("s2", "from the third relay"))
                    final = await browser.message("final")
                    await process.wait()
                    tg.cancel_scope.cancel()
            in_node = TranscriptDoc.from_update(base64.b64decode(final["update"]))
            await wait_until(lambda: texts(third) == texts(agent) == texts_of(in_node), 10)

    anyio.run(main)


def texts_of(doc: TranscriptDoc) -> dict[str, str]:
    return {s["segment_id"]: s["text"] for s in doc.snapshot()["segments"]}


def test_presence_crosses_relays(cluster: Cluster) -> None:
    from engine import protocol
    from engine.protocol import Presence

    first, second = cluster.start(), cluster.start()
    transcript_id = first.create_transcript(first.token("ana", "acme", "editor"))
    state = b'{"user":{"name":"Ana"},"cursor":{"segment":"s1"}}'

    async def main() -> None:
        async with (
            connected(url(first, transcript_id)) as a,
            connected(url(second, transcript_id)) as b,
        ):
            frame = protocol.awareness(protocol.encode_awareness([Presence(4242, 1, state)]))
            await a.ws.send(frame)
            await wait_until(
                lambda: any(
                    e.client_id == 4242 and e.state == state for f in b.presence for e in f
                ),
                10,
            )

    anyio.run(main)


def test_minuta_worker_fails_over_to_another_relay(cluster: Cluster) -> None:
    import signal
    import subprocess

    from _relay import MINUTA

    first, second = cluster.start(), cluster.start()
    transcript_id = first.create_transcript(first.token("ana", "acme", "editor"))
    env = {**cluster.env, "MINUTA_USERNAME": "ana"}
    log = (cluster.tmp_path / "worker.log").open("w+")
    worker = subprocess.Popen(
        [str(MINUTA), "worker", f"{first.url},{second.url}", "--poll", "0.5"],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip

    def finals(doc: TranscriptDoc) -> None:
        for n in range(20):
            doc.upsert_segment(f"s{n}", rev=1, text=f"Bo will call supplier {n} tomorrow.",
                               t0=n, t1=n + 1, speaker="S2", final=True)  # fmt: skip

    async def main() -> None:
        await anyio.sleep(1.5)  # the worker is signed in on the first relay
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        async with connected(url(second, transcript_id)) as agent:
            await agent.change(finals)
            await wait_until(lambda: summarized(agent), 40)

    try:
        anyio.run(main)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        log.seek(0)
        output = log.read()
        log.close()
    assert f"ran on {transcript_id}" in output, output


def test_the_web_page_fails_over_through_a_load_balancer(cluster: Cluster) -> None:
    """Chromium opens a transcript through a balancer in front of two relays; the relay
    it is on is killed: it is live again, on the other, within 3 s, and sees new edits."""
    import signal
    import time
    from urllib.parse import urlsplit

    from _balancer import Balancer
    from _browser import Browser, missing
    from test_web import blocking, open_transcript

    if (why := missing()) is not None:
        pytest.fail(why)
    first, second = cluster.start(), cluster.start()
    backends = [
        (h.hostname or "", h.port or 0) for h in (urlsplit(first.url), urlsplit(second.url))
    ]
    transcript_id = first.create_transcript(first.token("ana", "acme", "editor"))
    live = "() => window.minuta && minuta.sync.status === 'live'"
    with Balancer(backends) as balancer:
        browser = Browser(balancer.url)
        try:
            open_transcript(browser, "ana", "ana", transcript_id)
            assert first.process is not None
            killed = time.monotonic()
            first.process.send_signal(signal.SIGKILL)
            browser.wait("ana", "() => minuta.sync.status !== 'live'", timeout_ms=5000)
            browser.wait("ana", live, timeout_ms=10_000)
            back_after = time.monotonic() - killed
            print(f"the page was live again {back_after:.2f} s after the kill")

            async def edit() -> None:
                async with connected(url(second, transcript_id)) as agent:
                    await agent.change(write("s1", "said after the failover"))
                    await blocking(browser.wait, "ana",
                                   "() => document.querySelectorAll('.seg').length === 1")  # fmt: skip

            anyio.run(edit)
        finally:
            browser.close()
    assert back_after < 3.0, back_after


def test_compaction_stays_correct_while_another_relay_appends(pg_url: str) -> None:
    """One relay's update log appends a transcript's updates while another process's
    compacts it, round after round: every update is still in the log."""
    from pycrdt import Doc, Text

    from relay.compaction import Compactor
    from relay.db import connect, upgrade
    from relay.updates import UpdateLog

    engine_a, engine_b = connect(pg_url), connect(pg_url)
    upgrade(engine_a)
    words = [f"w{n}" for n in range(400)]
    compacted: list[bool] = []

    async def main() -> bytes:
        async with UpdateLog(engine_a) as appender, UpdateLog(engine_b) as other:
            compactor = Compactor(other, min_rows=2)
            doc: Doc[Any] = Doc()
            doc["t"] = text = Text()
            done = anyio.Event()

            async def append() -> None:
                for word in words:
                    state = doc.get_state()
                    text.insert(len(text), word + " ")
                    await appender.append("t-1", doc.get_update(state))
                done.set()

            async def compact() -> None:
                while not done.is_set():
                    compacted.append(await compactor.compact("t-1"))
                    await anyio.sleep(0.01)

            async with anyio.create_task_group() as tg:
                tg.start_soon(append)
                tg.start_soon(compact)
            merged: Doc[Any] = Doc()
            for data in await other.load("t-1"):
                merged.apply_update(data)
            return str(merged.get("t", type=Text)).encode()

    try:
        assert anyio.run(main).decode().split() == words
        print(f"{sum(compacted)} of {len(compacted)} compactions done while appending")
    finally:
        engine_a.dispose()
        engine_b.dispose()

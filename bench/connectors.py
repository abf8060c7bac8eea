"""Benchmark the connectors' outbox: rows dispatched per second to a local webhook
receiver, and what a push adds to the API's answer.

1. Outbox throughput: 50 transcripts x (a note + 4 actions) queued in SQLite, then one
   dispatcher works them off against a local receiver that answers at once (so the
   figure is ours: claim, seal/unseal, sign, record), at 8 and 32 rows in flight.
2. Push latency through a real relay (after one warm-up push) (``minuta relay`` on SQLite): ``POST
   /connectors/webhook/push`` until its ``202`` (the outbox rows committed), beside a
   ``GET /transcripts/{id}`` as the baseline, and until the receiver has every item.

    python bench/connectors.py [--transcripts 50] [--pushes 20]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import anyio  # noqa: E402
import httpx  # noqa: E402
from _relay import RelayProcess, connected, prepare, relay_env  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from vendors.webhook import FakeWebhook  # noqa: E402

from engine import TranscriptDoc  # noqa: E402
from relay.connectors import (  # noqa: E402
    ConnectorSpec,
    Dispatcher,
    DispatchOptions,
    SecretBox,
    add_connector,
    enqueue,
    pushes,
)
from relay.db import Org, connect, default_database_url, upgrade, writer  # noqa: E402

SECRET = "whsec-" + "b" * 24


def meeting(transcript_id: str) -> TranscriptDoc:
    doc = TranscriptDoc.create(transcript_id, title="Weekly", started_at="2026-12-04T09:00:00Z")
    doc.set_summary(bullets=[f"Decision {i}" for i in range(5)], risks=["Vendor delay"])
    for i in range(4):
        doc.upsert_action(f"a{i}", text=f"Follow up on item {i}", owner="Ana", due="2026-12-11")
    return doc


def throughput(transcripts: int, in_flight: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp, FakeWebhook(SECRET) as hook:
        engine = connect(default_database_url(Path(tmp)))
        upgrade(engine)
        with Session(writer(engine)) as session, session.begin():
            session.add(Org(org_id="acme", name="Acme"))
        box = SecretBox(bytes(32))
        spec = ConnectorSpec("webhook", {"url": hook.url + "/hook", "secret": SECRET})
        connector = {**add_connector(engine, box, "acme", spec, created_by=None), "org_id": "acme"}
        for n in range(transcripts):
            enqueue(engine, connector, meeting(f"t-{n}").snapshot(), requested_by=None)
        dispatcher = Dispatcher(engine, box, DispatchOptions(batch=in_flight))

        async def drain() -> int:
            done = 0
            while tried := await dispatcher.run_once():
                done += tried
            return done

        started = time.perf_counter()
        rows = anyio.run(drain)
        elapsed = time.perf_counter() - started
        left = [p for p in pushes(engine, "acme", None) if p["state"] != "sent"]
        assert not left, left[:3]
        assert len(hook.events) == rows
        engine.dispose()
        return rows, elapsed


def push_latency(pushes_n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"get": [], "push": [], "sent": []}
    with tempfile.TemporaryDirectory() as tmp, FakeWebhook(SECRET) as hook:
        env = relay_env()
        data = Path(tmp) / "data"
        relay = RelayProcess(data, env, prepare(data, env)).start()
        try:
            admin = {"Authorization": f"Bearer {relay.token('root', 'acme', 'admin')}"}
            editor = {"Authorization": f"Bearer {relay.token('ana', 'acme', 'editor')}"}
            httpx.post(f"{relay.url}/connectors", headers=admin, json={
                "target": "webhook", "credential": {"url": hook.url + "/hook", "secret": SECRET},
            }).raise_for_status()  # fmt: skip
            with httpx.Client(base_url=relay.url, headers=editor) as http:
                for n in range(pushes_n + 1):  # the first starts the relay's reader process
                    transcript_id = relay.create_transcript(relay.token("ana", "acme", "editor"))
                    asyncio_write(relay, transcript_id, n)
                    t0 = time.perf_counter()
                    http.get(f"/transcripts/{transcript_id}").raise_for_status()
                    times["get"].append(time.perf_counter() - t0)
                    before = len(hook.events)
                    t0 = time.perf_counter()
                    answer = http.post(
                        "/connectors/webhook/push", json={"transcript_id": transcript_id}
                    )
                    times["push"].append(time.perf_counter() - t0)
                    assert answer.status_code == 202, answer.text
                    while len(hook.events) < before + 5:
                        time.sleep(0.002)
                    times["sent"].append(time.perf_counter() - t0)
                    if n == 0:
                        for values in times.values():
                            values.pop()
        finally:
            relay.stop()
    return times


def asyncio_write(relay: RelayProcess, transcript_id: str, n: int) -> None:
    token = relay.token("ana", "acme", "editor")
    doc = meeting(transcript_id)

    async def main() -> None:
        async with connected(f"{relay.ws}/sync/{transcript_id}?token={token}") as client:
            await client.change(lambda d: d.apply_update(doc.encode_update()))
            while not client.acked():  # noqa: ASYNC110
                await anyio.sleep(0.01)

    anyio.run(main)


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(values) * 1000:.1f} / {p95 * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=50)
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for in_flight in (8, 32):
        n, elapsed = throughput(args.transcripts, in_flight)
        rows.append((f"1. outbox: {n} rows to a local receiver, {in_flight} in flight",
                     f"{n / elapsed:,.0f} rows/s ({elapsed:.2f} s)"))  # fmt: skip
    times = push_latency(args.pushes)
    rows.append((f"2. `GET /transcripts/{{id}}`, p50 / p95 of {args.pushes} (baseline)",
                 ms(times["get"])))  # fmt: skip
    rows.append(("2. `POST /connectors/webhook/push` until its 202 (5 rows committed)",
                 ms(times["push"])))  # fmt: skip
    rows.append(("2. ... until the receiver has all 5 items (in-relay dispatcher)",
                 ms(times["sent"])))  # fmt: skip
    print(f"connectors benchmark: SQLite, {platform.machine()}, Python {platform.python_version()}")
    print()
    print("| figure | measured |")
    print("|---|---|")
    for figure, value in rows:
        print(f"| {figure} | {value} |")


if __name__ == "__main__":
    main()

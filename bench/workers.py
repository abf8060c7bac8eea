"""Benchmark the summary and action workers on a 2-hour transcript.

A room holds ``bench/engine.py``'s 2-hour transcript (1,500 segments), already through one
worker run. An agent then sends 20 new final segments, one update each; the figure is the
time from the 20th being stored to the room's doc holding the updated actions and
summary (the trigger fires at 20 changed finals; the runner polls every 0.5 s). Also the
wall time of one run, read to write-back, and the relay process's CPU for it (the
heuristics themselves run in a worker process). Prints a Markdown table.

    python bench/workers.py [--segments 1500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This file is named like a package it uses; keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio  # noqa: E402

import bench.engine as engine_bench  # noqa: E402
from engine import (  # noqa: E402
    Origin,
    TranscriptDoc,
    protocol,
)
from relay.db import connect, upgrade  # noqa: E402
from relay.rooms import Connection, Room, Rooms  # noqa: E402
from relay.updates import UpdateLog  # noqa: E402
from relay.workers import Workers  # noqa: E402

NEW = [
    "Ana, please send the revised budget to finance by Friday.",
    "I'll schedule the client demo for next week.",
    "We agreed to ship the release on the first of the month.",
    "There is a risk that the vendor delays the hardware.",
]


async def _ignore(_frame: bytes) -> None:
    return None


async def scenario(segments: int, repeat: int) -> tuple[list[float], list[float], list[float]]:
    doc = engine_bench.build(segments, 10)
    doc.set_meta(started_at="2026-11-23T09:00:00+00:00")
    latencies, run_wall, run_cpu = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        engine = connect(f"sqlite:///{Path(tmp) / 'relay.sqlite3'}")
        upgrade(engine)
        async with UpdateLog(engine) as log:
            await log.append("bench-2h", doc.encode_update())
            rooms = Rooms(log)
            workers = Workers(rooms)
            rooms.on_stored = lambda room: workers.touch(room.transcript_id)
            room = await rooms.open("bench-2h")
            agent = TranscriptDoc()
            agent.apply_update(doc.encode_update(), origin=Origin.RELAY)
            connection = Connection(_ignore, "agent", True)
            await room.join(connection)
            for _ in range(3):  # one run to start from, and the runs' own cost
                wall, cpu = time.perf_counter(), time.process_time()
                await workers.run_now("bench-2h")
                run_wall.append(time.perf_counter() - wall)
                run_cpu.append(time.process_time() - cpu)
            async with anyio.create_task_group() as tg:
                tg.start_soon(workers.run)
                t = 8000.0
                for r in range(repeat):
                    before = _summary_time(room)
                    for n in range(20):
                        state = agent.state_vector()
                        agent.upsert_segment(
                            f"new-{r}-{n}", rev=1, text=NEW[n % len(NEW)], t0=t, t1=t + 3,
                            speaker="S1", final=True,
                        )  # fmt: skip
                        t += 4
                        frame = protocol.update(agent.encode_update(state))
                        await room.receive(connection, frame)
                    stored = time.perf_counter()
                    with anyio.fail_after(30):
                        while _summary_time(room) == before:  # noqa: ASYNC110
                            await anyio.sleep(0.002)
                    latencies.append(time.perf_counter() - stored)
                    agent.apply_update(TranscriptDoc(room.doc).encode_update(), Origin.RELAY)
                tg.cancel_scope.cancel()
        engine.dispose()
    return latencies, run_wall, run_cpu


def _summary_time(room: Room) -> str | None:
    summary = TranscriptDoc(room.doc).snapshot()["summary"]
    return None if summary is None else summary["updated_at"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    latencies, wall, cpu = anyio.run(scenario, args.segments, args.repeat)
    print(f"workers benchmark: {args.segments} segments, {platform.machine()}, Python "
          f"{platform.python_version()}\n")  # fmt: skip
    print("| figure | measured | target |\n|---|---|---|")
    p50 = statistics.median(latencies)
    print(f"| 20th new final -> actions and summary in the doc, median / max of {len(latencies)} "
          f"| {p50:.2f} / {max(latencies):.2f} s | <= 2 s: {'ok' if max(latencies) <= 2 else 'MISSED'} |")  # fmt: skip
    print(f"| one run (read, heuristics, write back): wall, median | "
          f"{statistics.median(wall) * 1000:.0f} ms | |")  # fmt: skip
    print(f"| one run: the relay process's CPU, median (the heuristics run in a worker "
          f"process) | {statistics.median(cpu) * 1000:.0f} ms | |")  # fmt: skip


if __name__ == "__main__":
    main()

"""Benchmark the transcript engine on a 2-hour meeting.

Builds 1,500 segments x 10 ASR revisions each (partials growing to a final text, with word
timestamps), 5% of them corrected by a person, then measures encoding, loading, snapshots
and every export. Prints a Markdown table.

    python bench/engine.py [--segments 1500] [--revisions 10] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# This file is named like the package it measures; keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from engine import FORMATS, Origin, TranscriptDoc, export  # noqa: E402

TARGETS_MS = {"load from update": 50.0, **{f"export {f}": 100.0 for f in FORMATS}}

PROSE = (
    "we need to ship the release next week and review the budget with finance before "
    "friday so that the client demo goes well también hay que revisar el presupuesto "
    "con María y José antes del martes para la reunión con el cliente"
)
VOCAB = PROSE.split()


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(segments: int, revisions: int, seed: int = 7) -> TranscriptDoc:
    rng = random.Random(seed)
    t = TranscriptDoc.create("bench-2h", title="Two-hour planning", language="en")
    clock = 0.0
    for n in range(segments):
        segment_id = f"seg-{n:05d}"
        words = [rng.choice(VOCAB) for _ in range(rng.randint(8, 22))]
        duration = 2.0 + 0.3 * len(words)
        t0, speaker = clock, f"S{rng.randint(1, 4)}"
        for rev in range(1, revisions + 1):
            upto = max(1, len(words) * rev // revisions)
            step = duration / len(words)
            timed = [
                [w, t0 + i * step, t0 + (i + 0.9) * step, 0.9] for i, w in enumerate(words[:upto])
            ]
            t.upsert_segment(
                segment_id, rev=rev, text=" ".join(words[:upto]), t0=t0,
                t1=t0 + upto * step, speaker=speaker, conf=0.85, final=rev == revisions,
                words=timed, lang="en",
            )  # fmt: skip
        if rng.random() < 0.05:
            t.edit_text(segment_id, 0, 0, "[checked] ", user="ana")
        clock += duration + 0.4
    for i in range(20):
        t.upsert_action(f"act-{i}", text=f"Follow up on item {i}", owner="Ana", due="2026-12-01",
                        conf=0.8, segment_ids=[f"seg-{i * 50:05d}"], origin=Origin.WORKER)  # fmt: skip
    t.set_summary(bullets=["Release next week", "Budget review"], risks=["Finance sign-off"],
                  topics=["release", "budget"])  # fmt: skip
    return t


def best_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, best) wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1500)
    parser.add_argument("--revisions", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    rss_before = rss_mib()
    start = time.perf_counter()
    doc = build(args.segments, args.revisions)
    build_s = time.perf_counter() - start
    update = doc.encode_update()
    rss_doc = rss_mib() - rss_before
    snapshot = doc.snapshot()

    rows: list[tuple[str, str, str]] = [
        ("build (1 transaction per revision)", f"{build_s * 1000:.0f} ms", ""),
        ("revisions written", f"{args.segments * args.revisions:,}", ""),
        ("encoded size", f"{len(update) / 2**20:.2f} MiB", ""),
    ]
    timed: list[tuple[str, Callable[[], object]]] = [
        ("load from update", lambda: TranscriptDoc.from_update(update)),
        ("snapshot", doc.snapshot),
        ("encode update", doc.encode_update),
        *[(f"export {fmt}", lambda fmt=fmt: export(snapshot, fmt)) for fmt in FORMATS],
        (
            "load + snapshot + export md",
            lambda: export(TranscriptDoc.from_update(update).snapshot(), "md"),
        ),
    ]
    for name, fn in timed:
        median, best = best_ms(fn, args.repeat)
        limit = TARGETS_MS.get(name)
        verdict = (
            "" if limit is None else f"<= {limit:.0f} ms: {'ok' if median <= limit else 'MISSED'}"
        )
        rows.append((name, f"{median:.1f} ms (best {best:.1f})", verdict))
    rows.append(("RSS added by the built doc", f"{rss_doc:.0f} MiB", ""))
    rows.append(("peak RSS of the process", f"{peak_rss_mib():.0f} MiB", ""))

    print(f"engine benchmark: {args.segments} segments x {args.revisions} revisions, "
          f"{len(snapshot['segments'])} shown, median of {args.repeat}")  # fmt: skip
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    print("| figure | value | target |")
    print("|---|---|---|")
    for name, value, goal in rows:
        print(f"| {name} | {value} | {goal} |")


if __name__ == "__main__":
    main()

"""What refusing malformed updates at ingress would cost on a 2-hour room.

To refuse an update before storing it, the relay must know what it writes into the known
roots. An update cannot be undone once applied (a CRDT), so it would be applied first to
a shadow copy of the room's doc, the entries it touched read there (``engine._read``),
and only then stored and applied to the room. Measured per update, on
``bench/engine.py``'s 2-hour meeting (1,500 segments x 10 revisions) receiving live agent
revisions (one segment each):

- apply alone (what the relay does now);
- apply with a deep observer collecting the touched entries, and reading them;
- the shadow scheme: the above on the shadow, then apply to the room;
- after a refused update the shadow is stale: rebuilding it from the room's state;
- the naive check, a whole snapshot per update.

    python -m bench.ingress [--segments 1500] [--revisions 10] [--updates 400]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from pycrdt import Map

from engine import TranscriptDoc
from engine._read import Bad, read_segment

from . import engine as engine_bench


def touched_segments(doc: TranscriptDoc, sink: set[str]) -> Any:
    """Collect the keys of the segments each transaction touches into ``sink``."""

    def on_events(events: list[Any]) -> None:
        for event in events:
            path = event.path
            if path:
                sink.add(str(path[0]))
            else:
                sink.update(str(k) for k in event.keys)

    return doc.doc.get("segments", type=Map).observe_deep(on_events)


def check(doc: TranscriptDoc, keys: set[str]) -> int:
    """Read every touched segment; the number found unreadable."""
    segments = doc.doc.get("segments", type=Map)
    bad = 0
    for key in keys:
        try:
            read_segment(segments.get(key), key, {})
        except Bad:
            bad += 1
    keys.clear()
    return bad


def live(doc: TranscriptDoc, n: int) -> list[bytes]:
    """``n`` agent revisions continuing the meeting, one segment each."""
    replica = TranscriptDoc.from_update(doc.encode_update())
    out = []
    t0 = 8000.0
    for i in range(n):
        state = replica.state_vector()
        words = " ".join(["word"] * (1 + i % 12))
        replica.upsert_segment(
            f"live-{i // 12:04d}", rev=1 + i % 12, text=words, t0=t0, t1=t0 + 3,
            speaker="S1", conf=0.8, final=i % 12 == 11,
            words=[["word", t0, t0 + 0.2, 0.9]] * (1 + i % 12),
        )  # fmt: skip
        out.append(replica.encode_update(state))
        t0 += 0.25
    return out


def per_update(updates: list[bytes], fn: Callable[[bytes], object]) -> float:
    times = []
    for u in updates:
        start = time.perf_counter()
        fn(u)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--segments", type=int, default=1500)
    p.add_argument("--revisions", type=int, default=10)
    p.add_argument("--updates", type=int, default=400)
    args = p.parse_args()
    base = engine_bench.build(args.segments, args.revisions).encode_update()
    updates = live(TranscriptDoc.from_update(base), args.updates)

    room = TranscriptDoc.from_update(base)
    plain = per_update(updates, room.apply_update)

    room = TranscriptDoc.from_update(base)
    keys: set[str] = set()
    touched_segments(room, keys)

    def observed_apply(u: bytes) -> None:
        room.apply_update(u)
        check(room, keys)

    observed = per_update(updates, observed_apply)

    room, shadow = TranscriptDoc.from_update(base), TranscriptDoc.from_update(base)
    touched_segments(shadow, keys)

    def shadowed(u: bytes) -> None:
        shadow.apply_update(u)
        if check(shadow, keys) == 0:
            room.apply_update(u)

    scheme = per_update(updates, shadowed)
    rebuild = per_update(updates[:20], lambda u: TranscriptDoc.from_update(room.encode_update()))

    def snapshotted(u: bytes) -> None:
        room.apply_update(u)
        room.snapshot()

    snapshot = per_update(updates[:20], snapshotted)

    print(f"ingress check, {args.segments} segments x {args.revisions} revisions, median:\n")
    print("| per update | µs |\n|---|---|")
    print(f"| apply (now) | {plain:.0f} |")
    print(f"| apply + observe + read touched | {observed:.0f} |")
    print(f"| shadow scheme (shadow apply + read, room apply) | {scheme:.0f} |")
    print(f"| rebuild the shadow after a refusal | {rebuild:.0f} |")
    print(f"| naive: apply + whole snapshot | {snapshot:.0f} |")


if __name__ == "__main__":
    main()

"""The soak: a long session through the live pipeline, faster than real time.

Real English clips (FLEURS and JFK, each at its recorded level) in a shuffled loop, with
1.5-4 s pauses over a faint noise floor, fed in 100 ms blocks at ``--speed`` times real
time to one TranscriptionSession (partials on, as when recording). It reports, per
``--every`` minutes of audio: RSS, end-of-speech -> final latency, WER, and any clip
dropped (no word written for it), misheard (words written, none of them right) or
duplicated (segments overlapping in time, or a clip written with many more words than it
has). Then it interrupts a file transcription halfway, resumes it as ``minuta transcribe``
does, and compares the segments with an uninterrupted run.

    python bench/asr.py --soak [--minutes 120] [--speed 4] [--model base]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import numpy as np

from bench._asr_cases import SR, clips, percentile, pooled_wer, score

BLOCK = SR // 10


@dataclass(frozen=True)
class Placed:
    """One clip in the timeline."""

    t0: float
    t1: float
    reference: str


def timeline(minutes: float, seed: int = 0) -> tuple[list[Placed], Iterator[np.ndarray]]:
    """The clips' places, and the audio as 100 ms blocks (made as it is read)."""
    rng = np.random.default_rng(seed)
    pool = clips("en")
    floor = _pink(10 * SR, rng) * (32768 * 10 ** (-72 / 20))
    total = round(minutes * 60 * SR)
    placed: list[Placed] = []
    pieces: list[tuple[int, np.ndarray]] = []  # (start sample, audio) of each clip
    t = round(1.0 * SR)
    while True:
        for k in rng.permutation(len(pool)):
            _, audio, reference = pool[k]
            if t + audio.size > total:
                return placed, _blocks(total, pieces, floor)
            placed.append(Placed(t / SR, (t + audio.size) / SR, reference))
            pieces.append((t, audio))
            t += audio.size + round(rng.uniform(1.5, 4.0) * SR)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.fft.rfftfreq(n, 1 / SR)[1:])
    x = np.fft.irfft(spectrum, n)
    return x / (np.sqrt(np.mean(x * x)) or 1.0)


def _blocks(
    total: int, pieces: list[tuple[int, np.ndarray]], floor: np.ndarray
) -> Iterator[np.ndarray]:
    k = 0
    for start in range(0, total, BLOCK):
        end = min(total, start + BLOCK)
        x = floor[np.arange(start, end) % floor.size].copy()
        while k < len(pieces) and pieces[k][0] + pieces[k][1].size <= start:
            k += 1
        for p0, audio in pieces[k : k + 2]:
            a, b = max(start, p0), min(end, p0 + audio.size)
            if a < b:
                x[a - start : b - start] += audio[a - p0 : b - p0]
        yield np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def paced(
    blocks: Iterator[np.ndarray], speed: float | None, fed: list[float]
) -> AsyncIterator[np.ndarray]:
    start = time.monotonic()
    for i, block in enumerate(blocks):
        if speed is None:
            await anyio.lowlevel.checkpoint()
        else:
            await anyio.sleep(max(0.0, start + i * BLOCK / SR / speed - time.monotonic()))
        fed.append(time.monotonic())
        yield block


def soak(asr: Any, minutes: float, speed: float, every: float) -> dict[str, Any]:
    from agent.session import FinalWritten, StreamOptions, TranscriptionSession
    from engine import TranscriptDoc

    placed, blocks = timeline(minutes)
    doc = TranscriptDoc.create("soak", language="en")
    fed: list[float] = []
    finals: list[tuple[float, float]] = []  # (stream time, latency s)
    rss: list[tuple[float, float]] = []
    pad = 0.2

    def on_final(event: FinalWritten) -> None:
        speech_end = max(event.utterance.t1 - pad, event.utterance.t0)
        k = min(int(speech_end * SR / BLOCK), len(fed) - 1)
        finals.append((speech_end, event.written_at - fed[k]))

    async def sample_rss(blocks: AsyncIterator[np.ndarray]) -> AsyncIterator[np.ndarray]:
        n = 0
        async for block in blocks:
            if n % (60 * SR // BLOCK) == 0:
                rss.append((n * BLOCK / SR, rss_mib()))
            n += 1
            yield block

    session = TranscriptionSession(doc, asr, options=StreamOptions(), on_final=on_final)
    started = time.perf_counter()
    stats = anyio.run(session.run, sample_rss(paced(blocks, speed, fed)))
    wall = time.perf_counter() - started
    segments = doc.snapshot()["segments"]
    return {
        "wall_s": wall,
        "stats": stats,
        "windows": _windows(placed, segments, finals, rss, minutes, every),
        "overlaps": sum(1 for a, b in itertools.pairwise(segments) if b["t0"] < a["t1"] - 1e-6),
        "rss": rss,
    }


def _windows(
    placed: list[Placed], segments: list[Any], finals: list[tuple[float, float]],
    rss: list[tuple[float, float]], minutes: float, every: float,
) -> list[dict[str, Any]]:  # fmt: skip
    out = []
    for w0 in np.arange(0.0, minutes, every):
        a, b = w0 * 60, min(minutes, w0 + every) * 60
        inside = [p for p in placed if a <= p.t0 < b]
        scores, dropped, misheard, duplicated = [], 0, 0, 0
        for p in inside:
            words = [s["text"] for s in segments if s["t0"] < p.t1 and s["t1"] > p.t0]
            sc = score(p.reference, " ".join(words))
            scores.append(sc)
            if sc.hits == 0:
                # Nothing written is the pipeline losing speech; text with no right word
                # in it is the model mishearing it (counted in the WER as well).
                lost = not " ".join(words).strip()
                dropped += lost
                misheard += not lost
                what = "dropped" if lost else "misheard"
                print(f"  {what}: {p.t0:.1f}-{p.t1:.1f} s {p.reference[:40]!r} -> {words}")
            duplicated += len(" ".join(words).split()) > 1.5 * sc.words + 3
        latency = [x for t, x in finals if a <= t < b]
        memory = [m for t, m in rss if a <= t < b]
        out.append({
            "from_min": w0, "clips": len(inside), "wer": pooled_wer(scores),
            "dropped": dropped, "misheard": misheard, "duplicated": duplicated,
            "p50": percentile(latency, 0.5), "p95": percentile(latency, 0.95),
            "rss_max": max(memory) if memory else None,
        })  # fmt: skip
    return out


def resumed(asr: Any, minutes: float) -> tuple[int, int, int]:
    """(segments uninterrupted, segments resumed, how many differ) over ``minutes``."""
    from agent.cli._run import resume_point
    from agent.session import StreamOptions, TranscriptionSession
    from engine import TranscriptDoc

    _, blocks = timeline(minutes, seed=1)
    audio = np.concatenate(list(blocks))
    options = StreamOptions(partial_interval_s=None)

    async def feed(x: np.ndarray) -> AsyncIterator[np.ndarray]:
        for i in range(0, x.size, BLOCK):
            await anyio.lowlevel.checkpoint()
            yield x[i : i + BLOCK]

    whole = TranscriptDoc.create("whole", language="en")
    anyio.run(TranscriptionSession(whole, asr, options=options).run, feed(audio))

    doc = TranscriptDoc.create("cut", language="en")

    async def interrupted() -> None:
        with anyio.CancelScope() as scope:
            session = TranscriptionSession(doc, asr, options=options)

            async def cut_halfway(x: np.ndarray) -> AsyncIterator[np.ndarray]:
                async for block in feed(x[: x.size // 2]):
                    yield block
                scope.cancel()  # the process dies mid-stream, finals still queued
                await anyio.sleep(1)

            await session.run(cut_halfway(audio))

    anyio.run(interrupted)
    resume, _ = resume_point(doc)
    rest = audio[round(resume.start * SR) :]
    anyio.run(TranscriptionSession(doc, asr, options=options, resume=resume).run, feed(rest))
    a = whole.snapshot()["segments"]
    b = doc.snapshot()["segments"]
    # The same segment: the same text, times within a VAD frame or two.
    unmatched = [
        s for s in a
        if not any(t["text"] == s["text"] and abs(t["t0"] - s["t0"]) < 0.1 for t in b)
    ]  # fmt: skip
    return len(a), len(b), len(unmatched)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench/asr.py --soak")
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--speed", type=float, default=4.0, help="times real time")
    parser.add_argument("--every", type=float, default=10.0, help="report window, minutes")
    parser.add_argument("--model", default="base")
    parser.add_argument("--resume-minutes", type=float, default=10.0)
    args = parser.parse_args(argv)
    from bench.asr import transcriber

    asr = transcriber(args.model, "en")
    result = soak(asr, args.minutes, args.speed, args.every)
    stats = result["stats"]
    print(f"Soak: {args.minutes:.0f} min of audio through the live pipeline at {args.speed:g}x "
          f"real time, model {args.model}: {result['wall_s'] / 60:.1f} min wall, "
          f"ASR busy {stats.asr_seconds / (args.minutes * 60):.3f} of the audio, "
          f"{stats.finals} finals ({stats.joined} joined, {stats.promoted} from a partial), "
          f"{stats.partials} partials; {asr.full_window_retries} decoded again in a full "
          f"30 s window.")  # fmt: skip
    print()
    print(
        "| minutes | clips | WER | dropped | misheard | duplicated | latency p50 / p95 (s) "
        "| max RSS (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for w in result["windows"]:
        lat = "n/a" if w["p50"] is None else f"{w['p50']:.2f} / {w['p95']:.2f}"
        rss = "n/a" if w["rss_max"] is None else f"{w['rss_max']:.0f}"
        print(f"| {w['from_min']:.0f}-{w['from_min'] + args.every:.0f} | {w['clips']} | "
              f"{w['wer']:.3f} | {w['dropped']} | {w['misheard']} | {w['duplicated']} | {lat} "
              f"| {rss} |")  # fmt: skip
    warm = [m for t, m in result["rss"] if t >= args.every * 60]
    first, last = result["windows"][0], result["windows"][-1]
    growth = (max(warm) - warm[0]) if warm else float("nan")
    print()
    print(f"RSS growth after the first {args.every:g} min: {growth:.0f} MiB (target <= 50). "
          f"Latency p95 first / last window: {first['p95']:.2f} / {last['p95']:.2f} s. "
          f"Segments overlapping in time: {result['overlaps']}. Clips dropped: "
          f"{sum(w['dropped'] for w in result['windows'])}, misheard: "
          f"{sum(w['misheard'] for w in result['windows'])}, duplicated: "
          f"{sum(w['duplicated'] for w in result['windows'])}; median WER per window "
          f"{statistics.median(w['wer'] for w in result['windows']):.3f}.")  # fmt: skip
    whole, again, differ = resumed(asr, args.resume_minutes)
    print(f"Interrupted halfway and resumed ({args.resume_minutes:g} min file): {again} segments "
          f"against {whole} uninterrupted; {differ} of those {whole} not found alike (same "
          f"text, start within 0.1 s) in the resumed run.")  # fmt: skip

"""Benchmark the ASR pipeline: batch against live streaming, clip by clip, level by level.

Every FLEURS clip (10 English, 10 Spanish) and JFK is its own recording (a fresh pipeline
each time), at its recorded level and, if louder than -45 dBFS, also attenuated to about
-55 and -65 dBFS RMS. For each recording, in one process per model:

- batch: faster-whisper's ``transcribe`` on the whole clip, with the pipeline's options;
  also on the clip brought to -20 dBFS, to see whether the ASR wants normalized input;
- stream: the live pipeline (VAD, partials every second) fed at real-time pace in 100 ms
  blocks, like a microphone; RTF is ASR busy time / audio time, latency is from the end
  of speech to the final text being in the doc;
- file: the same pipeline fed as fast as it takes it (``minuta transcribe``).

Each clip is followed by 1 s of silence, as a pause in a meeting would be.

    python bench/asr.py [--models base tiny.en] [--vad silero] [--per-clip] [--no-realtime]
    python bench/asr.py --sweep        # decoding options, batch, clip by clip
    python bench/asr.py --soak         # a 2-hour session through the live pipeline
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

# This folder has a file named like a package it measures (engine.py); keep it off the path,
# and put the project's root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import anyio  # noqa: E402
import anyio.lowlevel  # noqa: E402
import numpy as np  # noqa: E402

from bench._asr_cases import (  # noqa: E402
    SR,
    Case,
    Score,
    at_level,
    cases,
    lost_share,
    percentile,
    pooled_wer,
    score,
)

BLOCK_S = 0.1
TRAILING_SILENCE_S = 1.0


def transcriber(model: str, lang: str, **asr: Any) -> Any:
    from agent.asr import AsrOptions, IncrementalTranscriber

    return IncrementalTranscriber(AsrOptions(model=model, language=lang, **asr))


def run_batch(asr: Any, audio: np.ndarray, **overrides: object) -> tuple[float, str]:
    """One ``WhisperModel.transcribe`` on the whole recording, the pipeline's options."""
    settings = asr.decode_options()
    settings.update(overrides)
    fit, asr.whisper.fit = asr.whisper.fit, False  # batch is stock faster-whisper
    try:
        start = time.perf_counter()
        segments, _ = asr.whisper.transcribe(
            audio.astype(np.float32) / 32768, language=asr.language, **settings
        )
        text = " ".join(s.text for s in segments)
        return time.perf_counter() - start, text
    finally:
        asr.whisper.fit = fit


async def paced(
    audio: np.ndarray, fed_at: list[float], realtime: bool
) -> AsyncIterator[np.ndarray]:
    block = int(BLOCK_S * SR)
    start = time.monotonic()
    for i in range(0, len(audio), block):
        if realtime:
            await anyio.sleep(max(0.0, start + i / SR - time.monotonic()))
        else:
            await anyio.lowlevel.checkpoint()
        fed_at.append(time.monotonic())
        yield audio[i : i + block]


def vad_options(spec: str) -> Any:
    """``silero`` or ``webrtc,pad_ms=400,agc=0``: a backend and VadOptions overrides."""
    from agent.vad import VadOptions

    backend, *pairs = spec.split(",")
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, value = pair.split("=")
        overrides[key] = (
            bool(int(value)) if key == "agc" else type(getattr(VadOptions(), key))(value)
        )
    return VadOptions(backend=backend, **overrides)  # type: ignore[arg-type]


def run_stream(asr: Any, audio: np.ndarray, realtime: bool, vad: str) -> dict[str, Any]:
    from agent.session import FinalWritten, StreamOptions, TranscriptionSession
    from engine import TranscriptDoc

    doc = TranscriptDoc.create("bench", language=asr.language)
    fed_at: list[float] = []
    latencies: list[float] = []
    options = vad_options(vad)
    pad = options.pad_ms / 1000

    def on_final(event: FinalWritten) -> None:
        # The wall time the last speech sample was fed, from the block that carried it.
        speech_end = max(event.utterance.t1 - pad, event.utterance.t0)
        k = min(int(speech_end / BLOCK_S), len(fed_at) - 1)
        latencies.append(event.written_at - fed_at[k])

    session = TranscriptionSession(
        doc,
        asr,
        vad=options,
        options=StreamOptions(partial_interval_s=1.0 if realtime else None),
        on_final=on_final,
    )
    start = time.perf_counter()
    stats = anyio.run(session.run, paced(audio, fed_at, realtime))
    wall = time.perf_counter() - start
    return {
        "text": " ".join(s["text"] for s in doc.snapshot()["segments"]),
        "latencies": latencies,
        "busy_s": stats.asr_seconds if realtime else wall,
        "partials": stats.partials,
        "promoted": stats.promoted,
        "finals": stats.finals,
    }


def measure(model: str, case: Case, asr: Any, realtime: bool, vad: str) -> dict[str, Any]:
    audio = np.concatenate([case.audio, np.zeros(round(TRAILING_SILENCE_S * SR), np.int16)])
    batch_s, batch_text = run_batch(asr, audio)
    _, normalized_text = run_batch(asr, at_level(audio, -20.0))
    file_mode = run_stream(asr, audio, False, vad)
    stream = run_stream(asr, audio, True, vad) if realtime else file_mode
    return {
        "model": model,
        "clip": case.clip,
        "lang": case.lang,
        "level": case.level,
        "level_db": case.level_db,
        "audio_s": len(audio) / SR,
        "batch_s": batch_s,
        "batch": score(case.reference, batch_text).__dict__,
        "batch_normalized": score(case.reference, normalized_text).__dict__,
        "stream": score(case.reference, stream["text"]).__dict__,
        "file": score(case.reference, file_mode["text"]).__dict__,
        "stream_text": stream["text"],
        "latencies": stream["latencies"] if realtime else [],
        "stream_busy_s": stream["busy_s"],
        "file_s": file_mode["busy_s"],
        "finals": stream["finals"],
        "promoted": stream["promoted"],
        "partials": stream["partials"],
    }


def one(
    model: str, realtime: bool, vad: str, only: str | None, level: float | None, fit: bool
) -> list[dict[str, Any]]:
    rows = []
    for lang in ("en",) if model.endswith(".en") else ("en", "es"):
        asr = transcriber(model, lang, input_level_db=level, fit_window=fit)
        for case in cases(lang, only):
            rows.append(measure(model, case, asr, realtime, vad))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for row in rows:
        row["peak_rss_mib"] = rss
    return rows


def summarize(rows: list[dict[str, Any]], realtime: bool) -> None:
    print("| model | lang | level | clips | WER batch | WER stream | stream / batch | "
          "WER file | WER batch, input at -20 dBFS | worst clip: words batch found, lost | "
          "latency p50 / p95 | stream RTF | file RTF |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        cells.setdefault((row["model"], row["lang"], row["level"]), []).append(row)
    worst_ratio, worst_loss = 0.0, 0.0
    for (model, lang, level), group in cells.items():
        sc = {k: [Score(**r[k]) for r in group] for k in ("batch", "stream", "file")}
        normalized = [Score(**r["batch_normalized"]) for r in group]
        wb, ws = pooled_wer(sc["batch"]), pooled_wer(sc["stream"])
        ratio = ws / wb if wb else (1.0 if ws == 0 else float("inf"))
        losses = [
            (lost_share(b, s), r["clip"])
            for b, s, r in zip(sc["batch"], sc["stream"], group, strict=True)
        ]
        loss, clip = max(losses)
        worst_ratio, worst_loss = max(worst_ratio, ratio), max(worst_loss, loss)
        latencies = [x for r in group for x in r["latencies"]]
        audio = sum(r["audio_s"] for r in group)
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        lat = f"{p50:.2f} / {p95:.2f} s" if p50 is not None and p95 is not None else "n/a"
        print(
            f"| {model} | {lang} | {level} | {len(group)} | {wb:.3f} | {ws:.3f} | {ratio:.2f} | "
            f"{pooled_wer(sc['file']):.3f} | {pooled_wer(normalized):.3f} | "
            f"{clip} {100 * loss:.0f}% | {lat} | "
            f"{sum(r['stream_busy_s'] for r in group) / audio:.3f} | "
            f"{sum(r['file_s'] for r in group) / audio:.3f} |",
            flush=True,
        )
    latencies = [x for r in rows for x in r["latencies"]]
    print()
    print(f"Worst stream / batch WER ratio in a cell: {worst_ratio:.2f} (target <= 1.10: "
          f"{'met' if worst_ratio <= 1.1 else 'MISSED'}); most words lost by one clip against "
          f"batch: {100 * worst_loss:.0f}% (target <= 10%: {'met' if worst_loss <= 0.1 else 'MISSED'}).")  # fmt: skip
    if realtime and latencies:
        p95 = percentile(latencies, 0.95)
        busy = sum(r["stream_busy_s"] for r in rows) / sum(r["audio_s"] for r in rows)
        print(f"Stream RTF {busy:.3f} (target <= 0.25); end of speech -> final p95 "
              f"{p95:.2f} s over {len(latencies)} finals (target <= 1.5 s).")  # fmt: skip
    print(f"Peak RSS: {max(r['peak_rss_mib'] for r in rows):.0f} MiB.")


def per_clip(rows: list[dict[str, Any]]) -> None:
    print("| model | clip | level | dBFS | words | WER batch | WER stream | WER file | finals |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        b, s, f = (Score(**r[k]) for k in ("batch", "stream", "file"))
        print(f"| {r['model']} | {r['clip']} | {r['level']} | {r['level_db']:.0f} | {b.words} | "
              f"{b.wer:.3f} | {s.wer:.3f} | {f.wer:.3f} | {r['finals']} |")  # fmt: skip


SWEEP: list[tuple[str, dict[str, object]]] = [
    ("chosen: beam 1, T (0, 0.2), words, no cond.", {}),
    ("beam_size=5", {"beam_size": 5}),
    ("temperature 0 then 0.2", {"temperature": [0.0, 0.2]}),
    ("temperature default (0..1, 6 steps)", {"temperature": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}),
    ("word_timestamps=False", {"word_timestamps": False}),
    ("vad_filter=True", {"vad_filter": True}),
    ("condition_on_previous_text=True", {"condition_on_previous_text": True}),
]


def sweep(lang: str) -> list[dict[str, object]]:
    asr = transcriber("base", lang)
    recorded = [c for c in cases(lang) if c.level == "recorded"]
    rows = []
    for name, options in SWEEP:
        seconds, scores = 0.0, []
        for case in recorded:
            t, text = run_batch(asr, case.audio, **options)
            seconds += t
            scores.append(score(case.reference, text))
        audio = sum(len(c.audio) for c in recorded) / SR
        rows.append(
            {"option": name, "lang": lang, "rtf": seconds / audio, "wer": pooled_wer(scores)}
        )
    return rows


def child(args: list[str]) -> Any:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    # No abbreviations: --soak's own flags (--model) must not be read as --models.
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("--models", nargs="+", default=["base"])
    parser.add_argument(
        "--vad",
        default="auto",
        help="frame classifier (auto, silero, webrtc, energy), then any VadOptions: silero,pad_ms=400",
    )
    parser.add_argument("--clip", help="only clips whose name contains this")
    parser.add_argument("--input-level", type=float, help="AsrOptions.input_level_db (dBFS)")
    parser.add_argument(
        "--full-window", action="store_true", help="stream with 30 s encoder windows, as stock"
    )
    parser.add_argument("--no-realtime", action="store_true", help="skip the real-time stream")
    parser.add_argument("--per-clip", action="store_true", help="also print a row per recording")
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    parser.add_argument("--sweep", action="store_true", help="time decoding options instead")
    parser.add_argument("--soak", action="store_true", help="run the 2-hour soak instead")
    parser.add_argument("--one", metavar="MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--sweep-one", metavar="LANG", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    realtime = not args.no_realtime
    if args.soak:
        from bench._asr_soak import main as soak

        soak(rest)
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.one:
        print(
            json.dumps(
                one(args.one, realtime, args.vad, args.clip, args.input_level, not args.full_window)
            )
        )
        return
    if args.sweep_one:
        print(json.dumps(sweep(args.sweep_one)))
        return

    cpu = platform.processor() or platform.machine()
    print(f"ASR benchmark: each clip its own recording, {os.cpu_count()} cores ({cpu}), "
          f"Python {platform.python_version()}, VAD {args.vad}")  # fmt: skip
    print()
    if args.sweep:
        print("| decoding option (base, batch, clip by clip) | lang | RTF | WER |")
        print("|---|---|---|---|")
        for lang in ("en", "es"):
            for row in child(["--sweep-one", lang]):
                print(
                    f"| {row['option']} | {lang} | {row['rtf']:.3f} | {row['wer']:.3f} |",
                    flush=True,
                )
        return
    rows: list[dict[str, Any]] = []
    for model in args.models:
        extra = ["--vad", args.vad] + (["--no-realtime"] if not realtime else [])
        extra += ["--clip", args.clip] if args.clip else []
        extra += ["--input-level", str(args.input_level)] if args.input_level is not None else []
        extra += ["--full-window"] if args.full_window else []
        rows += child(["--one", model, *extra])
    summarize(rows, realtime)
    if args.per_clip:
        print()
        per_clip(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

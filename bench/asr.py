"""Benchmark the ASR pipeline: batch against live streaming, per model and language.

For each (model, language) it builds a sample from real read speech (FLEURS clips from
``../shared/eval/audio`` with a second of silence between them) and measures, each in a
fresh process so peak RSS is its own:

- batch: the whole file through faster-whisper in one ``transcribe`` call;
- stream: the live pipeline (VAD, partials every second, packed finals) fed at real-time
  pace in 100 ms blocks, like a microphone; RTF is ASR busy time / audio time, latency is
  from the end of speech to the final text being in the doc;
- file: the same pipeline fed as fast as it can take it (``minuta transcribe``).

``--sweep`` also times the decoding options one at a time (batch, base model).

    python bench/asr.py [--clips 5] [--sweep] [--models tiny.en base]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

# This folder has a file named like a package it measures (engine.py); keep it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import anyio  # noqa: E402
import anyio.lowlevel  # noqa: E402
import jiwer  # noqa: E402
import numpy as np  # noqa: E402

AUDIO = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio"
SR = 16_000
BLOCK_S = 0.1


def normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower())
    return " ".join(text.split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis) or "<empty>"))


SYNTHETIC_ES = [
    "Buenos días a todos, vamos a empezar con la revisión del presupuesto.",
    "María va a preparar el informe para el jueves por la mañana.",
    "¿Alguien puede enviar las diapositivas al cliente antes del viernes?",
    "El señor Muñoz pidió que la campaña de otoño empiece en septiembre.",
    "Nos vemos la próxima semana para cerrar los detalles pendientes.",
]


def synthetic_es() -> tuple[np.ndarray, str]:
    """Spanish read by espeak-ng: the sample on which the repetition loop was first seen."""
    import tempfile

    from agent.audio import read_file

    pieces = []
    silence = np.zeros(SR, dtype=np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        for i, sentence in enumerate(SYNTHETIC_ES):
            wav = Path(tmp) / f"{i}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "es", "-s", "150", "-w", str(wav), sentence], check=True
            )
            pieces += [*read_file(wav), silence]
    return np.concatenate(pieces), " ".join(SYNTHETIC_ES)


def sample(lang: str, clips: int) -> tuple[np.ndarray, str]:
    from agent.audio import read_file

    if lang == "es-espeak":
        return synthetic_es()
    pieces, refs = [], []
    silence = np.zeros(SR, dtype=np.int16)
    for i in range(clips):
        path = AUDIO / f"fleurs-{lang}-{i:03d}.ogg"
        pieces += [*read_file(path), silence]
        refs.append(path.with_suffix(".txt").read_text(encoding="utf-8").strip())
    return np.concatenate(pieces), " ".join(refs)


def run_batch(model: str, lang: str, audio: np.ndarray, **options: object) -> tuple[float, str]:
    from agent.asr import IncrementalTranscriber
    from agent.models import resolve_model

    asr = IncrementalTranscriber()  # reuse the hardware choice only
    from faster_whisper import WhisperModel

    fw = WhisperModel(
        resolve_model(model).location,
        device=asr.device,
        compute_type=asr.compute_type,
        cpu_threads=asr.cpu_threads,
    )
    settings: dict[str, object] = {
        "beam_size": 1,
        "temperature": [0.0, 0.2],
        "condition_on_previous_text": False,
        "compression_ratio_threshold": 2.6,
        "word_timestamps": True,
    }
    settings.update(options)
    start = time.perf_counter()
    segments, _ = fw.transcribe(audio.astype(np.float32) / 32768, language=lang, **settings)
    text = " ".join(s.text for s in segments)
    return time.perf_counter() - start, text


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


def run_stream(model: str, lang: str, audio: np.ndarray, realtime: bool) -> dict[str, object]:
    from agent.asr import AsrOptions, IncrementalTranscriber
    from agent.session import FinalWritten, StreamOptions, TranscriptionSession
    from agent.vad import VadOptions
    from engine import TranscriptDoc

    asr = IncrementalTranscriber(AsrOptions(model=model, language=lang))
    doc = TranscriptDoc.create("bench", language=lang)
    fed_at: list[float] = []
    latencies: list[float] = []
    pad = VadOptions().pad_ms / 1000

    def on_final(event: FinalWritten) -> None:
        # The wall time the last speech sample was fed, from the block that carried it.
        speech_end = max(event.utterance.t1 - pad, event.utterance.t0)
        k = min(int(speech_end / BLOCK_S), len(fed_at) - 1)
        latencies.append(event.written_at - fed_at[k])

    session = TranscriptionSession(
        doc,
        asr,
        options=StreamOptions(partial_interval_s=1.0 if realtime else None),
        on_final=on_final,
    )
    start = time.perf_counter()
    stats = anyio.run(session.run, paced(audio, fed_at, realtime))
    wall = time.perf_counter() - start
    text = " ".join(s["text"] for s in doc.snapshot()["segments"])
    duration = len(audio) / SR
    return {
        "rtf": stats.asr_seconds / duration if realtime else wall / duration,
        "text": text,
        "latencies": latencies,
        "partials": stats.partials,
        "promoted": stats.promoted,
        "finals": stats.finals,
        "calls": stats.asr_calls,
    }


def one(model: str, lang: str, clips: int) -> dict[str, object]:
    audio, reference = sample(lang, clips)
    duration = len(audio) / SR
    batch_s, batch_text = run_batch(model, lang, audio)
    stream = run_stream(model, lang, audio, realtime=True)
    file_mode = run_stream(model, lang, audio, realtime=False)
    latencies = sorted(float(x) for x in stream["latencies"])  # type: ignore[attr-defined]
    return {
        "model": model,
        "lang": lang,
        "audio_s": duration,
        "batch_rtf": batch_s / duration,
        "stream_rtf": stream["rtf"],
        "file_rtf": file_mode["rtf"],
        "latency_p50": statistics.median(latencies) if latencies else None,
        "latency_p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        if latencies
        else None,
        "wer_batch": wer(reference, batch_text),
        "wer_stream": wer(reference, str(stream["text"])),
        "wer_file": wer(reference, str(file_mode["text"])),
        "partials": stream["partials"],
        "promoted": stream["promoted"],
        "finals": stream["finals"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


SWEEP: list[tuple[str, dict[str, object]]] = [
    ("chosen: beam 1, T (0, 0.2), words, no cond.", {}),
    ("beam_size=5", {"beam_size": 5}),
    ("temperature 0 only", {"temperature": [0.0]}),
    ("temperature default (0..1, 6 steps)", {"temperature": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}),
    ("word_timestamps=False", {"word_timestamps": False}),
    ("vad_filter=True", {"vad_filter": True}),
    ("condition_on_previous_text=True", {"condition_on_previous_text": True}),
]


def sweep(lang: str, clips: int) -> list[dict[str, object]]:
    audio, reference = sample(lang, clips)
    rows = []
    for name, options in SWEEP:
        seconds, text = run_batch("base", lang[:2], audio, **options)
        rows.append(
            {
                "option": name,
                "lang": lang,
                "rtf": seconds / (len(audio) / SR),
                "wer": wer(reference, text),
            }
        )
    return rows


def child(args: list[str]) -> object:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def fmt(value: object, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=5, help="FLEURS clips per sample")
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--sweep", action="store_true", help="also time decoding options")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "LANG"), help=argparse.SUPPRESS)
    parser.add_argument("--sweep-one", metavar="LANG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.clips)))
        return
    if args.sweep_one:
        print(json.dumps(sweep(args.sweep_one, args.clips)))
        return

    cpu = platform.processor() or platform.machine()
    print(f"ASR benchmark: {args.clips} FLEURS clips per sample, {os.cpu_count()} cores ({cpu}), "
          f"Python {platform.python_version()}")  # fmt: skip
    print()
    print("| model | lang | audio | batch RTF | stream RTF | file RTF | latency p50 / p95 | "
          "WER batch | WER stream | WER file | finals (from a partial) | partials | peak RSS |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for model in args.models:
        for lang in ("en", "es"):
            if model.endswith(".en") and lang != "en":
                continue
            r = child(["--one", model, lang, "--clips", str(args.clips)])
            assert isinstance(r, dict)
            print(
                f"| {model} | {lang} | {r['audio_s']:.0f} s | {r['batch_rtf']:.3f} | "
                f"{r['stream_rtf']:.3f} | {r['file_rtf']:.3f} | "
                f"{fmt(r['latency_p50'], '.2f')} / {fmt(r['latency_p95'], '.2f')} s | "
                f"{r['wer_batch']:.3f} | {r['wer_stream']:.3f} | {r['wer_file']:.3f} | "
                f"{r['finals']} ({r['promoted']}) | {r['partials']} | {r['peak_rss_mib']:.0f} MiB |",
                flush=True,
            )
    if args.sweep:
        print()
        print("| decoding option (base, batch) | lang | RTF | WER |")
        print("|---|---|---|---|")
        for lang in ("en", "es", "es-espeak"):
            rows = child(["--sweep-one", lang, "--clips", str(args.clips)])
            assert isinstance(rows, list)
            for row in rows:
                print(
                    f"| {row['option']} | {lang} | {row['rtf']:.3f} | {row['wer']:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

"""``minuta transcribe AUDIO``: a file through the live pipeline, faster than real time.

The transcript is kept in the durable local store while it is written; if the run is
interrupted (even by ``kill -9``), running the same command again resumes: it hears the
last final segment again from its start and rewrites it (the speech that followed would
have joined it), then goes on, so the transcript reads as if never interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from tqdm import tqdm

from engine import Origin, TranscriptDoc

from ..audio import SAMPLE_RATE, AudioError, file_duration, read_file
from ..session import FinalWritten, SessionStats, StreamOptions, TranscriptionSession
from ..store import StoreError
from ..sync import RelaySync
from ..vad import VadOptions
from ._common import CliError, user_error
from ._keep import add_audio_arguments, check_audio_options, close_keeper, open_keeper, upload_audio
from ._run import (
    RunOptions,
    add_asr_arguments,
    add_relay_argument,
    apply_vocabulary,
    check_model,
    drain,
    export_all,
    load_asr,
    open_doc,
    open_store,
    prepare_out,
    relay_sync,
    resume_point,
)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "transcribe",
        help="transcribe an audio file (wav, flac, mp3, ogg, m4a…)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("audio", metavar="AUDIO", help="the recording to transcribe")
    p.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="where to write session.{md,srt,vtt,json} (default: <AUDIO>.minuta)",
    )
    p.add_argument("--id", metavar="ID", help="transcript id (default: derived from the file)")
    p.add_argument(
        "--fast",
        action="store_true",
        help="pack queued utterances into shared ASR calls: ~1.5x faster, slightly less accurate",
    )
    p.add_argument(
        "--partials",
        action="store_true",
        help="also write partial hypotheses, as live recording does",
    )
    add_asr_arguments(p)
    add_relay_argument(p)
    add_audio_arguments(p)
    p.set_defaults(run=run)


# A resumed file whose last final ends this close to the end has nothing left to hear.
DONE_SLACK_S = 0.5


def transcript_id_for(path: Path) -> str:
    """Stable for one file, so that a second run resumes the first."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()
    return f"file-{hashlib.sha1(key).hexdigest()[:16]}"


def run(args: argparse.Namespace) -> int:
    path = Path(args.audio)
    out = args.out or path.with_name(path.name + ".minuta")
    options = RunOptions.from_args(args)
    transcribe_file(options, path, out, transcript_id=args.id, title=args.title or path.stem)
    return 0


def transcribe_file(
    options: RunOptions,
    path: Path,
    out: Path,
    *,
    transcript_id: str | None,
    title: str,
    on_final: Callable[[FinalWritten], None] | None = None,
) -> TranscriptDoc:
    """Transcribe ``path`` into the local store (resuming if it was interrupted) and
    export it to ``out`` with the shared ``options`` (model, language, storage, relay)."""
    try:
        chunks = read_file(path)
        first = next(chunks, None)  # fails now, before the model loads, if unreadable
        transcript_id = transcript_id or transcript_id_for(path)
    except AudioError as exc:
        raise CliError(str(exc)) from None
    if first is None:
        raise CliError(f"{path}: no audio in the file")
    prepare_out(out)
    check_audio_options(options)
    duration = file_duration(path)
    model = check_model(options)
    with open_store(options, transcript_id) as store:
        doc = open_doc(
            store,
            lambda: TranscriptDoc.create(
                transcript_id, title=title, language=options.language, model=model.name
            ),
        )
        apply_vocabulary(options.vocabulary, doc)
        resume, done = resume_point(doc)
        sync = relay_sync(options, doc, store)
        if duration is not None and done >= duration - DONE_SLACK_S:
            print(f"{path} is already transcribed; exporting it again.")
            if sync is not None:
                anyio.run(_sync_only, sync)
            _report(doc, export_all(doc, out), None, 0.0)
            upload_audio(options, store.path.parent, sync)
            return doc
        if done:
            print(f"Resuming after {done:.1f} s already transcribed.")
        asr = load_asr(options)
        stream = StreamOptions(
            partial_interval_s=1.0 if options.partials else None, pack=options.fast
        )
        session = TranscriptionSession(
            doc, asr, vad=VadOptions(backend=options.vad), options=stream,
            resume=resume, on_final=on_final,
        )  # fmt: skip
        # The kept audio starts where the session's does: on the transcript's timeline.
        keeper = open_keeper(options, store.path.parent, transcript_id, resume.start)
        audio = _skip(_prepend(first, chunks), resume.start)
        started = time.monotonic()
        # disable=None: a bar on a terminal, nothing in logs and pipes.
        bar = tqdm(
            total=round(duration or 0, 1) or None, initial=round(resume.start, 1), unit="s",
            desc="Transcribing", leave=False,
            disable=None,
        )  # fmt: skip
        try:
            stats = anyio.run(
                _transcribe_and_sync,
                session,
                _chunks(audio if keeper is None else keeper.tee(audio), bar),
                sync,
            )
        except Exception as exc:
            raise user_error(exc, AudioError, StoreError) from None
        finally:
            bar.close()
            close_keeper(keeper)
        if not doc.snapshot()["meta"]["language"] and asr.language:
            doc.set_meta(language=asr.language, origin=Origin.AGENT)
        _report(doc, export_all(doc, out), stats, time.monotonic() - started)
        upload_audio(options, store.path.parent, sync)
    return doc


def _report(
    doc: TranscriptDoc, paths: list[Path], stats: SessionStats | None, elapsed: float
) -> None:
    total = len(doc.snapshot()["segments"])
    if stats is not None and stats.audio_seconds > 0:
        print(
            f"{total} segments in the transcript: {stats.finals} new from "
            f"{stats.audio_seconds:.1f} s of audio in {elapsed:.1f} s "
            f"({elapsed / stats.audio_seconds:.2f}x real time; "
            f"{stats.dropped} hallucinations dropped)."
        )
    else:
        print(f"{total} segments in the transcript.")
    print("Wrote " + ", ".join(str(p) for p in paths))


async def _transcribe_and_sync(
    session: TranscriptionSession, chunks: AsyncIterator[np.ndarray], sync: RelaySync | None
) -> SessionStats:
    async with anyio.create_task_group() as tg:
        if sync is not None:
            tg.start_soon(sync.run)
        stats = await session.run(chunks)
        await drain(sync)
        tg.cancel_scope.cancel()
    return stats


async def _sync_only(sync: RelaySync) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(sync.run)
        await drain(sync)
        tg.cancel_scope.cancel()


def _prepend(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _skip(chunks: Iterator[np.ndarray], seconds: float) -> Iterator[np.ndarray]:
    """Drop the first ``seconds`` of audio (already transcribed before a resume)."""
    left = round(seconds * SAMPLE_RATE)
    for chunk in chunks:
        if left >= len(chunk):
            left -= len(chunk)
            continue
        yield chunk[left:]
        left = 0


async def _chunks(chunks: Iterator[np.ndarray], bar: Any) -> AsyncIterator[np.ndarray]:
    # Decoding is blocking work: do it off the event loop.
    while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
        bar.update(round(len(chunk) / SAMPLE_RATE, 3))
        yield chunk

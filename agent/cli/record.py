"""``minuta record``: transcribe the microphone live until Ctrl-C, then export.

Segments appear as they are finalized. Ctrl-C (or SIGTERM) stops capture, finishes the
utterance in progress, and writes session.{md,srt,vtt,json}. The transcript is kept in
the durable local store all along; audio is written nowhere unless --keep-audio or
--upload-audio asks for it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import numpy as np

from engine import TranscriptDoc

from ..audio import AudioError, Microphone
from ..audio_keep import AudioKeeper
from ..session import SessionStats, StreamOptions, TranscriptionSession
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
    print_final,
    relay_sync,
    resume_point,
)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "record",
        help="transcribe the microphone live (Ctrl-C ends and exports)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--device", metavar="D", help="input device index or name (see minuta devices)")
    p.add_argument(
        "--out", metavar="DIR", type=Path, help="where to write the exports (default: ./<id>)"
    )
    p.add_argument(
        "--id",
        metavar="ID",
        help="transcript id (default: rec-<date>-<time>); an existing id continues",
    )
    add_asr_arguments(p)
    add_relay_argument(p)
    add_audio_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    device: int | str | None = args.device
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    transcript_id = args.id or f"rec-{datetime.now():%Y%m%d-%H%M%S}"
    out = args.out or Path(transcript_id)
    prepare_out(out)
    check_audio_options(RunOptions.from_args(args))
    mic = Microphone(device)
    try:
        mic.start()  # before the model loads: no microphone is the likelier problem
    except AudioError as exc:
        raise CliError(str(exc)) from None
    try:
        options = RunOptions.from_args(args)
        check_model(options)
        asr = load_asr(options)
        with open_store(options, transcript_id) as store:
            doc = open_doc(
                store,
                lambda: TranscriptDoc.create(
                    transcript_id,
                    title=options.title or "Recording",
                    language=options.language,
                    model=asr.model_info.name,
                ),
            )
            apply_vocabulary(options.vocabulary, doc)
            resume, _ = resume_point(doc, rewrite_last=False)
            sync = relay_sync(options, doc, store)
            keeper = open_keeper(options, store.path.parent, transcript_id, resume.start)
            session = TranscriptionSession(
                doc, asr, vad=VadOptions(backend=options.vad),
                options=StreamOptions(partial_interval_s=1.0), resume=resume,
                on_final=print_final,
            )  # fmt: skip
            print("Recording. Press Ctrl-C to stop.", file=sys.stderr)
            try:
                stats = anyio.run(record_until_stopped, session, mic, sync, keeper)
            except Exception as exc:
                raise user_error(exc, AudioError, StoreError) from None
            finally:
                close_keeper(keeper)
            paths = export_all(doc, out)
            upload_audio(options, store.path.parent, sync)
    finally:
        mic.close()
    print(f"{stats.finals} segments from {stats.audio_seconds:.1f} s of audio.")
    if mic.overflows:
        print(f"Warning: {mic.overflows} audio blocks were lost (the machine was too busy).")
    print("Wrote " + ", ".join(str(p) for p in paths))
    return 0


async def record_until_stopped(
    session: TranscriptionSession,
    mic: Microphone,
    sync: RelaySync | None = None,
    keeper: AudioKeeper | None = None,
) -> SessionStats:
    """Feed ``mic`` to ``session`` until SIGINT or SIGTERM, then let it finish (and let
    ``sync``, if any, deliver the last changes to the relay). ``keeper``, if any, keeps
    each block, in the reading thread."""
    stop = anyio.Event()
    read = mic.read if keeper is None else keeper.tap(mic.read)

    async def chunks() -> AsyncIterator[np.ndarray]:
        while not stop.is_set():
            block = await anyio.to_thread.run_sync(read, 0.2)
            if block is not None:
                yield block

    async def watch_signals() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                print("\nStopping: finishing the last utterance…", file=sys.stderr)
                stop.set()
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_signals)
        if sync is not None:
            tg.start_soon(sync.run)
        stats = await session.run(chunks())
        await drain(sync)
        tg.cancel_scope.cancel()
    return stats

"""What the transcribing commands share: options, the local store, the model, the exports."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from engine import EXTENSIONS, FORMATS, Origin, TranscriptDoc, export

from ..asr import AsrOptions, IncrementalTranscriber
from ..models import ModelError, ResolvedModel, resolve_model
from ..session import FinalWritten
from ..store import LocalStore, StoreError, default_storage_dir
from ._common import CliError, write_text

_SEGMENT_NUMBER = re.compile(r"^seg-(\d+)$")


def add_asr_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        metavar="M",
        help="a model folder, 'base' (default, multilingual, bundled), 'tiny.en' (bundled), "
        "or a faster-whisper name (downloaded when online)",
    )
    p.add_argument("--language", metavar="L", help="language code, e.g. es (default: detect)")
    p.add_argument("--title", metavar="T", help="the transcript's title")
    p.add_argument(
        "--storage-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help=f"where the durable local transcripts live (default: {default_storage_dir()})",
    )


def check_model(args: argparse.Namespace) -> ResolvedModel:
    """Find the model and check it suits ``--language``, before minutes of loading."""
    try:
        info = resolve_model(args.model)
    except ModelError as exc:
        raise CliError(str(exc)) from None
    if info.english_only and args.language not in (None, "en"):
        raise CliError(f"{info.name} is English-only: pick another --model for {args.language}")
    return info


def load_asr(args: argparse.Namespace) -> IncrementalTranscriber:
    print(f"Loading the {args.model or 'base'} model…", file=sys.stderr)
    try:
        return IncrementalTranscriber(AsrOptions(model=args.model, language=args.language))
    except ModelError as exc:
        raise CliError(str(exc)) from None
    except (RuntimeError, ValueError, OSError) as exc:
        raise CliError(f"cannot load the model {args.model or 'base'}: {exc}") from None


def open_store(args: argparse.Namespace, transcript_id: str) -> LocalStore:
    try:
        return LocalStore(args.storage_dir or default_storage_dir(), transcript_id)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def open_doc(store: LocalStore, create: Callable[[], TranscriptDoc]) -> TranscriptDoc:
    try:
        return store.open_doc(create)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def resume_point(doc: TranscriptDoc) -> tuple[float, int]:
    """Where an interrupted transcription goes on: (t1 of the last final, next segment number).

    Partial segments left by the interruption are retracted; their audio is heard again.
    """
    snapshot = doc.snapshot()
    offset, number = 0.0, 0
    for seg in snapshot["segments"]:
        if seg["final"]:
            offset = max(offset, seg["t1"])
    for segment_id in doc.segment_ids():
        if (m := _SEGMENT_NUMBER.match(segment_id)) is not None:
            number = max(number, int(m.group(1)))
    for seg in snapshot["segments"]:
        if not seg["final"] and seg["source"] == "asr":
            doc.delete_segment(seg["segment_id"], origin=Origin.AGENT)
    return offset, number + 1


def prepare_out(out: Path) -> None:
    """Create the output folder now, so a bad ``--out`` fails before minutes of work."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create {out}: {exc.strerror or exc}") from None


def export_all(doc: TranscriptDoc, out: Path) -> list[Path]:
    prepare_out(out)
    snapshot = doc.snapshot()
    paths = []
    for fmt in FORMATS:
        path = out / f"session{EXTENSIONS[fmt]}"
        write_text(export(snapshot, fmt), str(path))
        paths.append(path)
    return paths


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def print_final(event: FinalWritten) -> None:
    if event.hypothesis is not None:
        print(f"[{clock(event.hypothesis.t0)}] {event.hypothesis.text}", flush=True)

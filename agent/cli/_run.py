"""What the transcribing commands share: options, the local store, the model, the exports."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import anyio

from engine import (
    EXTENSIONS,
    FORMATS,
    InvalidTranscriptError,
    Origin,
    TranscriptDoc,
    clean_vocabulary,
    export,
)

from ..asr import AsrOptions, IncrementalTranscriber
from ..credentials import CredentialStore
from ..models import ModelError, ResolvedModel, resolve_model
from ..relay_api import RelayRefusedError, RelayUnreachableError, create_transcript, creation
from ..session import FinalWritten, Resume
from ..store import LocalStore, StoreError, default_storage_dir
from ..sync import RelaySync
from ..vad import BACKENDS, SAMPLE_RATE, Backend, VadOptions, restart_step
from ._common import CliError, write_text

_SEGMENT_NUMBER = re.compile(r"^seg-(\d+)$")
# A resumed file is read again from this long before its last final segment: the speech
# detector resets at the first second-long pause (``Segmenter._settle``), and from there
# it hears what the interrupted run heard.
WARM_UP_S = 30.0
# How long a finished command waits for the relay to acknowledge its last changes.
SYNC_DRAIN_S = 10.0


@dataclass(frozen=True)
class RunOptions:
    """What ``transcribe``, ``record`` and ``demo`` share, read once from the command line
    (:meth:`from_args`): the layers below never see ``argparse``."""

    model: str | None = None  # a folder or a bundled name; None: the bundled base
    language: str | None = None
    title: str | None = None
    vocabulary: Path | None = None
    vad: Backend = "auto"
    storage_dir: Path | None = None
    relay: str | None = None  # also sync to this relay
    credentials_file: Path | None = None  # None: the user's own credential store
    partials: bool = False
    fast: bool = False
    keep_audio: bool = False  # keep the audio, encrypted, next to the local doc
    upload_audio: bool = False  # ...and upload it to --relay after the session

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunOptions:
        """The options a command has; those it does not take keep their defaults."""
        given: dict[str, Any] = {f.name: getattr(args, f.name, f.default) for f in fields(cls)}
        return cls(**given)


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
        "--vocabulary",
        metavar="FILE",
        type=Path,
        help="names and jargon to expect, one per line (kept in the transcript, editable "
        "from the relay)",
    )
    p.add_argument(
        "--vad",
        choices=BACKENDS,
        default="auto",
        help="speech detector: silero (default through auto), webrtc, or energy (a level "
        "threshold)",
    )
    p.add_argument(
        "--storage-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help=f"where the durable local transcripts live (default: {default_storage_dir()})",
    )


def read_vocabulary_file(path: Path) -> list[str]:
    """Terms from a text file: one a line; blank lines and ``#`` comments ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the vocabulary {path}: {exc}") from None
    try:
        return clean_vocabulary(line for line in lines if not line.lstrip().startswith("#"))
    except InvalidTranscriptError as exc:
        raise CliError(f"{path}: {exc}") from None


def apply_vocabulary(path: Path | None, doc: TranscriptDoc) -> None:
    """Put ``--vocabulary``'s terms in the doc; without it, the doc keeps what it has."""
    if path is None:
        return
    terms = read_vocabulary_file(path)
    if terms != doc.vocabulary():
        doc.set_meta(vocabulary=terms, origin=Origin.AGENT)


def check_model(options: RunOptions) -> ResolvedModel:
    """Find the model and check it suits ``--language``, before minutes of loading."""
    try:
        info = resolve_model(options.model)
    except ModelError as exc:
        raise CliError(str(exc)) from None
    if info.english_only and options.language not in (None, "en"):
        raise CliError(f"{info.name} is English-only: pick another --model for {options.language}")
    return info


def load_asr(options: RunOptions) -> IncrementalTranscriber:
    name = options.model or "base"
    print(f"Loading the {name} model…", file=sys.stderr)
    try:
        return IncrementalTranscriber(AsrOptions(model=options.model, language=options.language))
    except ModelError as exc:
        raise CliError(str(exc)) from None
    except (RuntimeError, ValueError, OSError) as exc:
        raise CliError(f"cannot load the model {name}: {exc}") from None


def open_store(options: RunOptions, transcript_id: str) -> LocalStore:
    try:
        return LocalStore(options.storage_dir or default_storage_dir(), transcript_id)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def open_doc(store: LocalStore, create: Callable[[], TranscriptDoc]) -> TranscriptDoc:
    try:
        return store.open_doc(create)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def resume_point(doc: TranscriptDoc, *, rewrite_last: bool = True) -> tuple[Resume, float]:
    """Where an interrupted transcription goes on, and where its last final ended.

    Partial segments left by the interruption are retracted; their audio is heard again.
    With ``rewrite_last`` (a file: the same audio is read again) the last final segment is
    heard again from its start and rewritten, since the speech after it would have joined
    it; the audio restarts ``WARM_UP_S`` before it, on the stream's VAD frames, so the
    speech detector hears what it heard the first time. Without (a new recording), the new
    audio starts where the last final ended.
    """
    segments = doc.snapshot()["segments"]
    finals = [s for s in segments if s["final"]]
    done = max((s["t1"] for s in finals), default=0.0)
    number = 0
    for segment_id in doc.segment_ids():
        if (m := _SEGMENT_NUMBER.match(segment_id)) is not None:
            number = max(number, int(m.group(1)))
    for seg in segments:
        if not seg["final"] and seg["source"] == "asr":
            doc.delete_segment(seg["segment_id"], origin=Origin.AGENT)
    last = max(finals, key=lambda s: s["t1"], default=None)
    if not rewrite_last or last is None:
        return Resume(start=done, first_segment=number + 1), done
    step = restart_step(VadOptions().frame_ms)
    if last["source"] != "asr":  # a person's text: new speech goes in a new segment
        start = math.ceil(done * SAMPLE_RATE / step) * step
        return Resume(start=start / SAMPLE_RATE, first_segment=number + 1), done
    start = math.floor(max(0.0, last["t0"] - WARM_UP_S) * SAMPLE_RATE / step) * step
    resume = Resume(
        start=start / SAMPLE_RATE, first_segment=number + 1,
        segment_id=last["segment_id"], rev=last["rev"], t0=last["t0"],
    )  # fmt: skip
    return resume, done


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


def add_relay_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--relay",
        metavar="URL",
        help="also sync the transcript to this relay (log in first with `minuta login URL`); "
        "several relays of one service: URL,URL,… (the first is the one logged in to)",
    )


def relay_sync(options: RunOptions, doc: TranscriptDoc, store: LocalStore) -> RelaySync | None:
    """A sync loop for ``--relay``, with the transcript created on the relay if need be.

    The relay being down is no error: the agent works offline, and the sync creates the
    transcript and sends it once the relay is back.
    """
    if not options.relay:
        return None
    # Several URLs (comma-separated) are relays of one service: the first names it.
    urls = [u.strip().rstrip("/") for u in options.relay.split(",") if u.strip()]
    if not urls:
        raise CliError(f"--relay takes a URL (or URL,URL,…), not {options.relay!r}")
    relay, *alternates = urls
    # ``minuta demo`` keeps its relay's tokens in that relay's folder, not the user's.
    credentials = CredentialStore(options.credentials_file)
    tokens = credentials.get(relay)
    if tokens is None:
        raise CliError(f"not logged in to {relay}: run `minuta login {relay}`")
    body: dict[str, object] | None = None
    try:
        # Once now, so that a refusal stops the command before minutes of work.
        anyio.run(create_transcript, tokens, creation(doc))
    except RelayRefusedError as exc:
        if exc.status == 401:
            raise CliError(f"the relay refused the login: run `minuta login {relay}`") from None
        raise CliError(str(exc)) from None
    except RelayUnreachableError:
        print(f"The relay {tokens.relay_url} is unreachable: working offline.", file=sys.stderr)
        body = creation(doc)  # created once the relay is back
    sync: RelaySync | None = None

    def acked(state: bytes) -> None:
        store.set_acked(tokens.relay_url, state, complete=sync is not None and not sync.pending())

    sync = RelaySync(
        doc, tokens, credentials=credentials, on_ack=acked, client="agent", create=body,
        alternates=alternates,
    )  # fmt: skip
    return sync


async def drain(sync: RelaySync | None) -> None:
    """Give the relay a few seconds to acknowledge the last changes, then report."""
    if sync is None:
        return
    with anyio.move_on_after(SYNC_DRAIN_S):
        await sync.wait_acked()
    if sync.stopped:
        print(f"Relay sync stopped: {sync.stopped}", file=sys.stderr)
    elif sync.pending():
        print(
            "Some changes are not on the relay yet (offline?): they are kept locally; "
            "`minuta sync` sends them (`minuta sync --watch` as soon as the relay is back).",
            file=sys.stderr,
        )
    else:
        print(f"Synced to {sync.tokens.relay_url}.")

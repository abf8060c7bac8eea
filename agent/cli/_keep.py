"""``--keep-audio`` and ``--upload-audio`` for ``transcribe`` and ``record``.

Without either flag nothing here runs and no audio is written anywhere. The keeper is fed
where the command reads its audio (in the reading thread), with the session's timeline
start, so the kept audio plays in sync with the segments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

from ..audio_encode import EncodeError
from ..audio_keep import AudioKeeper, KeptAudioError, has_kept_audio, load_key
from ..audio_upload import prepare_upload, upload_pending
from ..sync import RelaySync
from ..vad import SAMPLE_RATE
from ._common import CliError
from ._run import RunOptions


def add_audio_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keep-audio",
        action="store_true",
        help="keep the audio on this computer, encrypted, next to the transcript "
        "(`minuta audio export ID` writes it out); off by default",
    )
    p.add_argument(
        "--upload-audio",
        action="store_true",
        help="keep the audio and, after the session, upload it to --relay (Opus) so the "
        "transcript's page plays it; off by default",
    )


def check_audio_options(options: RunOptions) -> None:
    """Refuse ``--upload-audio`` without ``--relay``, and a key that cannot be made,
    before any work."""
    if options.upload_audio and not options.relay:
        raise CliError("--upload-audio needs --relay URL (the relay the audio goes to)")
    if options.keep_audio or options.upload_audio:
        try:
            load_key(create=True)
        except KeptAudioError as exc:
            raise CliError(str(exc)) from None


def open_keeper(
    options: RunOptions, folder: Path, transcript_id: str, start_s: float
) -> AudioKeeper | None:
    """A keeper from ``start_s`` on the transcript's timeline, if the audio is to be kept."""
    if not (options.keep_audio or options.upload_audio):
        return None
    try:
        return AudioKeeper(folder, transcript_id, load_key(create=True), start_s=start_s)
    except KeptAudioError as exc:
        raise CliError(str(exc)) from None


def close_keeper(keeper: AudioKeeper | None) -> None:
    if keeper is None:
        return
    keeper.close()
    if keeper.failed:
        print(f"Warning: the audio was not all kept: {keeper.failed}", file=sys.stderr)
    elif keeper.kept_samples:
        seconds = keeper.kept_samples / SAMPLE_RATE
        print(f"Kept {seconds:.1f} s of audio, encrypted, in {keeper.path}.", file=sys.stderr)


def upload_audio(options: RunOptions, folder: Path, sync: RelaySync | None) -> None:
    """``--upload-audio``: encode what is kept and send it, or leave it due for
    ``minuta sync``. Nothing the relay says stops the command: the transcript is done."""
    if not options.upload_audio or sync is None:
        return
    storage_dir, transcript_id = folder.parent, folder.name
    if not has_kept_audio(storage_dir, transcript_id):
        print("No audio was kept: nothing to upload.", file=sys.stderr)
        return
    if sync.stopped:
        print("The audio is not uploaded: the relay stopped the sync.", file=sys.stderr)
        return
    try:
        prepare_upload(storage_dir, transcript_id, sync.tokens.relay_url, load_key())
        result = anyio.run(
            upload_pending, storage_dir, transcript_id, sync.tokens, sync.credentials
        )
    except (KeptAudioError, EncodeError) as exc:
        raise CliError(f"cannot upload the audio: {exc}") from None
    if result.state == "complete":
        print(f"Uploaded the audio to {sync.tokens.relay_url}.")
    elif result.state == "none":
        print(f"The audio is on {sync.tokens.relay_url} already.")
    elif result.state == "pending":
        print(
            f"The audio is not uploaded yet ({result.reason}): `minuta sync` uploads it.",
            file=sys.stderr,
        )
    elif result.state == "refused":
        print(f"The relay refused the audio: {result.reason}", file=sys.stderr)

"""``minuta audio export ID [--out FILE]``: the audio kept with ``--keep-audio``, decrypted.

The format is the file's extension: ``.ogg`` or ``.opus`` (Opus in Ogg, about 11 MB an
hour) or ``.wav`` (16 kHz mono PCM, about 115 MB an hour). The default is ``<ID>.ogg``.
The audio is laid out on the transcript's timeline, so a time in the transcript is the
same time in the file; stretches not kept (a resumed recording's gap) are silence.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..audio_encode import EncodeError, export_audio, format_for
from ..audio_keep import KeptAudioError, has_kept_audio, load_key, read_kept
from ..store import default_storage_dir
from ..vad import SAMPLE_RATE
from ._common import CliError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "audio",
        help="the audio kept with --keep-audio (export)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = actions.add_parser(
        "export",
        help="write a transcript's kept audio to an .ogg/.opus or .wav file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("transcript_id", metavar="ID", help="the transcript (see minuta transcripts)")
    e.add_argument("--out", metavar="FILE", type=Path, help="default: ./<ID>.ogg")
    e.add_argument("--storage-dir", metavar="DIR", type=Path, default=None)
    e.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    out: Path = args.out or Path(f"{args.transcript_id}.ogg")
    storage_dir = args.storage_dir or default_storage_dir()
    try:
        format_for(out)  # a bad extension fails before the decryption
        if not has_kept_audio(storage_dir, args.transcript_id):
            raise CliError(
                f"{args.transcript_id} has no kept audio in {storage_dir} "
                "(it is kept only with --keep-audio)"
            )
        pcm = read_kept(storage_dir, args.transcript_id, load_key())
        export_audio(pcm, out)
    except (KeptAudioError, EncodeError) as exc:
        raise CliError(str(exc)) from None
    print(f"Wrote {out} ({len(pcm) / SAMPLE_RATE:.1f} s).", file=sys.stderr)
    return 0

"""``minuta demo``: the furthest end-to-end path that exists, on embedded defaults.

Transcribes a short bundled recording (a meeting read by espeak-ng) with the bundled
multilingual base model, on this machine, into the durable local store, and exports it
to Markdown, SRT, WebVTT and JSON. No server, no download, no configuration.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from engine import export

from ._run import add_asr_arguments, prepare_out, print_final
from .transcribe import transcribe_file

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "demo-meeting.ogg"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="transcribe a bundled sample end to end, on embedded defaults",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=Path("minuta-demo"),
        help="where to write the exports (default: ./minuta-demo)",
    )
    add_asr_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    prepare_out(args.out)
    print(f"Transcribing the bundled sample {SAMPLE.name} on this machine:")
    doc = transcribe_file(
        args, SAMPLE, args.out,
        transcript_id=f"demo-{datetime.now():%Y%m%d-%H%M%S-%f}", title=args.title or "Demo meeting",
        on_final=print_final,
    )  # fmt: skip
    print()
    print(export(doc.snapshot(), "md"), end="")
    return 0

"""``minuta export DOC --fmt md|srt|vtt|json [--out FILE]``."""

from __future__ import annotations

import argparse
from typing import Any

from engine import FORMATS, export

from ._common import read_transcript, write_text


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="export a transcript to Markdown, SRT, WebVTT or JSON",
        description=(
            "Export a transcript. DOC is a JSON export or a stored Yjs update file; "
            "the kind is told from the content."
        ),
    )
    p.add_argument("doc", metavar="DOC", help="a JSON export or a Yjs update file")
    p.add_argument("--fmt", choices=FORMATS, default="md", help="output format (default: md)")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    transcript = read_transcript(args.doc)
    write_text(export(transcript.snapshot(), args.fmt), args.out)
    return 0

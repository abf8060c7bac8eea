"""The ``minuta`` command line: one entry point, one module per command.

Every command reports a bad input as one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from engine import TranscriptError

from . import (
    db,
    demo,
    devices,
    export,
    insights,
    login,
    record,
    relay,
    transcribe,
    users,
    worker,
)
from ._common import CliError

COMMANDS = (transcribe, record, devices, export, insights, demo, relay, db, users, login, worker)


def _version() -> str:
    try:
        return version("minuta")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minuta",
        description="Private meeting transcription: transcripts as collaborative Yjs documents.",
    )
    parser.add_argument("--version", action="version", version=f"minuta {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (CliError, TranscriptError) as exc:
        print(f"minuta {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``minuta export x | head``): not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"minuta {args.command}: interrupted", file=sys.stderr)
        return 130
    return code

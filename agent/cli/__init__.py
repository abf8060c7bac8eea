"""The ``minuta`` command line: one entry point, one module per command.

The commands are the modules of the ``minuta.commands`` entry-point group
(``pyproject.toml``): the agent's here, the relay's in ``relay/cli/``. Each has
``register(subparsers)``; the entry point loads them by name, so the agent never imports
the relay. Every command reports a bad input as one line on stderr (a
:class:`~engine.CommandError` or :class:`~engine.TranscriptError`) and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version
from types import ModuleType

from engine import CommandError, TranscriptError

GROUP = "minuta.commands"


def commands() -> list[ModuleType]:
    """The command modules of both sides, in the order ``pyproject.toml`` lists them."""
    found = [ep.load() for ep in entry_points(group=GROUP)]
    if not found:  # a source tree that was never installed: say so, not "no command"
        raise SystemExit(f"minuta: no commands found in the {GROUP!r} entry points: pip install .")
    return found


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
    for command in commands():
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (CommandError, TranscriptError) as exc:
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

"""The ``minuta`` command line: one entry point, one module per command.

The commands are the modules of the ``minuta.commands`` entry-point group
(``pyproject.toml``): the agent's here, the relay's in ``relay/cli/``. Each has
``register(subparsers)``; the entry point loads them by name, so the agent never imports
the relay. Every command reports a bad input as one line on stderr (a
:class:`~engine.CommandError` or :class:`~engine.TranscriptError`) and exits with status 2.
What goes to stderr passes through the redactor (:mod:`agent.logs`, ``MINUTA_LOG_REDACT``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version
from types import ModuleType
from typing import Any

from engine import CommandError, TranscriptError

from ..logs import load as load_redactor
from ..logs import redacted_stderr

GROUP = "minuta.commands"
_OURS = {"agent", "engine", "relay", "migrations", "minuta_web"}


class MissingCommand:
    """A command whose side is not installed (the relay's, after ``pip install minuta``):
    listed, and saying how to install it rather than breaking every other command."""

    def __init__(self, name: str, module: str, missing: str) -> None:
        self.name = name
        self.missing = missing
        self.install = (
            "pip install 'minuta[relay]'" if module.startswith("relay.") else "pip install minuta"
        )

    def register(self, sub: Any) -> None:
        # Its options are unknown here: main() parses what follows it leniently.
        p = sub.add_parser(self.name, help=f"(not installed: {self.install})", add_help=False)
        p.set_defaults(run=self.run)

    def run(self, args: argparse.Namespace) -> int:
        raise CommandError(
            f"this command needs packages that are not installed ({self.missing} is "
            f"missing): {self.install}"
        )


def commands() -> list[ModuleType | MissingCommand]:
    """The command modules of both sides, in the order ``pyproject.toml`` lists them."""
    found: list[ModuleType | MissingCommand] = []
    for ep in entry_points(group=GROUP):
        try:
            found.append(ep.load())
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] in _OURS:
                raise  # a bug of ours, not a package left out
            found.append(MissingCommand(ep.name, ep.value, exc.name or str(exc)))
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
    args, unknown = parser.parse_known_args(argv)
    if unknown and not isinstance(getattr(args.run, "__self__", None), MissingCommand):
        parser.parse_args(argv)  # the usual error and exit status 2
    try:
        redactor = load_redactor()
    except CommandError as exc:
        print(f"minuta {args.command}: error: {exc}", file=sys.stderr)
        return 2
    # Everything on stderr (logs, warnings, the errors below) with personal data masked.
    with redacted_stderr(redactor):
        return _run_command(args)


def _run_command(args: argparse.Namespace) -> int:
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

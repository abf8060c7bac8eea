"""``minuta actions`` and ``minuta summary``: the workers' heuristics on a JSON export.

Both read a transcript (the engine's JSON export, or a stored Yjs update) and print JSON:
``actions`` an array of ``{segment_id, owner, text, due, conf, source_span}``, ``summary``
an object ``{bullets, risks, topics}``. Due dates count from ``--today`` (default: the
meeting's date).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from engine import Snapshot
from engine.insights import extract_actions, summarize

from ._common import CliError, read_transcript


def register(sub: Any) -> None:
    for name, helptext in (
        ("actions", "print the action items of a transcript as JSON"),
        ("summary", "print the summary of a transcript as JSON"),
    ):
        p: argparse.ArgumentParser = sub.add_parser(
            name, help=helptext, description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        p.add_argument("doc", metavar="TRANSCRIPT", help="a JSON export or a Yjs update file")
        if name == "actions":
            p.add_argument(
                "--today",
                type=_date,
                help="the meeting's date, for due dates (default: its started_at)",
            )
        p.set_defaults(run=run_actions if name == "actions" else run_summary)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def meeting_date(snapshot: Snapshot) -> date:
    started = snapshot["meta"]["started_at"]
    try:
        return date.fromisoformat(str(started)[:10])
    except ValueError:
        raise CliError("the transcript has no started_at date: give --today") from None


def run_actions(args: argparse.Namespace) -> int:
    snapshot = read_transcript(args.doc).snapshot()
    today = args.today or meeting_date(snapshot)
    items = extract_actions(
        snapshot["segments"], language=snapshot["meta"]["language"], today=today
    )
    print(json.dumps([item.as_json() for item in items], ensure_ascii=False, indent=1))
    return 0


def run_summary(args: argparse.Namespace) -> int:
    snapshot = read_transcript(args.doc).snapshot()
    result = summarize(snapshot["segments"], language=snapshot["meta"]["language"])
    print(json.dumps(result.as_json(), ensure_ascii=False, indent=1))
    return 0

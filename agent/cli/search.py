"""``minuta search QUERY``: search the text of every transcript of your organization.

Asks the relay (``--relay``, or the one relay logged in to) and prints the best hits:
the transcript, where in it (hh:mm:ss), the speaker and the matching words in brackets.
Words match as prefixes, ignoring case and accents. ``--json`` prints the relay's answer.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio

from ..credentials import CredentialStore
from ..relay_api import RelayRefusedError, RelayUnreachableError, get_json
from ._common import CliError, default_relay
from ._run import clock


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "search",
        help="search every transcript of your organization on the relay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", nargs="+", metavar="QUERY", help="the words to find")
    p.add_argument("--relay", metavar="URL", help="default: the one relay logged in to")
    p.add_argument("--speaker", metavar="NAME", help="only what this speaker said")
    p.add_argument("--from", dest="since", metavar="DATE", help="transcripts from this date on")
    p.add_argument("--to", dest="until", metavar="DATE", help="transcripts up to this date")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="hits to show (max 100)")
    p.add_argument("--json", action="store_true", help="print the relay's JSON answer")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    credentials = CredentialStore()
    relay = default_relay(args.relay, credentials)
    tokens = credentials.get(relay)
    if tokens is None:
        raise CliError(f"not logged in to {relay}: run `minuta login {relay}`")
    params = {"q": " ".join(args.query), "limit": str(args.limit)}
    for name, value in (("speaker", args.speaker), ("from", args.since), ("to", args.until)):
        if value:
            params[name] = value
    try:
        _, page = anyio.run(lambda: get_json(tokens, "/search", params, credentials=credentials))
    except RelayUnreachableError as exc:
        raise CliError(f"cannot reach {relay}: {exc}") from None
    except RelayRefusedError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(page, ensure_ascii=False, indent=2))
        return 0
    assert isinstance(page, dict)
    items = page.get("items") or []
    if not items:
        print("No matches.")
        return 0
    for hit in items:
        speaker = f" {hit['speaker']}:" if hit.get("speaker") else ""
        where = f"{hit['transcript_id']} {clock(float(hit['t0']))}"
        print(f"{where}  {hit['title']}\n   {speaker} {marked(hit)}".rstrip())
    if page.get("next_offset") is not None:
        print(f"(more: --limit {min(100, args.limit * 2)})")
    return 0


def marked(hit: dict[str, Any]) -> str:
    """The snippet with its highlights in [brackets] (offsets are UTF-16 code units)."""
    units = str(hit["snippet"]).encode("utf-16-le")
    out, at = [], 0
    for start, end in hit.get("highlights") or []:
        out += [units[2 * at : 2 * start], b"[\x00", units[2 * start : 2 * end], b"]\x00"]
        at = end
    out.append(units[2 * at :])
    return b"".join(out).decode("utf-16-le", "replace")

"""``minuta demo``: the whole path on this machine, on embedded defaults.

Starts a relay on SQLite in ``<out>/relay`` (a demo user with a random password), then
transcribes a short bundled recording (a meeting read by espeak-ng) with the bundled
multilingual base model through the agent, which keeps the transcript in its durable
local store and syncs it to the relay as it goes. It prints the transcript, writes the
Markdown, SRT, WebVTT and JSON exports, and prints the page URL. No server to install,
no download, no configuration.

On a terminal the relay keeps serving until Ctrl-C; otherwise (``--no-serve``, scripts,
CI) it stops once the transcript is synced, and the command to serve it again is shown.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from engine import export

from ..credentials import CredentialStore, LoginError, login
from ._common import CliError
from ._local_relay import DEMO_USER, LocalRelay
from ._run import RunOptions, add_asr_arguments, prepare_out, print_final
from .transcribe import transcribe_file

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "demo-meeting.ogg"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="transcribe a bundled sample through a local relay, on embedded defaults",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=Path("minuta-demo"),
        help="where to write the exports and the relay's data (default: ./minuta-demo)",
    )
    p.add_argument("--port", type=int, default=8765, help="the relay's port (default 8765)")
    serve = p.add_mutually_exclusive_group()
    serve.add_argument(
        "--serve", dest="serve", action="store_true", default=None, help="keep the relay up"
    )
    serve.add_argument(
        "--no-serve", dest="serve", action="store_false", help="stop the relay when done"
    )
    add_asr_arguments(p)
    p.set_defaults(run=run)


def regenerate(relay_url: str, access_token: str, transcript_id: str) -> str:
    """Run the relay's workers on the transcript; a few lines on what they found."""
    headers = {"Authorization": f"Bearer {access_token}"}
    base = f"{relay_url}/transcripts/{transcript_id}"
    try:
        response = httpx.post(f"{base}/summary", headers=headers, timeout=60)
        response.raise_for_status()
        summary = response.json()
        response = httpx.get(f"{base}/actions", headers=headers, timeout=10)
        response.raise_for_status()
        actions = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"(The workers did not run: {exc})"
    lines = ["", "## Summary (the workers)", ""]
    lines += [f"- {bullet}" for bullet in summary.get("bullets", [])]
    lines += ["", "## Actions", ""]
    for action in actions if isinstance(actions, list) else []:
        owner = f" ({action['owner']})" if action.get("owner") else ""
        due = f", due {action['due']}" if action.get("due") else ""
        lines.append(f"- {action['text']}{owner}{due}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    prepare_out(args.out)
    data_dir = (args.out / "relay").resolve()
    with LocalRelay(data_dir, args.port) as relay:
        print(f"Relay on {relay.url} (SQLite in {data_dir}).")
        credentials = CredentialStore(data_dir / "credentials.json")
        try:
            tokens = login(relay.url, DEMO_USER, relay.password)
            credentials.put(tokens)
        except LoginError as exc:
            raise CliError(f"cannot log in to the demo relay: {exc}") from None
        options = replace(
            RunOptions.from_args(args), relay=relay.url, credentials_file=credentials.path
        )
        transcript_id = f"demo-{datetime.now():%Y%m%d-%H%M%S}"
        print(f"Transcribing the bundled sample {SAMPLE.name} on this machine:")
        doc = transcribe_file(
            options, SAMPLE, args.out, transcript_id=transcript_id,
            title=args.title or "Demo meeting", on_final=print_final,
        )  # fmt: skip
        # A meeting this short never reaches the workers' triggers: run them now, so the
        # page shows its summary and actions (the page's "Regenerate" does the same).
        insights = regenerate(tokens.relay_url, tokens.access_token, transcript_id)
        print()
        print(export(doc.snapshot(), "md"), end="")
        if insights:
            print(insights)
        print()
        print(f"Page: {relay.url}/#/t/{transcript_id}")
        print(f"Log in as {DEMO_USER!r} with the password in {data_dir / 'demo-password'}.")
        serve = args.serve if args.serve is not None else sys.stdin.isatty()
        if serve:
            print("The relay is serving; Ctrl-C stops it.")
            with contextlib.suppress(KeyboardInterrupt):
                relay.wait()
        else:
            print(
                "The relay stopped. Serve it again with:\n"
                f"  JWT_SECRET=$(cat {data_dir / 'jwt-secret'}) minuta relay "
                f"--data-dir {data_dir} --port {relay.url.rsplit(':', 1)[1]}"
            )
    return 0

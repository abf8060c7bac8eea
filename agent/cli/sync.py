"""``minuta sync [--relay URL] [--watch]``: send the relay what it lacks of every local
transcript.

Each transcript with changes the relay has not acknowledged (``minuta transcripts`` lists
them) is created on the relay if it is not there yet, then synced. While the relay does
not answer, it is asked again with exponential backoff (0.5 s doubling to 30 s). Without
``--watch`` the command ends once every transcript is synced, refused, or ``--wait``
seconds have passed; the exit status is 1 if any is left. With ``--watch`` it keeps
running and sends each new or changed transcript too (``minuta record`` writing while the
relay is down, for example): the agent's background service. ``--systemd-unit`` prints a
systemd user unit that runs it. Local copies past their retention period that the relay
has whole are deleted (``--keep-local`` keeps them; see :mod:`agent.retention`). The unit::

    minuta sync --systemd-unit > ~/.config/systemd/user/minuta-sync.service
    systemctl --user enable --now minuta-sync
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from pathlib import Path
from typing import Any

import anyio

from ..audio_upload import UploadResult, upload_all_pending
from ..credentials import CredentialStore
from ..outbox import Outbox, OutboxOptions, Outcome
from ..retention import prune_expired
from ..store import StoreError, default_storage_dir
from ._common import CliError, default_relay


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "sync",
        help="send local transcripts to the relay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--relay", metavar="URL", help="default: the one relay logged in to")
    p.add_argument("--watch", action="store_true", help="keep running, sending new changes")
    p.add_argument(
        "--wait", type=float, default=60.0, metavar="SECONDS",
        help="without --watch: how long to wait for a relay that is down (default 60)",
    )  # fmt: skip
    p.add_argument("--storage-dir", metavar="DIR", type=Path, default=None)
    p.add_argument(
        "--keep-local", action="store_true",
        help="keep local copies past their retention period (by default, once the relay "
        "has all of one and it expired, the local copy and its audio are deleted)",
    )  # fmt: skip
    p.add_argument(
        "--systemd-unit", action="store_true",
        help="print a systemd user unit running `minuta sync --watch` with these options",
    )  # fmt: skip
    p.set_defaults(run=run)


UPLOAD_EVERY_S = 30.0  # --watch: how often to try the audio uploads that are due

_UNIT = """\
[Unit]
Description=Minuta: send local transcripts to {relay_url}

[Service]
ExecStart={command}
# Offline is normal: the command waits for the relay itself. Restart only on a crash.
Restart=on-failure
RestartSec=10

[Install]
WantedBy=default.target
"""


def systemd_unit(relay_url: str, storage_dir: Path | None) -> str:
    """A user unit running ``minuta sync --watch``, with this install's ``minuta``."""
    minuta = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "minuta" else None
    program = [str(minuta)] if minuta else [sys.executable, "-m", "agent.cli"]
    args = [*program, "sync", "--watch", "--relay", relay_url]
    if storage_dir is not None:
        args += ["--storage-dir", str(storage_dir.resolve())]
    return _UNIT.format(relay_url=relay_url, command=" ".join(shlex.quote(a) for a in args))


def run(args: argparse.Namespace) -> int:
    credentials = CredentialStore()
    relay_url = default_relay(args.relay, credentials)
    if credentials.get(relay_url) is None:
        raise CliError(f"not logged in to {relay_url}: run `minuta login {relay_url}`")
    if args.wait <= 0:
        raise CliError("--wait must be positive")
    if args.systemd_unit:
        print(systemd_unit(relay_url, args.storage_dir), end="")
        return 0
    storage_dir = args.storage_dir or default_storage_dir()
    options = OutboxOptions(storage_dir=storage_dir, watch=args.watch, wait_s=args.wait)

    def report(outcome: Outcome) -> None:
        reason = f": {outcome.reason}" if outcome.reason else ""
        out = sys.stdout if outcome.state == "synced" else sys.stderr
        print(f"{outcome.transcript_id}: {outcome.state}{reason}", file=out, flush=True)

    outbox = Outbox(options, credentials, relay_url, report=report)
    if args.watch:
        print(f"Syncing {storage_dir} to {relay_url} (Ctrl-C to stop).", flush=True)
    try:
        if args.watch:
            if not args.keep_local:
                prune(storage_dir, credentials, relay_url)
            with contextlib.suppress(KeyboardInterrupt):
                anyio.run(watch, outbox, storage_dir, relay_url, credentials)
            return 0
        outcomes = anyio.run(outbox.run)
        # After the transcripts: the relay takes audio only for a transcript it has.
        uploads = anyio.run(upload_all_pending, storage_dir, relay_url, credentials)
        report_uploads(uploads)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if not args.keep_local:
        prune(storage_dir, credentials, relay_url)
    left = [o for o in outcomes.values() if o.state != "synced"]
    synced = len(outcomes) - len(left)
    print(f"{synced} synced, {len(left)} not." if outcomes else "Nothing to sync.")
    audio_left = [r for r in uploads.values() if not r.done]
    return 1 if left or audio_left else 0


async def watch(
    outbox: Outbox, storage_dir: Path, relay_url: str, credentials: CredentialStore
) -> None:
    """The outbox, and every ``UPLOAD_EVERY_S`` the audio uploads that are due."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(outbox.run)
        while True:
            await anyio.sleep(UPLOAD_EVERY_S)
            report_uploads(await upload_all_pending(storage_dir, relay_url, credentials))


def report_uploads(uploads: dict[str, UploadResult]) -> None:
    for transcript_id, result in uploads.items():
        if result.state == "none":
            continue
        reason = f": {result.reason}" if result.reason else ""
        out = sys.stdout if result.state == "complete" else sys.stderr
        print(f"{transcript_id}: audio {result.state}{reason}", file=out, flush=True)


def prune(storage_dir: Path, credentials: CredentialStore, relay_url: str) -> None:
    """Delete the local copies that expired and that the relay has whole."""
    tokens = credentials.get(relay_url)
    if tokens is None:
        return
    for gone in anyio.run(lambda: prune_expired(storage_dir, tokens, credentials)):
        print(f"{gone.transcript_id}: deleted locally ({gone.reason})", flush=True)

"""``minuta transcripts [--relay URL]``: the local transcripts and their sync state.

For each transcript kept on this machine: its id, title, final segments, when it last
changed, and where it stands with the relay (``--relay``, or the one relay logged in to):
``synced``, ``pending N`` (rows of its log the relay has not acknowledged), or ``never
sent``. ``minuta sync`` sends what is pending.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from engine import TranscriptDoc

from ..credentials import CredentialStore
from ..store import LocalStore, StoreError, default_storage_dir, local_transcript_ids
from ._common import CliError, default_relay


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "transcripts",
        help="list the local transcripts and their sync state",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--relay", metavar="URL", help="default: the one relay logged in to")
    p.add_argument("--storage-dir", metavar="DIR", type=Path, default=None)
    p.set_defaults(run=run)


def sync_state(pending: int | None) -> str:
    """How ``minuta transcripts`` says :meth:`LocalStore.pending_rows`."""
    if pending is None:
        return "never sent"
    return "synced" if pending == 0 else f"pending {pending}"


def run(args: argparse.Namespace) -> int:
    credentials = CredentialStore()
    relay_url = (
        default_relay(args.relay, credentials) if args.relay or credentials.relays() else None
    )
    storage_dir = args.storage_dir or default_storage_dir()
    try:
        ids = local_transcript_ids(storage_dir)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if not ids:
        print(f"No transcripts in {storage_dir}.")
        return 0
    rows = [("TRANSCRIPT", "TITLE", "SEGMENTS", "CHANGED", f"SYNC ({relay_url or 'no relay'})")]
    for transcript_id in ids:
        try:
            with LocalStore(storage_dir, transcript_id) as store:
                doc = store.open_doc(TranscriptDoc)
                snapshot = doc.snapshot()
                changed = store.last_change()
                state = sync_state(store.pending_rows(relay_url)) if relay_url else "never sent"
        except StoreError as exc:
            rows.append((transcript_id, f"unreadable: {exc}", "", "", ""))
            continue
        finals = sum(1 for s in snapshot["segments"] if s["final"])
        when = "" if changed is None else datetime.fromtimestamp(changed).strftime("%Y-%m-%d %H:%M")
        title = str(snapshot["meta"]["title"] or "")
        rows.append((transcript_id, title, str(finals), when, state))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4])
    return 0

"""The agent's side of retention: a local transcript goes once the relay has all of it
and its retention period is over.

The relay deletes a transcript when it expires (its org's ``retention_days``, or the
transcript's own). The local copy is deleted by ``minuta sync`` only when both hold:

- the relay acknowledged every row of the local log, and has the audio if it was to be
  uploaded (nothing would be lost), and
- the relay says it expired (``expires_at`` passed), or the relay no longer has it and
  the local reckoning (meta ``retention_days``, else 90 days, from ``started_at``)
  says it expired too. A relay that only answers 404 is not trusted alone: an admin's
  deletion, or another org holding the id, looks the same.

Audio kept with ``--keep-audio`` lives in the same folder and goes with it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine import TranscriptDoc

from .audio_upload import read_marker
from .credentials import CredentialStore, Tokens
from .relay_api import RelayRefusedError, RelayUnreachableError, get_json
from .store import LocalStore, StoreError, local_transcript_ids

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Pruned:
    transcript_id: str
    reason: str


async def prune_expired(
    storage_dir: Path,
    tokens: Tokens,
    credentials: CredentialStore,
    *,
    now: Callable[[], float] = time.time,
) -> list[Pruned]:
    """Delete the local transcripts the relay has whole and whose time is up."""
    pruned: list[Pruned] = []
    for transcript_id in local_transcript_ids(storage_dir):
        try:
            with LocalStore(storage_dir, transcript_id) as store:
                if store.pending_rows(tokens.relay_url) != 0:
                    continue  # the relay lacks some of it, or never had any
                upload = read_marker(storage_dir, transcript_id)
                if upload is not None and not upload.get("complete"):
                    continue  # its audio is still to be sent
                meta = TranscriptDoc.from_update(store.merged()).snapshot()["meta"]
                first = _started(meta["started_at"]) or store.first_change()
                days = meta["retention_days"]
        except StoreError:
            continue
        try:
            tokens, body = await get_json(
                tokens, f"/transcripts/{transcript_id}", {}, credentials=credentials
            )
        except RelayUnreachableError:
            return pruned  # offline: another time
        except RelayRefusedError as exc:
            if exc.status != 404:
                continue
            local_days = DEFAULT_DAYS if days is None else days
            if local_days <= 0 or first is None or now() < first + local_days * 86400:
                continue
            reason = f"deleted on the relay and older than {local_days} days"
        else:
            expires = body.get("expires_at") if isinstance(body, dict) else None
            if not isinstance(expires, str) or now() < datetime.fromisoformat(expires).timestamp():
                continue
            reason = f"expired on {expires[:10]}"
        shutil.rmtree(Path(storage_dir) / transcript_id, ignore_errors=True)
        pruned.append(Pruned(transcript_id, reason))
    return pruned


def _started(value: str | None) -> float | None:
    try:
        return datetime.fromisoformat(value).timestamp() if value else None
    except ValueError:
        return None

"""The agent's local copies and retention, against a real relay: a copy goes once the
relay has all of it and its time is up, never before, and never with unsent changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
from _relay import RelayProcess
from sqlalchemy import text
from test_sync_cli import env, minuta, relay

from agent.credentials import CredentialStore
from agent.retention import prune_expired
from agent.store import LocalStore, local_transcript_ids
from engine import TranscriptDoc
from relay.db import connect

__all__ = ["env", "relay"]  # fixtures, shared with test_sync_cli


def local(storage: Path, transcript_id: str, *, started_days_ago: float = 0) -> None:
    started = (datetime.now(UTC) - timedelta(days=started_days_ago)).isoformat()
    with LocalStore(storage, transcript_id) as store:
        doc = store.open_doc(lambda: TranscriptDoc.create(transcript_id, title=transcript_id))
        doc.set_meta(started_at=started)
        doc.upsert_segment("seg-1", rev=1, text="Dicho.", t0=0.0, t1=1.0)


def age_on_relay(relay: RelayProcess, days: int, *ids: str) -> None:
    engine = connect(f"sqlite:///{relay.data_dir / 'minuta.sqlite3'}")
    with engine.begin() as connection:
        for transcript_id in ids:
            connection.execute(
                text("UPDATE transcripts SET created_at = :at WHERE transcript_id = :t"),
                {"at": datetime.now(UTC) - timedelta(days=days), "t": transcript_id},
            )
    engine.dispose()


def test_local_copies_go_only_when_the_relay_has_them_and_they_expired(
    relay: RelayProcess, env: dict[str, str]
) -> None:
    storage = Path(env["MINUTA_AGENT_DIR"])
    for transcript_id in ("expired", "unsent", "fresh", "deleted-old", "deleted-new"):
        local(storage, transcript_id, started_days_ago=100 if "old" in transcript_id else 0)
    local(storage, "never-synced", started_days_ago=100)
    assert minuta("login", relay.url, env=env).returncode == 0
    for transcript_id in local_transcript_ids(storage):
        if transcript_id != "never-synced":
            sent = minuta("sync", "--relay", relay.url, env=env)
            assert sent.returncode == 0, sent.stdout + sent.stderr
            break
    age_on_relay(relay, 100, "expired", "unsent")
    root = relay.login("root")["access_token"]
    for transcript_id in ("deleted-old", "deleted-new"):  # an admin deleted them
        response = httpx.delete(f"{relay.url}/transcripts/{transcript_id}",
                                headers={"Authorization": f"Bearer {root}"})  # fmt: skip
        assert response.status_code == 204
    with LocalStore(storage, "unsent") as store:  # a change the relay has not had yet
        store.open_doc(TranscriptDoc).set_text("seg-1", "Corregido.", user="ana")
    with LocalStore(storage, "never-synced") as store:
        store.set_acked("http://elsewhere", b"\x00")
    credentials = CredentialStore(Path(env["MINUTA_CONFIG_DIR"]) / "credentials.json")
    tokens = credentials.get(relay.url)
    assert tokens is not None
    pruned = anyio.run(lambda: prune_expired(storage, tokens, credentials))
    assert sorted(p.transcript_id for p in pruned) == ["deleted-old", "expired"]
    assert set(local_transcript_ids(storage)) == {"unsent", "fresh", "deleted-new", "never-synced"}
    assert not (storage / "expired").exists()
    # `minuta sync` sends the unsent change, and then the expired copy goes too.
    run = minuta("sync", "--relay", relay.url, env=env)
    assert "unsent: deleted locally (expired on" in run.stdout, run.stdout + run.stderr
    assert "unsent" not in local_transcript_ids(storage)
    kept = minuta("sync", "--relay", relay.url, "--keep-local", env=env)
    assert "deleted locally" not in kept.stdout

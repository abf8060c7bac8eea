"""Uploaded audio on a real relay (SQLite and PostgreSQL): a resumable, idempotent upload
marks the doc, the org's people can play it (with ranges for seeking), no other org can
fetch it, and deleting the transcript, or its expiry, deletes the file."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
from _relay import RelayProcess, connected, query, running, wait_until
from sqlalchemy import text

from relay.db import connect

AUDIO = os.urandom(300_000)  # the relay stores bytes: it need not be real Ogg here
DIGEST = hashlib.sha256(AUDIO).hexdigest()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def put(relay: RelayProcess, token: str, transcript_id: str, offset: int, data: bytes,
        *, size: int = len(AUDIO), sha256: str = DIGEST) -> httpx.Response:  # fmt: skip
    return httpx.put(
        f"{relay.url}/transcripts/{transcript_id}/audio/upload",
        params={"offset": offset, "size": size, "sha256": sha256},
        content=data,
        headers={**auth(token), "Content-Type": "application/octet-stream"},
    )


def state(relay: RelayProcess, token: str, transcript_id: str) -> dict[str, Any]:
    response = httpx.get(f"{relay.url}/transcripts/{transcript_id}/audio/upload",
                         headers=auth(token))  # fmt: skip
    assert response.status_code == 200, response.text
    return dict(response.json())


def upload_meta(relay: RelayProcess, token: str, transcript_id: str) -> bool:
    async def main() -> bool:
        async with connected(f"{relay.ws}/sync/{transcript_id}?token={token}") as client:
            return bool(client.doc.snapshot()["meta"]["upload_audio"])

    return anyio.run(main)


def test_a_resumable_upload_is_played_by_the_org_only(relay: RelayProcess) -> None:
    ana, vi = relay.token("ana", "acme", "editor"), relay.token("vi", "acme", "viewer")
    zed = relay.token("zed", "other", "editor")
    transcript_id = relay.create_transcript(ana)
    assert state(relay, ana, transcript_id) == {"received": 0, "size": None, "sha256": None,
                                                "complete": False}  # fmt: skip
    assert upload_meta(relay, ana, transcript_id) is False
    first = put(relay, ana, transcript_id, 0, AUDIO[:100_000])
    assert first.status_code == 200 and first.json()["received"] == 100_000
    # The answer was lost and the piece sent again: refused, with where to go on.
    again = put(relay, ana, transcript_id, 0, AUDIO[:100_000])
    assert again.status_code == 409 and again.json()["received"] == 100_000
    assert "error" in again.json()
    # Another file while this one is under way is refused too.
    other = put(relay, ana, transcript_id, 100_000, b"x", size=5, sha256="0" * 64)
    assert other.status_code == 409
    # A new process asks where the upload stands and goes on.
    at = state(relay, ana, transcript_id)["received"]
    assert put(relay, ana, transcript_id, at, AUDIO[at:200_000]).json()["complete"] is False
    assert upload_meta(relay, ana, transcript_id) is False  # not until it is whole
    done = put(relay, ana, transcript_id, 200_000, AUDIO[200_000:])
    assert done.json() == {"received": len(AUDIO), "size": len(AUDIO), "sha256": DIGEST,
                           "complete": True}  # fmt: skip
    assert put(relay, ana, transcript_id, 200_000, AUDIO[200_000:]).status_code == 200  # idem
    assert upload_meta(relay, ana, transcript_id) is True
    details = httpx.get(f"{relay.url}/transcripts/{transcript_id}", headers=auth(ana)).json()
    assert details["audio"] is True
    # The org's viewer plays it, from any point; the other org cannot tell it exists.
    whole = httpx.get(f"{relay.url}/transcripts/{transcript_id}/audio", headers=auth(vi))
    assert whole.status_code == 200 and whole.content == AUDIO
    assert whole.headers["content-type"] == "audio/ogg"
    part = httpx.get(f"{relay.url}/transcripts/{transcript_id}/audio",
                     headers={**auth(vi), "Range": "bytes=1000-1999"})  # fmt: skip
    assert part.status_code == 206 and part.content == AUDIO[1000:2000]
    for url in (
        f"/transcripts/{transcript_id}/audio",
        f"/transcripts/{transcript_id}/audio/upload",
    ):
        response = httpx.get(relay.url + url, headers=auth(zed))
        assert response.status_code == 404 and response.json()["error"]
        assert httpx.get(relay.url + url).status_code == 401
    assert put(relay, zed, transcript_id, 0, b"x", size=1).status_code == 404
    assert put(relay, vi, transcript_id, 0, b"x", size=1).status_code == 403
    # Deleting the transcript deletes its audio.
    audio_file = relay.data_dir / "audio" / f"{transcript_id}.ogg"
    assert audio_file.read_bytes() == AUDIO
    root = relay.token("root", "acme", "admin")
    assert httpx.delete(f"{relay.url}/transcripts/{transcript_id}",
                        headers=auth(root)).status_code == 204  # fmt: skip
    assert not audio_file.exists()
    (event,) = query(relay_database(relay), "SELECT detail FROM audit_events WHERE "
                     "action = 'delete' AND transcript_id = :t", t=transcript_id)  # fmt: skip
    assert '"audio": true' in str(event[0]).replace("'", '"').replace("True", "true")


def relay_database(relay: RelayProcess) -> str:
    flags = relay.flags
    if "--database-url" in flags:
        return flags[flags.index("--database-url") + 1]
    return f"sqlite:///{relay.data_dir / 'minuta.sqlite3'}"


def test_bad_uploads_get_json_errors_and_keep_nothing(relay: RelayProcess) -> None:
    ana = relay.token("ana", "acme", "editor")
    transcript_id = relay.create_transcript(ana)
    for response, status in (
        (put(relay, ana, transcript_id, 0, b"abc", sha256="nothex"), 400),
        (put(relay, ana, transcript_id, 0, b"abc", size=0), 413),
        (put(relay, ana, transcript_id, 0, b"abc", size=2**31), 413),
        (put(relay, ana, transcript_id, 0, b"abcdef", size=3), 400),
        (put(relay, ana, transcript_id, 5, b"abc", size=3, sha256="a" * 64), 409),
        (put(relay, ana, transcript_id, 0, os.urandom(2**20 + 10), size=2**21), 413),
        (put(relay, ana, "no-such-transcript", 0, b"abc", size=3), 404),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]
    # A whole that does not match its digest is dropped: the upload starts again.
    wrong = put(relay, ana, transcript_id, 0, b"abc", size=3, sha256="b" * 64)
    assert wrong.status_code == 400 and "sha256" in wrong.json()["error"]
    assert state(relay, ana, transcript_id)["received"] == 0
    missing = httpx.get(f"{relay.url}/transcripts/{transcript_id}/audio", headers=auth(ana))
    assert missing.status_code == 404 and missing.json()["error"]


@pytest.fixture
def expiring_relay(tmp_path_factory: pytest.TempPathFactory, db_url: str) -> Any:
    """A relay of its own (its own new database), running retention every half second."""
    with running(tmp_path_factory, db_url, extra=["--retention-every", "0.5"]) as server:
        yield server


def test_an_expired_transcript_goes_with_its_audio(expiring_relay: RelayProcess) -> None:
    relay = expiring_relay
    ana = relay.token("ana", "acme", "editor")
    old, kept = relay.create_transcript(ana), relay.create_transcript(ana)
    for transcript_id in (old, kept):
        assert put(relay, ana, transcript_id, 0, AUDIO).json()["complete"] is True
    root = relay.token("root", "acme", "admin")
    patched = httpx.patch(f"{relay.url}/transcripts/{kept}", json={"retention_days": 400},
                          headers=auth(root))  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert httpx.patch(f"{relay.url}/transcripts/{kept}", json={"retention_days": 5},
                       headers=auth(ana)).status_code == 403  # fmt: skip
    details = httpx.get(f"{relay.url}/transcripts/{old}", headers=auth(ana)).json()
    assert details["retention_days"] == 90 and details["expires_at"]
    # Both were made 100 days ago (the relay's clock is real; the rows are moved instead).
    database = relay_database(relay)
    execute(database, "UPDATE transcripts SET created_at = :at WHERE transcript_id IN (:a, :b)",
            at=_days_ago(100), a=old, b=kept)  # fmt: skip

    def gone() -> bool:
        response = httpx.get(f"{relay.url}/transcripts/{old}", headers=auth(ana))
        return response.status_code == 404

    anyio.run(wait_until, gone, 20)
    assert not (relay.data_dir / "audio" / f"{old}.ogg").exists()
    assert (relay.data_dir / "audio" / f"{kept}.ogg").exists()
    assert (
        httpx.get(f"{relay.url}/transcripts/{kept}", headers=auth(ana)).json()["retention_days"]
        == 400
    )
    (event,) = query(database, "SELECT action, org_id FROM audit_events WHERE transcript_id = :t "
                     "AND action = 'expire'", t=old)  # fmt: skip
    assert tuple(event) == ("expire", "acme")


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def execute(database_url: str, statement: str, **params: Any) -> None:
    engine = connect(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    finally:
        engine.dispose()


def test_the_audio_is_kept_outside_sql(relay: RelayProcess) -> None:
    ana = relay.token("ana", "acme", "editor")
    transcript_id = relay.create_transcript(ana)
    assert put(relay, ana, transcript_id, 0, AUDIO).json()["complete"] is True
    logged = query(relay_database(relay), "SELECT data FROM doc_updates WHERE transcript_id = :t",
                   t=transcript_id)  # fmt: skip
    assert logged and all(AUDIO[:64] not in bytes(row[0]) for row in logged)
    assert (relay.data_dir / "audio" / f"{transcript_id}.ogg").stat().st_size == len(AUDIO)

"""The agent syncing to a real relay: offline is normal, and everything arrives."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from _relay import MINUTA, PASSWORD, RelayProcess, agent_env, free_port, restartable_relay

from agent.credentials import CredentialStore, Tokens, login
from agent.sync import Backoff, RelaySync
from engine import TranscriptDoc

JFK = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio" / "jfk.flac"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return agent_env(tmp_path)


@pytest.fixture
def relay(tmp_path: Path, env: dict[str, str]) -> Iterator[RelayProcess]:
    with restartable_relay(tmp_path, env) as server:
        yield server


def export_md(relay: RelayProcess, tokens: Tokens, transcript_id: str) -> str:
    response = httpx.get(
        f"{relay.url}/transcripts/{transcript_id}/export?fmt=md",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert response.status_code == 200, response.text
    return response.text


def test_offline_then_back_everything_arrives(relay: RelayProcess) -> None:
    tokens = login(relay.url, "ana", PASSWORD)
    doc = TranscriptDoc.create("sync-1", title="Sync")
    response = httpx.post(
        f"{relay.url}/transcripts",
        json={"transcript_id": "sync-1", "title": "Sync"},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert response.status_code == 201
    sync = RelaySync(doc, tokens, backoff=Backoff(first_s=0.1, max_s=1.0), client="agent")
    reconnect_s: list[float] = []

    def live() -> bool:
        return bool(
            httpx.get(
                f"{relay.url}/transcripts/sync-1",
                headers={"Authorization": f"Bearer {tokens.access_token}"},
            ).json()["live"]
        )

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sync.run)
            doc.upsert_segment("s1", rev=1, text="en línea", t0=0, t1=1, final=True)
            with anyio.fail_after(10):
                await sync.wait_acked()
            assert await anyio.to_thread.run_sync(live)  # an agent records it
            # The relay dies; the agent goes on writing.
            await anyio.to_thread.run_sync(relay.stop, signal.SIGKILL)
            for n in range(2, 12):
                doc.upsert_segment(f"s{n}", rev=1, text=f"sin red {n}", t0=n, t1=n + 1, final=True)
            await anyio.sleep(1.5)
            assert sync.pending()
            await anyio.to_thread.run_sync(relay.start)
            back = time.monotonic()
            connects = sync.connects
            with anyio.fail_after(15):
                while sync.connects == connects:  # noqa: ASYNC110 (a counter: nothing to wait on)
                    await anyio.sleep(0.02)
            reconnect_s.append(time.monotonic() - back)
            with anyio.fail_after(10):
                await sync.wait_acked()
            tg.cancel_scope.cancel()

    anyio.run(main)
    assert reconnect_s[0] < 3.0  # the bound; the backoff is capped at 1 s here
    md = export_md(relay, tokens, "sync-1")
    assert "en línea" in md
    assert all(f"sin red {n}" in md for n in range(2, 12))


def test_transcribe_with_relay_syncs_the_transcript(
    relay: RelayProcess, env: dict[str, str]
) -> None:
    login_run = subprocess.run(
        [str(MINUTA), "login", relay.url], env=env, capture_output=True, text=True, check=False
    )
    assert login_run.returncode == 0, login_run.stderr
    assert (Path(env["MINUTA_CONFIG_DIR"]) / "credentials.json").stat().st_mode & 0o077 == 0
    run = subprocess.run(
        [str(MINUTA), "transcribe", str(JFK), "--model", "tiny.en", "--relay", relay.url,
         "--id", "jfk-sync", "--out", str(Path(env["MINUTA_AGENT_DIR"]) / "out")],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"Synced to {relay.url}." in run.stdout
    tokens = CredentialStore(Path(env["MINUTA_CONFIG_DIR"]) / "credentials.json").get(relay.url)
    assert tokens is not None
    assert (
        "ask not what your country can do for you" in export_md(relay, tokens, "jfk-sync").lower()
    )


def test_transcribe_with_a_relay_that_is_down_works_offline(
    tmp_path: Path, env: dict[str, str]
) -> None:
    store = CredentialStore(Path(env["MINUTA_CONFIG_DIR"]) / "credentials.json")
    dead = f"http://127.0.0.1:{free_port()}"
    store.put(Tokens(dead, "ana", "expired-access", "expired-refresh"))
    run = subprocess.run(
        [str(MINUTA), "transcribe", str(JFK), "--model", "tiny.en", "--relay", dead,
         "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "working offline" in run.stderr
    assert "kept locally" in run.stderr
    assert (tmp_path / "out" / "session.md").is_file()

"""Offline work reaches the relay by itself: ``minuta sync``, ``minuta transcripts``, and
the sync's own creation of a transcript recorded while the relay was down. Every test
runs a real relay (Hypercorn in a subprocess) and the real ``minuta`` commands."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from _relay import MINUTA, RelayProcess, agent_env, restartable_relay

from agent.credentials import CredentialStore, Tokens, login
from agent.relay_api import creation
from agent.store import LocalStore
from agent.sync import RelaySync
from engine import TranscriptDoc

JFK = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio" / "jfk.flac"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return agent_env(tmp_path)


@pytest.fixture
def relay(tmp_path: Path, env: dict[str, str]) -> Iterator[RelayProcess]:
    with restartable_relay(tmp_path, env) as server:
        yield server


def minuta(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MINUTA), *args], env=env, capture_output=True, text=True, check=False, timeout=300
    )


def tokens_of(env: dict[str, str], relay: RelayProcess) -> Tokens:
    tokens = CredentialStore(Path(env["MINUTA_CONFIG_DIR"]) / "credentials.json").get(relay.url)
    assert tokens is not None
    return tokens


def relay_text(relay: RelayProcess, token: str, transcript_id: str) -> str | None:
    response = httpx.get(
        f"{relay.url}/transcripts/{transcript_id}/export?fmt=md",
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.text if response.status_code == 200 else None


def eventually(check: Callable[[], bool], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.3)


def states(env: dict[str, str], relay: RelayProcess) -> dict[str, str]:
    """``minuta transcripts``' sync column, by transcript id."""
    run = minuta("transcripts", "--relay", relay.url, env=env)
    assert run.returncode == 0, run.stderr
    found = {}
    for line in run.stdout.splitlines()[1:]:
        transcript_id = line.split()[0]
        found[transcript_id] = next(
            s for s in ("synced", "never sent", "pending") if s in line.split("  ")[-1]
        )
    return found


def test_a_file_transcribed_offline_arrives_once_the_relay_is_back_under_sync_watch(
    relay: RelayProcess, env: dict[str, str]
) -> None:
    assert minuta("login", relay.url, env=env).returncode == 0
    relay.stop()
    offline = minuta(
        "transcribe", str(JFK), "--model", "tiny.en", "--relay", relay.url, "--id", "jfk-off",
        "--out", str(Path(env["MINUTA_AGENT_DIR"]) / "out"), env=env,
    )  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    assert "working offline" in offline.stderr and "minuta sync" in offline.stderr
    assert states(env, relay) == {"jfk-off": "never sent"}

    watch = subprocess.Popen(
        [str(MINUTA), "sync", "--watch", "--relay", relay.url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        time.sleep(2)  # the watcher finds the relay down, and waits
        relay.start()
        token = relay.login("ana")["access_token"]
        eventually(lambda: "country" in (relay_text(relay, token, "jfk-off") or "").lower())
        eventually(lambda: states(env, relay) == {"jfk-off": "synced"})

        # A change another process makes (``minuta record`` writing on) is sent too.
        with LocalStore(Path(env["MINUTA_AGENT_DIR"]), "jfk-off") as store:
            doc = store.open_doc(TranscriptDoc)
            doc.upsert_segment("seg-later", rev=1, text="Written later.", t0=20.0, t1=21.0)
        eventually(lambda: "Written later." in (relay_text(relay, token, "jfk-off") or ""))
        eventually(lambda: states(env, relay) == {"jfk-off": "synced"})
    finally:
        watch.terminate()
        output, _ = watch.communicate(timeout=30)
    assert "jfk-off: synced" in output, output


def test_fifty_pending_transcripts_arrive_and_a_refused_one_is_reported(
    relay: RelayProcess, env: dict[str, str]
) -> None:
    storage = Path(env["MINUTA_AGENT_DIR"])
    ids = [f"offline-{n:02d}" for n in range(50)]
    for transcript_id in [*ids, "taken-1"]:
        with LocalStore(storage, transcript_id) as store:
            doc = store.open_doc(lambda t=transcript_id: TranscriptDoc.create(t, title=t))  # type: ignore[misc]
            doc.upsert_segment("seg-1", rev=1, text=f"Said in {transcript_id}.", t0=0.0, t1=1.0)
    # Another organization holds one of the ids.
    relay.create_transcript(relay.login("zed")["access_token"], transcript_id="taken-1")
    assert minuta("login", relay.url, env=env).returncode == 0
    assert set(states(env, relay).values()) == {"never sent"}

    run = minuta("sync", "--relay", relay.url, env=env)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "taken-1: refused: no such transcript" in run.stderr
    assert "50 synced, 1 not." in run.stdout
    token = relay.login("ana")["access_token"]
    for transcript_id in ids:
        assert f"Said in {transcript_id}." in (relay_text(relay, token, transcript_id) or "")
    zed = relay.login("zed")["access_token"]
    assert "Said in" not in (relay_text(relay, zed, "taken-1") or "")
    after = states(env, relay)
    assert after.pop("taken-1") == "never sent"
    assert set(after.values()) == {"synced"} and len(after) == 50

    again = minuta("sync", "--relay", relay.url, env=env)  # nothing new but the refused one
    assert again.returncode == 1 and "0 synced, 1 not." in again.stdout


def test_sync_waits_for_a_relay_that_is_down_and_says_what_is_left(
    relay: RelayProcess, env: dict[str, str]
) -> None:
    with LocalStore(Path(env["MINUTA_AGENT_DIR"]), "t-down") as store:
        store.open_doc(lambda: TranscriptDoc.create("t-down"))
    assert minuta("login", relay.url, env=env).returncode == 0
    relay.stop()
    run = minuta("sync", "--wait", "2", env=env)  # the one relay logged in to
    assert run.returncode == 1
    assert f"t-down: pending: {relay.url} does not answer" in run.stderr


def test_the_sync_creates_a_transcript_begun_offline_when_the_relay_is_back(
    relay: RelayProcess, env: dict[str, str]
) -> None:
    """``record``/``transcribe --relay`` with the relay down at start: the sync creates
    the transcript on the relay when it is back, rather than connecting to an unknown id."""
    tokens = login(relay.url, "ana", env["MINUTA_PASSWORD"])
    relay.stop()
    doc = TranscriptDoc.create("begun-offline", title="Offline")
    doc.upsert_segment("seg-1", rev=1, text="Before the relay.", t0=0.0, t1=1.0)

    async def main() -> None:
        sync = RelaySync(doc, tokens, create=creation(doc), client="agent")
        async with anyio.create_task_group() as tg:
            tg.start_soon(sync.run)
            await anyio.sleep(1.5)
            assert sync.connects == 0 and sync.stopped is None
            await anyio.to_thread.run_sync(relay.start)
            with anyio.fail_after(30):
                await sync.wait_acked()
            tg.cancel_scope.cancel()

    anyio.run(main)
    text = relay_text(relay, relay.login("ana")["access_token"], "begun-offline")
    assert text is not None and "Before the relay." in text


def test_the_systemd_user_unit_runs_sync_watch(tmp_path: Path, env: dict[str, str]) -> None:
    CredentialStore(Path(env["MINUTA_CONFIG_DIR"]) / "credentials.json").put(
        Tokens("http://127.0.0.1:9", "ana", "a", "r")
    )
    run = minuta("sync", "--systemd-unit", "--storage-dir", str(tmp_path / "t s"), env=env)
    assert run.returncode == 0, run.stderr
    exec_start = next(x for x in run.stdout.splitlines() if x.startswith("ExecStart="))
    assert exec_start == (
        f"ExecStart={MINUTA} sync --watch --relay http://127.0.0.1:9 "
        f"--storage-dir '{tmp_path / 't s'}'"
    )
    unit = tmp_path / "minuta-sync.service"
    unit.write_text(run.stdout)
    if shutil.which("systemd-analyze"):  # where systemd is, it reads the unit as written
        verify = subprocess.run(
            ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
        )
        assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr

"""``--upload-audio`` against a real relay: the kept audio goes up as Ogg/Opus after the
session, resumes where an interrupted upload stopped, sends nothing twice, and waits for
a relay that is down (``minuta sync`` time)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import anyio
import av
import httpx
import numpy as np
import pytest
from _relay import MINUTA, RelayProcess, agent_env, restartable_relay

from agent.audio import SAMPLE_RATE, read_file
from agent.audio_keep import KEY_ENV, AudioKeeper, load_key
from agent.audio_upload import (
    ENCODED,
    MARKER,
    pending_uploads,
    prepare_upload,
    read_marker,
    upload_all_pending,
    upload_pending,
)
from agent.credentials import CredentialStore, Tokens
from agent.store import LocalStore
from engine import TranscriptDoc

JFK = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio" / "jfk.flac"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = agent_env(tmp_path)
    # This process reads the agent's key and tokens too.
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "config" / "audio.key"))
    monkeypatch.setenv("MINUTA_CONFIG_DIR", env["MINUTA_CONFIG_DIR"])
    return {**env, KEY_ENV: str(tmp_path / "config" / "audio.key")}


@pytest.fixture
def relay(tmp_path: Path, env: dict[str, str]) -> Iterator[RelayProcess]:
    with restartable_relay(tmp_path, env) as server:
        yield server


def minuta(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MINUTA), *map(str, args)], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def tokens_of(env: dict[str, str], relay: RelayProcess) -> Tokens:
    tokens = CredentialStore(Path(env["MINUTA_CONFIG_DIR"]) / "credentials.json").get(relay.url)
    assert tokens is not None
    return tokens


def relay_audio(relay: RelayProcess, user: str, transcript_id: str) -> httpx.Response:
    token = relay.login(user)["access_token"]
    return httpx.get(
        f"{relay.url}/transcripts/{transcript_id}/audio",
        headers={"Authorization": f"Bearer {token}"},
    )


def upload_state(relay: RelayProcess, transcript_id: str) -> dict[str, object]:
    token = relay.login("ana")["access_token"]
    response = httpx.get(
        f"{relay.url}/transcripts/{transcript_id}/audio/upload",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def opus_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        assert container.format.name == "ogg" and stream.codec_context.name == "opus"
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


def test_transcribe_upload_audio_puts_opus_on_the_relay_once(
    tmp_path: Path, env: dict[str, str], relay: RelayProcess
) -> None:
    assert minuta("login", relay.url, env=env).returncode == 0
    command = (
        "transcribe", JFK, "--model", "tiny.en", "--relay", relay.url, "--upload-audio",
        "--id", "jfk-up", "--out", tmp_path / "out",
    )  # fmt: skip
    run = minuta(*command, env=env)
    assert run.returncode == 0, run.stderr
    assert f"Uploaded the audio to {relay.url}." in run.stdout, run.stdout + run.stderr

    response = relay_audio(relay, "ana", "jfk-up")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("audio/ogg")
    assert abs(opus_seconds(response.content) - 11.0) < 0.05
    folder = Path(env["MINUTA_AGENT_DIR"]) / "jfk-up"
    marker = read_marker(folder.parent, "jfk-up")
    assert marker is not None and marker["complete"] is True
    assert marker["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert not (folder / ENCODED).exists()  # the kept audio stays; the upload copy goes
    assert pending_uploads(folder.parent) == []
    token = relay.login("ana")["access_token"]
    meta = httpx.get(
        f"{relay.url}/transcripts/jfk-up", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert meta["audio"] is True
    assert relay_audio(relay, "zed", "jfk-up").status_code == 404  # another organization

    again = minuta(*command, env=env)
    assert again.returncode == 0, again.stderr
    assert f"The audio is on {relay.url} already." in again.stdout
    assert relay_audio(relay, "ana", "jfk-up").content == response.content


def kept_transcript(storage: Path, transcript_id: str, seconds: float) -> np.ndarray:
    """A local transcript with ``seconds`` of JFK kept (looped)."""
    jfk = np.concatenate(list(read_file(JFK)))
    pcm = np.resize(jfk, round(seconds * SAMPLE_RATE))
    with LocalStore(storage, transcript_id) as store:
        store.open_doc(lambda: TranscriptDoc.create(transcript_id, title="Kept"))
    with AudioKeeper(storage / transcript_id, transcript_id, load_key(create=True)) as keeper:
        keeper.append(pcm)
    return pcm


def test_an_interrupted_upload_resumes_where_the_relay_stopped(
    env: dict[str, str], relay: RelayProcess
) -> None:
    storage = Path(env["MINUTA_AGENT_DIR"])
    kept_transcript(storage, "long-up", 60.0)
    assert minuta("login", relay.url, env=env).returncode == 0
    relay.create_transcript(relay.login("ana")["access_token"], transcript_id="long-up")
    prepare_upload(storage, "long-up", relay.url, load_key())
    marker = read_marker(storage, "long-up")
    assert marker is not None and marker["size"] > 5 * 16384
    size = int(marker["size"])

    tokens = tokens_of(env, relay)
    first = anyio.run(
        partial(upload_pending, storage, "long-up", tokens, chunk_bytes=16384, max_chunks=3)
    )
    assert (first.state, first.sent) == ("pending", 3 * 16384), first
    assert upload_state(relay, "long-up") == {
        "received": 3 * 16384, "size": size, "sha256": marker["sha256"], "complete": False,
    }  # fmt: skip
    assert pending_uploads(storage) == ["long-up"]
    assert relay_audio(relay, "ana", "long-up").status_code == 404  # not complete yet

    sealed = (storage / "long-up" / ENCODED).read_bytes()
    rest = anyio.run(partial(upload_pending, storage, "long-up", tokens, chunk_bytes=16384))
    assert (rest.state, rest.sent) == ("complete", size - 3 * 16384), rest
    stored = relay_audio(relay, "ana", "long-up").content
    assert hashlib.sha256(stored).hexdigest() == marker["sha256"]
    assert abs(opus_seconds(stored) - 60.0) < 0.05
    assert anyio.run(upload_pending, storage, "long-up", tokens).state == "none"

    # The answer to the last PUT lost (the marker still says pending): the agent asks
    # the relay, which holds it all, and sends nothing.
    (storage / "long-up" / ENCODED).write_bytes(sealed)
    (storage / "long-up" / MARKER).write_text(json.dumps(marker))
    again = anyio.run(upload_pending, storage, "long-up", tokens)
    assert (again.state, again.sent) == ("complete", 0), again
    assert relay_audio(relay, "ana", "long-up").content == stored


def test_with_the_relay_down_the_upload_waits_for_minuta_sync(
    tmp_path: Path, env: dict[str, str], relay: RelayProcess
) -> None:
    assert minuta("login", relay.url, env=env).returncode == 0
    relay.stop()
    run = minuta(
        "transcribe", JFK, "--model", "tiny.en", "--relay", relay.url, "--upload-audio",
        "--id", "jfk-later", "--out", tmp_path / "out", env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "`minuta sync` uploads it" in run.stderr, run.stderr
    storage = Path(env["MINUTA_AGENT_DIR"])
    assert pending_uploads(storage) == ["jfk-later"]
    sealed = (storage / "jfk-later" / ENCODED).read_bytes()
    pcm = np.concatenate(list(read_file(JFK))).tobytes()
    assert pcm[4000:4064] not in sealed  # the copy waiting for upload is encrypted too

    relay.start()
    synced = minuta("sync", "--relay", relay.url, env=env)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    # `minuta sync` finishes pending uploads; until it calls upload_all_pending, this
    # test makes the call it makes.
    if pending_uploads(storage):
        credentials = CredentialStore(Path(env["MINUTA_CONFIG_DIR"]) / "credentials.json")
        results = anyio.run(upload_all_pending, storage, relay.url, credentials)
        assert results["jfk-later"].state == "complete", results
    assert pending_uploads(storage) == []
    assert abs(opus_seconds(relay_audio(relay, "ana", "jfk-later").content) - 11.0) < 0.05


def test_viewers_cannot_upload_and_the_audio_goes_only_to_its_relay(
    env: dict[str, str], relay: RelayProcess
) -> None:
    storage = Path(env["MINUTA_AGENT_DIR"])
    kept_transcript(storage, "viewed", 3.0)
    relay.create_transcript(relay.login("ana")["access_token"], transcript_id="viewed")
    prepare_upload(storage, "viewed", relay.url, load_key())
    vi = relay.login("vi")
    viewer = Tokens(relay.url, "vi", vi["access_token"], vi["refresh_token"])
    refused = anyio.run(upload_pending, storage, "viewed", viewer)
    assert refused.state == "refused" and "403" in refused.reason, refused
    elsewhere = Tokens("http://127.0.0.1:9", "ana", "a", "r")
    assert anyio.run(upload_pending, storage, "viewed", elsewhere).state == "none"
    assert pending_uploads(storage) == ["viewed"]

"""No audio leaves the process: the whole pipeline runs under an audit hook that records
every socket operation and every file opened for writing."""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

from agent.asr import AsrOptions, IncrementalTranscriber
from agent.audio import read_file
from agent.audio_keep import AUDIO_FILE, KEY_ENV, load_key, read_kept
from agent.cli._run import RunOptions
from agent.cli.transcribe import transcribe_file
from agent.session import StreamOptions, TranscriptionSession
from agent.store import LocalStore
from engine import TranscriptDoc

JFK = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio" / "jfk.flac"


class Recorder:
    """Audit events while ``active``. Hooks cannot be removed, so this one just goes quiet."""

    active = False
    sockets: list[tuple[str, tuple[Any, ...]]] = []  # noqa: RUF012 (one recorder per process)
    writes: list[str] = []  # noqa: RUF012

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if not cls.active:
            return
        if event == "socket.__new__":
            # The event loop's own wake-up socketpair is AF_UNIX; only IP sockets can leave.
            if args[1] in (socket.AF_INET, socket.AF_INET6):
                cls.sockets.append((event, args))
        elif event.startswith("socket."):  # connect, sendto, bind, getaddrinfo…
            cls.sockets.append((event, args))
        elif event == "open" and isinstance(args[0], int):
            pass  # a file descriptor opened already (os.fdopen): its open was recorded
        elif event == "open" and len(args) > 1 and isinstance(args[1], str):
            if any(flag in args[1] for flag in "wax+"):
                cls.writes.append(str(args[0]))
        elif event == "open" and len(args) > 2 and isinstance(args[2], int):
            if args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC):
                cls.writes.append(str(args[0]))  # os.open(path, flags)
        elif event in ("os.rename", "os.link"):  # a file moved or linked into place
            cls.writes.append(str(args[1]))
        elif event == "sqlite3.connect":
            cls.writes.append(str(args[0]))


sys.addaudithook(Recorder.hook)


def test_transcribing_touches_no_network_and_writes_only_the_store(tmp_path: Path) -> None:
    pcm = np.concatenate(list(read_file(JFK)))
    asr = IncrementalTranscriber(AsrOptions(model="tiny.en"))

    async def chunks() -> AsyncIterator[np.ndarray]:
        for i in range(0, len(pcm), 1600):
            yield pcm[i : i + 1600]

    Recorder.active = True
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()  # the hook does see sockets
    assert Recorder.sockets and Recorder.sockets[0][0] == "socket.__new__"
    Recorder.sockets.clear()
    try:
        with LocalStore(tmp_path / "store", "private-1") as store:
            doc = store.open_doc(lambda: TranscriptDoc.create("private-1"))
            session = TranscriptionSession(doc, asr, options=StreamOptions(partial_interval_s=1.0))
            anyio.run(session.run, chunks())
    finally:
        Recorder.active = False

    assert (
        "ask not what your country"
        in " ".join(s["text"] for s in doc.snapshot()["segments"]).lower()
    )
    assert Recorder.sockets == [], Recorder.sockets
    store_dir = (tmp_path / "store" / "private-1").resolve()
    assert Recorder.writes, "the audit hook saw nothing: the test is not watching"
    for path in Recorder.writes:
        assert Path(path).resolve().parent == store_dir, path
    assert doc.snapshot()["meta"]["upload_audio"] is False


def transcribe_watched(tmp_path: Path, *, keep_audio: bool = False) -> tuple[Path, Path]:
    """``minuta transcribe`` (in this process) under the recorder; the store folder and
    the key file."""
    store = tmp_path / "store"
    run = RunOptions(model="tiny.en", storage_dir=store, keep_audio=keep_audio)
    Recorder.sockets.clear()
    Recorder.writes.clear()
    Recorder.active = True
    try:
        transcribe_file(run, JFK, tmp_path / "out", transcript_id="private-2", title="JFK")
    finally:
        Recorder.active = False
    return store / "private-2", Path(os.environ[KEY_ENV])


def test_without_the_flags_no_audio_and_no_key_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "config" / "audio.key"))
    folder, key_file = transcribe_watched(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["doc.sqlite"]
    assert not key_file.exists()
    assert Recorder.sockets == [], Recorder.sockets
    for path in Recorder.writes:  # the doc, and the text exports asked for
        assert Path(path).resolve().parent in (folder.resolve(), (tmp_path / "out").resolve())


def test_keep_audio_only_sends_nothing_and_writes_only_the_store_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "config" / "audio.key"))
    folder, key_file = transcribe_watched(tmp_path, keep_audio=True)

    assert Recorder.sockets == [], Recorder.sockets
    kept = (folder / AUDIO_FILE).resolve()
    assert str(kept) in {str(Path(p).resolve()) for p in Recorder.writes}, "not watching"
    for path in map(Path, Recorder.writes):
        resolved = path.resolve()
        if resolved.parent == (tmp_path / "out").resolve():
            # The text exports (written through a temporary file beside each), not audio.
            assert re.match(r"^\.?session\.(md|srt|vtt|json)(\.\w+)?$", path.name), path
            continue
        # The key, made through a temporary file beside it (then linked into place).
        beside_key = resolved.parent == key_file.parent.resolve() and "audio.key" in path.name
        assert resolved.parent == folder.resolve() or beside_key, path

    # What is on disk is not the audio: no 64-byte stretch of the PCM is in the file.
    pcm = np.concatenate(list(read_file(JFK)))
    raw = kept.read_bytes()
    data = pcm.tobytes()
    for at in range(0, len(data) - 64, 4096):
        assert data[at : at + 64] not in raw, at
    assert np.array_equal(read_kept(folder.parent, "private-2", load_key()), pcm)
    assert not any(key_file.read_bytes() in p.read_bytes() for p in folder.iterdir())

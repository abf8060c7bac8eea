"""No audio leaves the process: the whole pipeline runs under an audit hook that records
every socket operation and every file opened for writing."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np

from agent.asr import AsrOptions, IncrementalTranscriber
from agent.audio import read_file
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
        elif event == "open" and len(args) > 1 and isinstance(args[1], str):
            if any(flag in args[1] for flag in "wax+"):
                cls.writes.append(str(args[0]))
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

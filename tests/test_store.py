"""The agent's durable local store (``agent.store.LocalStore``): an SQLite log of Yjs updates.

What is checked: a round trip through a fresh store, durability when the writer is killed
with SIGKILL (no ``close()``), compaction of long logs, a full disk, refused ids and
unusable folders, and that a real transcription leaves no audio anywhere it writes.
"""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent.audio import read_file
from agent.store import COMPACT_ABOVE, LocalStore, StoreError
from engine import Origin, TranscriptDoc

MINUTA = Path(sys.executable).parent / "minuta"
AUDIO_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio"
PROJECT = Path(__file__).resolve().parents[1]

# The files SQLite may keep for one transcript: the database and its WAL companions.
SQLITE_FILES = {"doc.sqlite", "doc.sqlite-wal", "doc.sqlite-shm", "doc.sqlite-journal"}


def _create(transcript_id: str) -> TranscriptDoc:
    return TranscriptDoc.create(
        transcript_id, title="Weekly", language="en", started_at="2026-03-01T10:00:00+00:00"
    )


def _never_create() -> TranscriptDoc:
    raise AssertionError("open_doc called create() for a store that already holds a doc")


def _rows_on_disk(path: Path) -> int:
    """How many updates another connection (read-only) sees committed in ``path``."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM updates").fetchone()[0])
    finally:
        db.close()


def _flatten(exc: BaseException) -> Iterator[BaseException]:
    yield exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _flatten(inner)


def _write_segments(doc: TranscriptDoc, count: int, *, start: int = 0) -> None:
    for i in range(start, start + count):
        doc.upsert_segment(
            f"seg-{i:05d}",
            rev=1,
            text=f"Segment number {i}.",
            t0=float(i),
            t1=i + 0.8,
            final=True,
            words=[["Segment", float(i), i + 0.3, 0.9]],
            lang="en",
        )


# --------------------------------------------------------------------------- round trip


def test_round_trip_sees_segments_and_human_edits(tmp_path: Path) -> None:
    with LocalStore(tmp_path, "weekly-1") as store:
        assert store.path == tmp_path / "weekly-1" / "doc.sqlite"
        doc = store.open_doc(lambda: _create("weekly-1"))
        assert store.count() == 1  # the created doc is saved as the first entry
        assert _rows_on_disk(store.path) == 1

        # Every write is committed before it returns: another connection sees it at once.
        doc.upsert_segment("seg-00001", rev=1, text="Hello.", t0=0.0, t1=1.0, final=False)
        assert _rows_on_disk(store.path) == 2
        doc.upsert_segment("seg-00001", rev=2, text="Hello there.", t0=0.0, t1=1.2, final=True)
        assert _rows_on_disk(store.path) == 3
        doc.upsert_segment("seg-00002", rev=1, text="I'll send the draft.", t0=1.5, t1=3.0)
        doc.finalize_segment("seg-00002")
        doc.set_text("seg-00002", "I'll send the draft by Friday.", user="ana")
        doc.rename_speaker("S1", "Ana")
        # A stale revision changes nothing, so it writes nothing.
        assert not doc.upsert_segment("seg-00001", rev=1, text="stale", t0=0.0, t1=1.0)
        written = store.count()
        assert _rows_on_disk(store.path) == written
        expected = doc.snapshot()

    with LocalStore(tmp_path, "weekly-1") as again:
        reopened = again.open_doc(_never_create)
        assert again.count() == written
        snap = reopened.snapshot()
    assert snap == expected
    texts = {s["segment_id"]: (s["text"], s["source"], s["final"]) for s in snap["segments"]}
    assert texts == {
        "seg-00001": ("Hello there.", "asr", True),
        "seg-00002": ("I'll send the draft by Friday.", "human", True),
    }
    seg2 = next(s for s in snap["segments"] if s["segment_id"] == "seg-00002")
    assert seg2["edited_by"] == "ana"
    assert seg2["asr_text"] == "I'll send the draft."
    assert snap["meta"]["transcript_id"] == "weekly-1"
    assert snap["meta"]["title"] == "Weekly"


def test_reopened_doc_keeps_logging(tmp_path: Path) -> None:
    with LocalStore(tmp_path, "t-2") as store:
        _write_segments(store.open_doc(lambda: _create("t-2")), 2)
    with LocalStore(tmp_path, "t-2") as store:
        doc = store.open_doc(_never_create)
        _write_segments(doc, 1, start=2)
        doc.set_text("seg-00000", "Corrected.", user="bo")
    with LocalStore(tmp_path, "t-2") as store:
        snap = store.open_doc(_never_create).snapshot()
    assert [s["segment_id"] for s in snap["segments"]] == ["seg-00000", "seg-00001", "seg-00002"]
    assert snap["segments"][0]["text"] == "Corrected."


def test_changes_from_other_replicas_are_saved_too(tmp_path: Path) -> None:
    """An update merged from the relay is logged like a local write."""
    remote = TranscriptDoc.from_update(_create("t-3").encode_update())
    with LocalStore(tmp_path, "t-3") as store:
        doc = store.open_doc(lambda: _create("t-3"))
        remote.apply_update(doc.encode_update(remote.state_vector()))
        remote.upsert_segment("seg-9", rev=1, text="From the web.", t0=2.0, t1=3.0)
        doc.apply_update(remote.encode_update(doc.state_vector()), origin=Origin.RELAY)
        expected = doc.snapshot()
    with LocalStore(tmp_path, "t-3") as store:
        assert store.open_doc(_never_create).snapshot() == expected


# --------------------------------------------------------------------------- kill -9

_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from agent.store import LocalStore
    from engine import TranscriptDoc

    store = LocalStore(Path(sys.argv[1]), "crash-1")
    doc = store.open_doc(lambda: TranscriptDoc.create("crash-1", title="Crash"))
    for i in range(1_000_000):
        doc.upsert_segment(
            f"seg-{i:07d}", rev=1, text=f"segment {i}", t0=float(i), t1=i + 0.5, final=True
        )
        print(i, flush=True)  # only once upsert_segment has returned
    """
)


def test_every_reported_write_survives_sigkill(tmp_path: Path) -> None:
    """A writer killed with SIGKILL (no close(), no checkpoint) loses nothing it finished."""
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=PROJECT,
    )
    assert child.stdout is not None
    reported: list[int] = []
    buffer = b""
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(child.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 120
            while len(reported) < 300 and time.monotonic() < deadline:
                if not sel.select(timeout=1.0):
                    continue
                chunk = os.read(child.stdout.fileno(), 65536)
                if not chunk:
                    break  # the writer died on its own
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                reported += [int(line) for line in lines]
        assert len(reported) >= 300, child.stderr.read().decode() if child.stderr else ""
        assert child.poll() is None, "the writer ended before it could be killed"
        child.send_signal(signal.SIGKILL)
        rest, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == -signal.SIGKILL, err.decode()
    # What the child printed before it died is still in the pipe.
    buffer += rest
    reported += [int(line) for line in buffer.split(b"\n")[:-1]]
    assert reported == list(range(len(reported)))

    with LocalStore(tmp_path, "crash-1") as store:
        snap = store.open_doc(_never_create).snapshot()
    stored = {s["segment_id"]: s["text"] for s in snap["segments"]}
    for i in reported:
        assert stored.get(f"seg-{i:07d}") == f"segment {i}"
    # At most one write finished after its number could be printed.
    assert len(reported) <= len(stored) <= len(reported) + 1
    assert snap["meta"]["title"] == "Crash"


# --------------------------------------------------------------------------- compaction


def test_long_log_is_compacted_on_open(tmp_path: Path) -> None:
    with LocalStore(tmp_path, "long-log") as store:
        doc = store.open_doc(lambda: _create("long-log"))
        _write_segments(doc, COMPACT_ABOVE)
        doc.set_text("seg-00007", "A person's fix.", user="ana")
        assert store.count() > COMPACT_ABOVE
        expected = doc.snapshot()

    with LocalStore(tmp_path, "long-log") as store:
        compacted = store.open_doc(_never_create)
        assert store.count() == 1
        assert compacted.snapshot() == expected
        # Writes after a compaction are logged after the merged row.
        compacted.upsert_segment("seg-extra", rev=1, text="After.", t0=5000.0, t1=5001.0)
        assert store.count() == 2
        expected = compacted.snapshot()

    with LocalStore(tmp_path, "long-log") as store:
        assert store.open_doc(_never_create).snapshot() == expected
        assert store.count() == 2
    with LocalStore(tmp_path, "long-log") as store:
        assert store.open_doc(_never_create).snapshot() == expected


def test_short_log_is_not_compacted(tmp_path: Path) -> None:
    with LocalStore(tmp_path, "short-log") as store:
        _write_segments(store.open_doc(lambda: _create("short-log")), 10)
        written = store.count()
    with LocalStore(tmp_path, "short-log") as store:
        store.open_doc(_never_create)
        assert store.count() == written == 11


# --------------------------------------------------------------------------- failures


def test_full_disk_surfaces_a_store_error_and_keeps_earlier_data(tmp_path: Path) -> None:
    with LocalStore(tmp_path, "full") as store:
        doc = store.open_doc(lambda: _create("full"))
        _write_segments(doc, 3)
        saved = doc.snapshot()
        db: sqlite3.Connection = store._db
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
        db.execute(f"PRAGMA max_page_count = {pages}")  # the "disk" is now full
        # pycrdt wraps an observer's exception in an ExceptionGroup raised at the end of
        # the transaction; a bare StoreError would do as well.
        with pytest.raises((StoreError, ExceptionGroup)) as info:
            doc.upsert_segment("seg-big", rev=1, text="x" * 50_000, t0=10.0, t1=11.0)
        errors = [e for e in _flatten(info.value) if isinstance(e, StoreError)]
        assert errors, f"no StoreError in {info.value!r}"
        assert "cannot save" in str(errors[0])
        assert str(store.path) in str(errors[0])

    with LocalStore(tmp_path, "full") as store:
        assert store.open_doc(_never_create).snapshot() == saved


@pytest.mark.parametrize("transcript_id", ["a/b", "..", "../escape", ".", "/abs", "", "x" * 200])
def test_unsafe_transcript_ids_are_refused(tmp_path: Path, transcript_id: str) -> None:
    with pytest.raises(StoreError, match="cannot name a folder"):
        LocalStore(tmp_path / "store", transcript_id)
    assert not (tmp_path / "store").exists()
    assert not (tmp_path / "escape").exists()


def test_storage_dir_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file, not a folder")
    with pytest.raises(StoreError, match="cannot open the local transcript store"):
        LocalStore(blocker / "transcripts", "t-1")


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "t-1").mkdir()
    (tmp_path / "t-1" / "doc.sqlite").write_bytes(b"definitely not SQLite\n" * 300)
    with pytest.raises(StoreError, match="cannot open the local transcript store"):
        LocalStore(tmp_path, "t-1")


# --------------------------------------------------------------------------- privacy


def _cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MINUTA_AGENT_DIR": str(tmp_path / "agent-store"),
        "MINUTA_CACHE_DIR": str(tmp_path / "model-cache"),
        "PYTHONIOENCODING": "utf-8",
    }


def _all_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def test_transcribing_stores_no_audio(tmp_path: Path) -> None:
    audio = AUDIO_DIR / "jfk.flac"
    storage, out, cwd = tmp_path / "agent-store", tmp_path / "out", tmp_path / "cwd"
    cwd.mkdir()
    result = subprocess.run(
        [str(MINUTA), "transcribe", str(audio), "--model", "tiny.en", "--out", str(out)],
        capture_output=True,
        cwd=cwd,
        env=_cli_env(tmp_path),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()

    stored = _all_files(storage)
    assert stored, "the transcript was not kept in the local store"
    assert {p.name for p in stored} <= SQLITE_FILES
    assert list(cwd.iterdir()) == []
    written = stored + _all_files(out)

    pcm = np.concatenate(list(read_file(audio))).tobytes()
    assert len(pcm) == pytest.approx(11 * 32_000, rel=0.02)
    total = sum(p.stat().st_size for p in written)
    assert total < len(pcm) / 10, f"{total} bytes written for {len(pcm)} bytes of PCM"

    # Any 4 KiB window of the PCM contains a whole 2 KiB-aligned block: looking for every
    # aligned 2 KiB block finds every 4 KiB window (and more).
    block = 2048
    blocks = [pcm[i : i + block] for i in range(0, len(pcm) - block + 1, block)]
    blocks = [b for b in blocks if b.count(0) < block]  # digital silence proves nothing
    assert len(blocks) > 100
    for path in written:
        data = path.read_bytes()
        leaked = sum(1 for b in blocks if b in data)
        assert leaked == 0, f"{path} holds {leaked} blocks of the decoded audio"


# --------------------------------------------------------------------------- sync state


def test_two_writers_on_one_log_read_each_others_rows_and_count_what_is_acked(
    tmp_path: Path,
) -> None:
    """``minuta record`` and ``minuta sync --watch`` on one transcript: the syncing side
    reads the recorder's rows from the log (``tail``) without logging them again, and a
    row counts as acknowledged only once the doc that acknowledged it held it."""
    relay = "http://relay.example"
    with LocalStore(tmp_path, "t-1") as recorder, LocalStore(tmp_path, "t-1") as syncer:
        doc = recorder.open_doc(lambda: _create("t-1"))
        synced = syncer.open_doc(_never_create)
        assert syncer.pending_rows(relay) is None  # never sent
        syncer.set_acked(relay, synced.state_vector(), complete=True)
        assert syncer.pending_rows(relay) == 0

        doc.upsert_segment("seg-1", rev=1, text="Uno.", t0=0.0, t1=1.0)
        # The relay's own change reaches the syncer between the recorder's rows.
        synced.upsert_segment("seg-h", rev=1, text="Humano.", t0=9.0, t1=9.5)
        doc.upsert_segment("seg-2", rev=1, text="Dos.", t0=1.0, t1=2.0)
        assert syncer.pending_rows(relay) == 3
        # Acked before reading the gap: the recorder's rows are not in that doc yet.
        syncer.set_acked(relay, synced.state_vector(), complete=True)
        assert syncer.pending_rows(relay) == 3
        count = recorder.count()
        assert syncer.tail() == 2 and recorder.count() == count  # read, not logged again
        assert {s["segment_id"] for s in synced.snapshot()["segments"]} == {
            "seg-1", "seg-2", "seg-h",
        }  # fmt: skip
        syncer.set_acked(relay, synced.state_vector(), complete=True)
        assert syncer.pending_rows(relay) == 0
        # An ACK while changes are in flight does not move the mark back.
        syncer.set_acked(relay, synced.state_vector(), complete=False)
        assert syncer.pending_rows(relay) == 0


def test_a_compaction_keeps_a_fully_acked_log_acked(tmp_path: Path) -> None:
    relay = "http://relay.example"
    with LocalStore(tmp_path, "long") as store:
        doc = store.open_doc(lambda: _create("long"))
        _write_segments(doc, COMPACT_ABOVE)
        store.set_acked(relay, doc.state_vector(), complete=True)
    with LocalStore(tmp_path, "long") as store:
        store.open_doc(_never_create)
        assert store.count() == 1 and store.pending_rows(relay) == 0

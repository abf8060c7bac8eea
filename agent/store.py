"""The agent's durable copy of a transcript: an append-only log of Yjs updates in SQLite.

Layout: ``<storage_dir>/<transcript_id>/doc.sqlite``. Every change to the document is
committed to the log (WAL, ``synchronous=FULL``) from inside the doc's own observer, so
it is on disk before the transaction that made it returns, and before any sync provider
or exporter sees it. Reopening replays the log, so a crash (even ``kill -9``) loses
nothing that was written. Audio never goes here.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from pycrdt import Subscription, merge_updates

from engine import Origin, TranscriptDoc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    data BLOB NOT NULL,
    origin TEXT,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS acked (
    relay_url TEXT PRIMARY KEY,
    state BLOB NOT NULL,
    at REAL NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0
);
"""
# Replaying thousands of tiny updates is slower than one merged update; fold them on open.
COMPACT_ABOVE = 1000
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class StoreError(Exception):
    """The local log cannot be read or written (disk full, permissions…)."""


def default_storage_dir() -> Path:
    if env := os.environ.get("MINUTA_AGENT_DIR"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "minuta" / "transcripts"


def local_transcript_ids(storage_dir: Path) -> list[str]:
    """The transcripts kept under ``storage_dir``, by id."""
    try:
        folders = sorted(Path(storage_dir).iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot list {storage_dir}: {exc}") from None
    return [f.name for f in folders if _SAFE_ID.match(f.name) and (f / "doc.sqlite").is_file()]


class LocalStore:
    """One transcript's update log.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with LocalStore(root, "t-1") as store:
        ...     doc = store.open_doc(lambda: TranscriptDoc.create("t-1"))
        ...     _ = doc.upsert_segment("s", rev=1, text="hola", t0=0.0, t1=1.0)
        >>> with LocalStore(root, "t-1") as store:
        ...     store.open_doc(lambda: TranscriptDoc.create("t-1")).snapshot()["segments"][0]["text"]
        'hola'
    """

    def __init__(self, storage_dir: Path, transcript_id: str) -> None:
        if not _SAFE_ID.match(transcript_id):
            raise StoreError(f"transcript id {transcript_id!r} cannot name a folder")
        self.path = Path(storage_dir) / transcript_id / "doc.sqlite"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: each INSERT is its own durable transaction.
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(acked)")}
            if "seq" not in columns:  # a store from before `minuta sync`
                self._db.execute("ALTER TABLE acked ADD COLUMN seq INTEGER NOT NULL DEFAULT 0")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the local transcript store {self.path}: {exc}") from None
        self._subscription: Subscription | None = None
        self._doc: TranscriptDoc | None = None
        # Every row up to ``_through`` is in the doc. Another process (``minuta record``
        # and ``minuta sync --watch`` on one transcript) may append between our rows:
        # ours above it wait in ``_own`` until :meth:`tail` has read the gap.
        self._through = 0
        self._own: set[int] = set()
        self._tailing = False

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM updates").fetchone()[0])

    def open_doc(self, create: Callable[[], TranscriptDoc]) -> TranscriptDoc:
        """The stored doc, or ``create()`` saved as the first entry; then log every change."""
        found = list(self._db.execute("SELECT seq, data FROM updates ORDER BY seq"))
        rows = [bytes(r[1]) for r in found]
        if rows:
            doc = TranscriptDoc()
            for update in rows:
                doc.apply_update(update, origin=Origin.AGENT)
            self._through = int(found[-1][0])
            if len(rows) > COMPACT_ABOVE:
                self._compact(merge_updates(*rows))
        else:
            doc = create()
            self._append(doc.encode_update(), Origin.AGENT)
        self._subscription = doc.observe(self._on_update)
        self._doc = doc
        return doc

    def _on_update(self, update: bytes, origin: Origin | None) -> None:
        if not self._tailing:  # rows read back from the log are there already
            self._append(update, origin)

    def _append(self, update: bytes, origin: Origin | None) -> None:
        try:
            cursor = self._db.execute(
                "INSERT INTO updates (data, origin, at) VALUES (?, ?, ?)",
                (update, origin.value if origin else None, time.time()),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot save to {self.path}: {exc}") from None
        seq = int(cursor.lastrowid or 0)
        if seq == self._through + 1:
            self._through = seq
        else:
            self._own.add(seq)

    def tail(self) -> int:
        """Apply to the open doc what other processes appended since; how many rows."""
        assert self._doc is not None, "open_doc() first"
        try:
            rows = list(
                self._db.execute(
                    "SELECT seq, data FROM updates WHERE seq > ? ORDER BY seq", (self._through,)
                )
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from None
        applied = 0
        self._tailing = True
        try:
            for seq, data in rows:
                if int(seq) not in self._own:
                    self._doc.apply_update(bytes(data), origin=Origin.AGENT)
                    applied += 1
        finally:
            self._tailing = False
        if rows:
            self._through = int(rows[-1][0])
            self._own = {seq for seq in self._own if seq > self._through}
        return applied

    def set_acked(self, relay_url: str, state: bytes, *, complete: bool = False) -> None:
        """Record the relay's state vector from its last acknowledgement; ``complete``:
        the relay holds everything the open doc holds (so every row it has read)."""
        seq = self._through if complete else 0
        try:
            # MAX: another process on this log may have recorded a later row as acked.
            self._db.execute(
                "INSERT INTO acked (relay_url, state, at, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (relay_url) DO UPDATE SET state = excluded.state, "
                "at = excluded.at, seq = MAX(acked.seq, excluded.seq)",
                (relay_url, state, time.time(), seq),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot save to {self.path}: {exc}") from None

    def pending_rows(self, relay_url: str) -> int | None:
        """Rows of the log ``relay_url`` has not acknowledged; None: it never acknowledged
        any (never sent)."""
        try:
            row = self._db.execute(
                "SELECT seq FROM acked WHERE relay_url = ?", (relay_url,)
            ).fetchone()
            if row is None:
                return None
            return int(
                self._db.execute("SELECT COUNT(*) FROM updates WHERE seq > ?", row).fetchone()[0]
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from None

    def last_change(self) -> float | None:
        """When the last row was written (seconds since the epoch)."""
        row = self._db.execute("SELECT MAX(at) FROM updates").fetchone()
        return None if row[0] is None else float(row[0])

    def first_change(self) -> float | None:
        """When the first row still in the log was written (a compacted log's first row
        is as old as the compaction, so this errs on the young side)."""
        row = self._db.execute("SELECT MIN(at) FROM updates").fetchone()
        return None if row[0] is None else float(row[0])

    def merged(self) -> bytes:
        """The whole log as one update, without opening the doc for writing."""
        rows = [bytes(r[0]) for r in self._db.execute("SELECT data FROM updates ORDER BY seq")]
        return merge_updates(*rows) if rows else b""

    def acked(self, relay_url: str) -> bytes | None:
        row = self._db.execute(
            "SELECT state FROM acked WHERE relay_url = ?", (relay_url,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def _compact(self, merged: bytes) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            last = self._db.execute("SELECT MAX(seq) FROM updates").fetchone()[0]
            if last != self._through:  # another process appended: compact another time
                self._db.execute("ROLLBACK")
                return
            self._db.execute("DELETE FROM updates")
            cursor = self._db.execute(
                "INSERT INTO updates (data, origin, at) VALUES (?, ?, ?)",
                (merged, "compacted", time.time()),
            )
            merged_seq = int(cursor.lastrowid or 0)
            # A relay that had every row has the merged one.
            self._db.execute("UPDATE acked SET seq = ? WHERE seq = ?", (merged_seq, last))
            self._db.execute("COMMIT")
            self._through = merged_seq
        except sqlite3.Error:
            self._db.execute("ROLLBACK")  # the uncompacted log is still whole

    def close(self) -> None:
        if self._doc is not None and self._subscription is not None:
            self._doc.unobserve(self._subscription)
            self._subscription = None
        self._db.close()

"""The relay's durable update log, with group commit.

``await log.append(transcript_id, update)`` returns only once the update is committed, so
the relay can acknowledge it to the sender (persist before ack). Appends that arrive
within ``max_delay_s`` of each other share one transaction: one fsync for many updates,
which is what lifts throughput from a few hundred updates a second (one transaction
each, as pycrdt-store's SQLiteYStore does) to thousands.

A transcript's doc is the merge of its rows in ``seq`` order; :meth:`UpdateLog.compact`
folds a prefix of them into one merged update in the same transaction that deletes them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import cast

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from sqlalchemy import Connection, Engine, Table, delete, func, insert, select

from .db import DeletedTranscript, DocUpdate, Transcript, writer

_TABLE = cast(Table, DocUpdate.__table__)
_TRANSCRIPTS = cast(Table, Transcript.__table__)
_DELETED = cast(Table, DeletedTranscript.__table__)


class LogClosedError(Exception):
    """An append after the log was closed, or one its writer could not commit."""


class TranscriptGoneError(LogClosedError):
    """An append to a transcript that was deleted: refused, never stored."""


@dataclass(eq=False)
class Commit:
    """An append on its way to the database (see :meth:`UpdateLog.submit`)."""

    transcript_id: str
    data: bytes | None  # None: a barrier, done once everything before it is committed
    done: anyio.Event = field(default_factory=anyio.Event)
    seq: int | None = None
    error: BaseException | None = None

    async def wait(self) -> int | None:
        """The update's ``seq`` once committed (None for a barrier).

        Raises:
            LogClosedError: it could not be stored.
        """
        await self.done.wait()
        if self.error is not None:
            raise LogClosedError(f"the update was not stored: {self.error}") from self.error
        return self.seq


class UpdateLog:
    """Append and read Yjs updates, committed in groups.

    Example:
        >>> from relay.db import connect, upgrade
        >>> engine = connect("sqlite://")
        >>> _ = upgrade(engine)
        >>> async def main() -> list[bytes]:
        ...     async with UpdateLog(engine) as log:
        ...         await log.append("t-1", b"\\x00\\x00")
        ...         return await log.load("t-1")
        >>> anyio.run(main)
        [b'\\x00\\x00']
    """

    def __init__(
        self, engine: Engine, *, max_delay_s: float = 0.002, max_batch: int = 1000
    ) -> None:
        self.engine = engine
        self.max_delay_s = max_delay_s
        self.max_batch = max_batch
        self._send: MemoryObjectSendStream[Commit] | None = None
        self._task_group: TaskGroup | None = None
        self.commits = 0  # transactions written, for metrics
        self.appended = 0  # updates written
        self.backlog = 0  # appends waiting for their commit
        # Told of each stored update once committed (relay/peers.py sends it to the other
        # relays); it must not block.
        self.on_committed: Callable[[str, int, bytes], None] | None = None

    async def __aenter__(self) -> UpdateLog:
        send, receive = anyio.create_memory_object_stream[Commit](math.inf)
        self._send = send
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._writer, receive)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing the stream lets the writer commit what is queued, then stop: a clean
        # shutdown loses no appended update.
        if self._send is not None:
            await self._send.aclose()
            self._send = None
        if self._task_group is not None:
            await self._task_group.__aexit__(exc_type, exc, tb)
            self._task_group = None

    async def append(self, transcript_id: str, data: bytes) -> int:
        """Store ``data`` durably; returns its ``seq`` once committed."""
        seq = await self.submit(transcript_id, data).wait()
        assert seq is not None
        return seq

    def submit(self, transcript_id: str, data: bytes | None) -> Commit:
        """Queue ``data`` for the next commit without waiting for it.

        Commits complete in the order they were submitted, so a caller that submits
        one update after another can wait for the last one only. ``data=None`` is a
        barrier: done once everything submitted before it is committed.
        """
        if self._send is None:
            raise LogClosedError("the update log is closed")
        commit = Commit(transcript_id, data)
        self._send.send_nowait(commit)
        self.backlog += 1
        return commit

    async def _writer(self, receive: MemoryObjectReceiveStream[Commit]) -> None:
        async with receive:
            async for first in receive:
                batch = [first]
                # Gather what arrives in the next few milliseconds into the same commit.
                with anyio.move_on_after(self.max_delay_s):
                    while len(batch) < self.max_batch:
                        batch.append(await receive.receive())
                updates = [c for c in batch if c.data is not None]
                try:
                    if updates:
                        seqs = await anyio.to_thread.run_sync(self._commit, updates)
                except Exception as exc:  # disk full, database gone: tell every waiter
                    for commit in batch:
                        commit.error = exc
                else:
                    if updates:
                        for commit, seq in zip(updates, seqs, strict=True):
                            if seq is None:
                                commit.error = TranscriptGoneError(
                                    f"transcript {commit.transcript_id} was deleted"
                                )
                            commit.seq = seq
                            if seq is not None and commit.data and self.on_committed:
                                self.on_committed(commit.transcript_id, seq, commit.data)
                        self.commits += 1
                        self.appended += sum(seq is not None for seq in seqs)
                for commit in batch:
                    commit.done.set()
                self.backlog -= len(batch)

    def _commit(self, batch: Sequence[Commit]) -> list[int | None]:
        """Insert the batch in one transaction; None for an update to a deleted transcript."""
        now = datetime.now(UTC)
        with writer(self.engine).begin() as connection:
            gone = _deleted(connection, {c.transcript_id for c in batch})
            rows = [
                {"transcript_id": c.transcript_id, "data": c.data, "received_at": now}
                for c in batch
                if c.transcript_id not in gone
            ]
            stored: list[int] = []
            if rows:
                result = connection.execute(
                    insert(_TABLE).returning(_TABLE.c.seq, sort_by_parameter_order=True), rows
                )
                stored = [int(seq) for seq in result.scalars()]
            seqs = iter(stored)  # in the batch's order, the refused ones left out
            return [None if c.transcript_id in gone else next(seqs) for c in batch]

    async def load(self, transcript_id: str) -> list[bytes]:
        """Every stored update of a transcript, in order."""
        return await anyio.to_thread.run_sync(self._load, transcript_id)

    def _load(self, transcript_id: str) -> list[bytes]:
        query = (
            select(_TABLE.c.data)
            .where(_TABLE.c.transcript_id == transcript_id)
            .order_by(_TABLE.c.seq)
        )
        with self.engine.connect() as connection:
            return [bytes(data) for data in connection.execute(query).scalars()]

    async def rows(self, transcript_id: str) -> list[tuple[int, bytes]]:
        """Every stored update of a transcript with its ``seq``, in order."""

        def query() -> list[tuple[int, bytes]]:
            with self.engine.connect() as connection:
                result = connection.execute(
                    select(_TABLE.c.seq, _TABLE.c.data)
                    .where(_TABLE.c.transcript_id == transcript_id)
                    .order_by(_TABLE.c.seq)
                )
                return [(int(seq), bytes(data)) for seq, data in result]

        return await anyio.to_thread.run_sync(query)

    async def since(
        self, transcript_id: str, seq: int, received_after: datetime
    ) -> list[tuple[int, bytes]]:
        """Rows after ``seq``, or received after ``received_after`` (a row committed late
        can have a lower ``seq`` than one committed before it), in ``seq`` order."""

        def query() -> list[tuple[int, bytes]]:
            with self.engine.connect() as connection:
                result = connection.execute(
                    select(_TABLE.c.seq, _TABLE.c.data)
                    .where(
                        _TABLE.c.transcript_id == transcript_id,
                        (_TABLE.c.seq > seq) | (_TABLE.c.received_at > received_after),
                    )
                    .order_by(_TABLE.c.seq)
                )
                return [(int(s), bytes(data)) for s, data in result]

        return await anyio.to_thread.run_sync(query)

    async def crowded(self, min_rows: int) -> list[str]:
        """Transcripts with at least ``min_rows`` stored updates (worth compacting)."""

        def query() -> list[str]:
            with self.engine.connect() as connection:
                return list(
                    connection.execute(
                        select(_TABLE.c.transcript_id)
                        .group_by(_TABLE.c.transcript_id)
                        .having(func.count() >= min_rows)
                    ).scalars()
                )

        return await anyio.to_thread.run_sync(query)

    async def last_seq(self, transcript_id: str) -> int | None:
        def query() -> int | None:
            with self.engine.connect() as connection:
                return connection.execute(
                    select(_TABLE.c.seq)
                    .where(_TABLE.c.transcript_id == transcript_id)
                    .order_by(_TABLE.c.seq.desc())
                    .limit(1)
                ).scalar()

        return await anyio.to_thread.run_sync(query)

    async def compact(
        self, transcript_id: str, merged: bytes, up_to_seq: int, *, rows: int | None = None
    ) -> bool:
        """Replace rows up to ``up_to_seq`` by ``merged`` (their merge), atomically.

        The merged row takes ``up_to_seq``'s place in the order, so updates appended
        meanwhile still come after it. With ``rows`` (how many were merged), nothing
        changes unless exactly that many rows are still there: the transcript was not
        deleted, nor compacted by someone else, since they were read. Returns whether
        the rows were replaced.
        """

        def run() -> bool:
            where = (_TABLE.c.transcript_id == transcript_id, _TABLE.c.seq <= up_to_seq)
            with self.engine.begin() as connection:
                deleted = connection.execute(delete(_TABLE).where(*where)).rowcount
                if rows is not None and deleted != rows:
                    connection.rollback()
                    return False
                connection.execute(
                    insert(_TABLE).values(
                        seq=up_to_seq,
                        transcript_id=transcript_id,
                        data=merged,
                        received_at=datetime.now(UTC),
                    )
                )
                return True

        return await anyio.to_thread.run_sync(run)


def _deleted(connection: Connection, transcript_ids: set[str]) -> set[str]:
    """Which of ``transcript_ids`` were deleted, with their live rows locked until commit.

    The lock is what makes a delete final whatever is in flight: on PostgreSQL the delete
    takes the transcript's row ``FOR UPDATE``, so it waits for this commit and then
    deletes what it stored, or this waits for the delete and then sees its tombstone.
    SQLite serializes the two transactions anyway (both ``BEGIN IMMEDIATE``).
    """
    ids = sorted(transcript_ids)
    connection.execute(
        select(_TRANSCRIPTS.c.transcript_id)
        .where(_TRANSCRIPTS.c.transcript_id.in_(ids))
        .with_for_update(read=True)
    ).all()
    return set(
        connection.execute(
            select(_DELETED.c.transcript_id).where(_DELETED.c.transcript_id.in_(ids))
        ).scalars()
    )

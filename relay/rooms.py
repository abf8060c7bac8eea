"""Rooms: one in-memory doc per open transcript, shared by its connections.

A room is loaded from the stored updates (never from the SQL projection, which would
duplicate content) and applies each client update in this order:

1. parse the frame strictly (:mod:`relay.protocol`), and drop a viewer's writes;
2. check the update's structure (:mod:`relay.updatecheck`: yrs can take half a second
   to reject a crafted one, holding the GIL), then apply it to the room's doc;
3. submit it to the update log (group commit) and, once committed, send it to the others
   and acknowledge it to the sender with the doc's state vector as it was right after
   this update was applied.

So nothing is acknowledged, or shown to anyone else, before it is on disk. A connection's
frames are pipelined: ``accept`` applies an update and queues its commit, ``settle``
finishes it later, so one client is not held to one commit at a time, and several of its
updates committed together get one acknowledgement. If the commit
fails the room is closed and dropped: its doc may hold an update the log lacks, and the
next join reloads it from the log.

Awareness (presence) frames are relayed as they come, and the room remembers the latest
state of each client, as the reference y-websocket server does: a connection that joins
gets everyone's at once (not at their next renewal, up to 15 s later), and when a
connection leaves, the others are told that its clients are gone (not after their 30 s
timeout).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
import anyio.to_process
from pycrdt import Doc

from engine import TranscriptDoc

from . import protocol
from .compaction import squash
from .metrics import Metrics
from .protocol import GONE, Kind, Presence
from .updatecheck import InvalidUpdateError, check_state_vector, check_update
from .updates import Commit, LogClosedError, UpdateLog

# A room stored as this many updates or more (not compacted yet) is loaded through a
# worker process.
SQUASH_ROWS = 2000
# An update that changes nothing (the empty update yrs encodes).
EMPTY_UPDATE = b"\x00\x00"
# Presence a room remembers. A browser tab announces one client, and only states newer
# than the room's count as its own (the echoes of others' do not): these caps stop one
# connection from making the room hold, or replay to each newcomer, much more than that.
# Beyond them, states are still relayed, only not remembered.
MAX_OWNED_CLIENTS = 8  # per connection
MAX_REMEMBERED_STATE = 16 * 2**10  # bytes of JSON
MAX_REPLAY_BYTES = 2**20  # of states in the frame a newcomer gets
# Client IDs that left, with their last clock, so that a late echo does not bring them back.
MAX_GONE = 1024
# How long telling the others that a connection's clients are gone may take.
LEAVE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Accepted:
    """An update applied to a room's doc, waiting for its commit and acknowledgement."""

    commit: Commit
    data: bytes | None  # None: nothing new, only an acknowledgement is due
    state: bytes  # the doc's state vector right after it was applied
    arrived: float  # perf_counter() when its frame arrived


class RoomClosedError(Exception):
    """The room failed to store an update and was closed; reconnect to reload it."""


@dataclass(eq=False)
class Connection:
    """One client in a room: how to send it a frame, and what it may do."""

    send: Callable[[bytes], Awaitable[None]]
    username: str
    can_write: bool
    close: Callable[[int, str], Awaitable[None]] | None = None
    told_read_only: bool = field(default=False)
    agent: bool = False  # a recording agent (``?client=agent``): the transcript is live
    announced: bool = False  # it sent presence, so it renews it (see presence_silence_s)


@dataclass
class _Seen:
    """The latest awareness state of one client, and the connection that announced it."""

    owner: Connection
    clock: int
    state: bytes


class Room:
    """The live doc of one transcript and the connections editing it."""

    def __init__(
        self,
        transcript_id: str,
        log: UpdateLog,
        on_stored: Callable[[Room], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.transcript_id = transcript_id
        self.log = log
        self.on_stored = on_stored
        self.metrics = metrics or Metrics()
        self.doc: Doc = Doc()
        self.connections: set[Connection] = set()
        self.closed = False
        self._presence: dict[int, _Seen] = {}  # client ID -> its latest state
        self._gone: dict[int, int] = {}  # client ID -> the clock it left at
        # yrs reports a transaction only when it changed the doc: a re-sent update (a
        # client echoing what it received) is then acknowledged, not stored or relayed.
        self._changed = False
        self.doc.observe(self._on_change)

    def _on_change(self, _event: object) -> None:
        self._changed = True

    async def load(self) -> None:
        updates = await self.log.load(self.transcript_id)
        if len(updates) >= SQUASH_ROWS:
            # Decoding thousands of rows holds the GIL (140 ms for a 2-hour transcript):
            # squash them in a worker process, and apply one update here.
            updates = [await anyio.to_process.run_sync(squash, updates)]
        for data in updates:
            self.doc.apply_update(data)

    @property
    def live(self) -> bool:
        """Whether a recording agent is connected."""
        return any(connection.agent for connection in self.connections)

    async def join(self, connection: Connection) -> None:
        """Add a connection and start the sync: our step 1, so it sends what we lack;
        then the others' presence, so it sees who is here now."""
        self.connections.add(connection)
        await connection.send(protocol.sync_step1(self.doc.get_state()))
        known, size = [], 0
        for client_id, seen in self._presence.items():
            size += len(seen.state)
            if size > MAX_REPLAY_BYTES:
                break  # the rest show up at their next renewal
            known.append(Presence(client_id, seen.clock, seen.state))
        if known:
            await connection.send(protocol.awareness(protocol.encode_awareness(known)))

    async def leave(self, connection: Connection) -> None:
        """Remove a connection, and tell the others that its clients are gone: each at
        its clock with a null state, as y-protocols' ``removeAwarenessStates`` encodes a
        remote client's removal (a removal at the same clock wins over the state). A client
        that comes back announces itself at a newer clock (the web page does so on reconnect).

        Safe in a ``finally``: it does not raise, and it takes at most LEAVE_TIMEOUT_S,
        cancelled or not.
        """
        self.connections.discard(connection)
        gone = []
        for client_id, seen in list(self._presence.items()):
            if seen.owner is connection:
                gone.append(Presence(client_id, seen.clock, GONE))
                self._forget(client_id, seen.clock)
        if not gone or not self.connections:
            return
        frame = protocol.awareness(protocol.encode_awareness(gone))
        # At once, so one stuck peer does not hold the others' back.
        with anyio.CancelScope(shield=True), anyio.move_on_after(LEAVE_TIMEOUT_S):
            async with anyio.create_task_group() as tg:
                for other in list(self.connections):
                    tg.start_soon(self._send, other, frame)

    def _remember(self, connection: Connection, entries: Sequence[Presence]) -> None:
        """Keep the states that are news, by y-protocols' rule: a newer clock wins, and
        so does a removal at the same clock."""
        for entry in entries:
            seen = self._presence.get(entry.client_id)
            last = seen.clock if seen is not None else self._gone.get(entry.client_id, -1)
            removal_of_known = entry.state == GONE and seen is not None
            if entry.clock < last or (entry.clock == last and not removal_of_known):
                continue  # an echo, or older
            if entry.state == GONE:
                self._forget(entry.client_id, entry.clock)
            elif len(entry.state) <= MAX_REMEMBERED_STATE and (
                (seen is not None and seen.owner is connection)
                or sum(s.owner is connection for s in self._presence.values()) < MAX_OWNED_CLIENTS
            ):
                # Newer than the room's, so the sender's own (from a new connection: the
                # client reconnected, and its old connection leaving must not remove it).
                self._presence[entry.client_id] = _Seen(connection, entry.clock, entry.state)
                self._gone.pop(entry.client_id, None)

    def _forget(self, client_id: int, clock: int) -> None:
        self._presence.pop(client_id, None)
        self._gone.pop(client_id, None)
        self._gone[client_id] = clock  # the newest last, so the oldest goes first
        if len(self._gone) > MAX_GONE:
            del self._gone[next(iter(self._gone))]

    async def receive(self, connection: Connection, frame: bytes) -> None:
        """Handle one frame from ``connection``, up to its acknowledgement.

        Raises:
            ProtocolError: a malformed frame (the caller closes the connection).
            RoomClosedError: the update could not be stored.
        """
        accepted = await self.accept(connection, frame)
        if accepted is not None:
            await self.settle(connection, [accepted])

    async def accept(self, connection: Connection, frame: bytes) -> Accepted | None:
        """Take one frame: answer it, or apply its update and queue its commit.

        Returns what :meth:`settle` must finish (an update, or a request for an ack), or
        None. A connection may accept more frames before settling the earlier ones, as
        long as it settles them in order.

        Raises:
            ProtocolError: a malformed frame (the caller closes the connection).
            RoomClosedError: the room could not store an earlier update.
        """
        arrived = time.perf_counter()
        message = protocol.parse(frame)
        if message.kind == Kind.SYNC_STEP1:
            try:
                check_state_vector(message.payload)
            except InvalidUpdateError as exc:
                raise protocol.ProtocolError(f"not a valid state vector: {exc}") from None
            await connection.send(protocol.sync_step2(self.doc.get_update(message.payload)))
            return None
        if message.kind == Kind.AWARENESS:
            entries = protocol.parse_awareness(message.payload)
            connection.announced = True
            self._remember(connection, [e for e in entries if e.state != GONE])
            # To the sender too, as the reference server does: a browser alone in a room
            # hears something every 15 s, and y-websocket reconnects after 30 s of silence.
            await self._broadcast(protocol.awareness(message.payload), exclude=None)
            # A goodbye is taken only once relayed: a tab says it and closes at once, the
            # close cancels this handler, and if that cut the broadcast short, leave()
            # still holds the state and says the goodbye for it.
            self._remember(connection, [e for e in entries if e.state == GONE])
            return None
        if not connection.can_write:
            if not connection.told_read_only:  # once is enough
                connection.told_read_only = True
                await connection.send(protocol.notice("read-only: your changes are not kept"))
            return None
        return self._apply(message.payload, arrived)

    def _apply(self, data: bytes, arrived: float) -> Accepted:
        if self.closed:
            raise RoomClosedError("the room is closed")
        self._changed = False
        if data != EMPTY_UPDATE:
            try:
                check_update(data)
                self.doc.apply_update(data)
            except Exception as exc:  # ours, or yrs: ValueError or RuntimeError
                raise protocol.ProtocolError(f"not a valid update: {exc}") from None
        # The state right after this update: once its commit is done, so are the commits
        # of everything applied before it (they were submitted first), so an ack of this
        # state never covers an update that is not on disk.
        state = self.doc.get_state()
        try:
            if self._changed:
                return Accepted(self.log.submit(self.transcript_id, data), data, state, arrived)
            # Nothing new (an echo): acknowledge once what came before is committed.
            return Accepted(self.log.submit(self.transcript_id, None), None, state, arrived)
        except LogClosedError as exc:
            self.closed = True
            raise RoomClosedError(str(exc)) from exc

    async def settle(self, connection: Connection, accepted: Sequence[Accepted]) -> None:
        """Wait for the commits of ``accepted`` (in order), relay the updates to the other
        connections, and send ``connection`` one acknowledgement for all of them.

        Raises:
            RoomClosedError: an update could not be stored.
        """
        await self._relay_committed(connection, accepted)
        await connection.send(protocol.ack(accepted[-1].state))
        now = time.perf_counter()
        for item in accepted:
            self.metrics.ack_seconds.observe(now - item.arrived)

    async def forward(self, connection: Connection, accepted: Sequence[Accepted]) -> None:
        """Relay to the others the updates of a connection that is leaving before they
        were settled: they are stored all the same, and the others must see them (the
        agent's last segment, sent just before it disconnects). Nothing is acknowledged.
        Updates relayed twice are harmless (Yjs ignores what it has).

        Safe in a ``finally`` under a shielded scope; a commit that failed ends it.
        """
        with contextlib.suppress(RoomClosedError):
            await self._relay_committed(connection, accepted)

    async def _relay_committed(self, connection: Connection, accepted: Sequence[Accepted]) -> None:
        for item in accepted:
            try:
                await item.commit.wait()
            except LogClosedError as exc:
                self.closed = True
                raise RoomClosedError(str(exc)) from exc
            if item.data is not None:
                self.metrics.persist_seconds.observe(time.perf_counter() - item.arrived)
                self.metrics.stored()
                await self._broadcast(protocol.update(item.data), exclude=connection)
        if self.on_stored is not None and any(item.data is not None for item in accepted):
            self.on_stored(self)

    async def change(self, fn: Callable[[TranscriptDoc], None]) -> bool:
        """Change the doc here (a worker's write), then store it and send it to every
        connection, like a client's update. Returns whether anything changed.

        Raises:
            RoomClosedError: the change could not be stored.
        """
        if self.closed:
            raise RoomClosedError("the room is closed")
        state = self.doc.get_state()
        self._changed = False
        fn(TranscriptDoc(self.doc))
        if not self._changed:
            return False
        data = self.doc.get_update(state)
        try:
            await self.log.submit(self.transcript_id, data).wait()
        except LogClosedError as exc:
            self.closed = True
            raise RoomClosedError(str(exc)) from exc
        self.metrics.stored()
        await self._broadcast(protocol.update(data), exclude=None)
        return True

    async def _broadcast(self, frame: bytes, *, exclude: Connection | None) -> None:
        for other in list(self.connections):
            if other is not exclude:
                await self._send(other, frame)

    async def _send(self, connection: Connection, frame: bytes) -> None:
        try:
            await connection.send(frame)
        except Exception:  # a dead peer must not stop the others
            self.connections.discard(connection)


class Rooms:
    """The open rooms. Concurrent first joins of one transcript share one load."""

    def __init__(
        self,
        log: UpdateLog,
        on_stored: Callable[[Room], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.log = log
        self.on_stored = on_stored
        self.metrics = metrics or Metrics()
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, anyio.Lock] = {}

    def __len__(self) -> int:
        return len(self._rooms)

    def live(self, transcript_id: str) -> bool:
        """Whether a recording agent is connected to the transcript's room now."""
        room = self._rooms.get(transcript_id)
        return room is not None and room.live

    def get(self, transcript_id: str) -> Room | None:
        """The open room of a transcript, if any (no loading)."""
        room = self._rooms.get(transcript_id)
        return None if room is None or room.closed else room

    async def open(self, transcript_id: str) -> Room:
        room = self._rooms.get(transcript_id)
        if room is not None and not room.closed:
            return room
        lock = self._loading.setdefault(transcript_id, anyio.Lock())
        async with lock:
            room = self._rooms.get(transcript_id)
            if room is None or room.closed:
                # Updates of a room just unloaded may still be on their way to the
                # database: let them land before reading it.
                await self.log.submit(transcript_id, None).wait()
                room = Room(transcript_id, self.log, self.on_stored, self.metrics)
                await room.load()
                self._rooms[transcript_id] = room
                self.metrics.rooms.set(len(self._rooms))
        return room

    def close(self, transcript_id: str) -> list[Connection]:
        """Forget a room (its transcript was deleted); returns its connections to close."""
        room = self._rooms.pop(transcript_id, None)
        self.metrics.rooms.set(len(self._rooms))
        if room is None:
            return []
        room.closed = True
        return list(room.connections)

    def unload_if_idle(self, room: Room) -> None:
        """Unload a room nobody is connected to (one a worker opened to write into)."""
        if not room.connections and self._rooms.get(room.transcript_id) is room:
            del self._rooms[room.transcript_id]
            self.metrics.rooms.set(len(self._rooms))

    async def release(self, room: Room, connection: Connection) -> None:
        """Remove a connection; an empty room is unloaded (its updates are all stored).

        Safe in a ``finally``, like :meth:`Room.leave`.
        """
        await room.leave(connection)
        if not room.connections and self._rooms.get(room.transcript_id) is room:
            del self._rooms[room.transcript_id]
            self.metrics.rooms.set(len(self._rooms))

"""Rooms: one in-memory doc per open transcript, shared by its connections.

A room is loaded from the stored updates (never from the SQL projection, which would
duplicate content) and applies each client update in this order:

1. parse the frame strictly (:mod:`engine.protocol`), and drop a viewer's writes;
2. check the update's structure (:mod:`relay.updatecheck`: yrs can take half a second
   to reject a crafted one, holding the GIL), then apply it to the room's doc;
3. submit it to the update log (group commit) and, once committed, send it to the others
   and acknowledge it to the sender with the doc's state vector as it was right after
   this update was applied.

So nothing is acknowledged, or shown to anyone else, before it is on disk (an update
still waiting for one it depends on is stored too: the ack after that one covers it). A
connection's frames are pipelined: ``accept`` applies an update and queues its commit,
``settle`` finishes it later, so one client is not held to one commit at a time, and its
updates committed together get one acknowledgement. If a commit fails the room is closed
and dropped: its doc may hold an update the log lacks, and the next join reloads it.

Awareness (presence) frames are relayed as they come; the room remembers each client's
latest state, so a connection that joins gets everyone's at once, and when one leaves the
others are told its clients are gone. A connection may set or remove only its own user's
clients' states, of a few KiB at most (:mod:`relay.presence`).

Nothing here waits for a peer: a connection's ``send`` queues the frame
(:mod:`relay.fanout`), so one that does not read costs its room nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio
import anyio.to_process
from pycrdt import Doc

import engine.protocol as protocol
from engine import InvalidUpdateError, TranscriptDoc, check_state_vector, clock_ends, decode_state
from engine.protocol import GONE, Kind

from . import presence
from .compaction import squash
from .fanout import Connection as Connection  # re-exported: rooms are joined with it
from .metrics import Metrics
from .presence import MAX_OWNED_CLIENTS as MAX_OWNED_CLIENTS
from .presence import MAX_STATE_BYTES, Presences
from .syncanswer import SyncAnswers
from .updates import Commit, LogClosedError, UpdateLog

# A room stored as this many updates (not compacted yet) is loaded in a worker process.
SQUASH_ROWS = 2000
EMPTY_UPDATE = b"\x00\x00"  # an update that changes nothing (as yrs encodes it)
MAX_REMEMBERED_STATE = MAX_STATE_BYTES  # larger states are refused, with a notice
PRESENCE_CAP = f"presence is limited to {MAX_STATE_BYTES} bytes a client"
# The frames that write: a sync step 2 or an update.
_WRITES = (bytes([protocol.SYNC, Kind.SYNC_STEP2]), bytes([protocol.SYNC, Kind.UPDATE]))
LEAVE_TIMEOUT_S = 2.0  # how long telling the others a connection's clients left may take


@dataclass(frozen=True)
class Accepted:
    """An update applied to a room's doc, waiting for its commit and acknowledgement."""

    commit: Commit
    data: bytes | None  # None: nothing new, only an acknowledgement is due
    state: bytes  # the doc's state vector right after it was applied
    arrived: float  # perf_counter() when its frame arrived


class RoomClosedError(Exception):
    """The room failed to store an update and was closed; reconnect to reload it."""


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
        self._presence = Presences()
        # yrs reports a transaction only when it changed the doc: a re-sent update (a
        # client echoing what it received) is then acknowledged, not stored or relayed.
        self._changed = False
        self._version = 0  # of the doc: one more at each change
        self._answers = SyncAnswers(self.doc)
        self.doc.observe(self._on_change)
        self.on_presence: Callable[[str, bytes], None] | None = None  # to other relays

    def _on_change(self, _event: object) -> None:
        self._changed = True
        self._version += 1

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
        """Whether a recording agent is connected (an editor's: a viewer records nothing)."""
        return any(c.agent and c.can_write for c in self.connections)

    async def join(self, connection: Connection) -> None:
        """Add a connection and start the sync: our step 1, so it sends what we lack;
        then the others' presence, so it sees who is here now."""
        self.connections.add(connection)
        await connection.send(protocol.sync_step1(self.doc.get_state()))
        known = self._presence.replay()
        if known:
            await connection.send(protocol.awareness(protocol.encode_awareness(known)))

    async def leave(self, connection: Connection) -> None:
        """Remove a connection, and tell the others that its clients are gone. Safe in a
        ``finally``: it does not raise, and takes at most LEAVE_TIMEOUT_S, cancelled or not."""
        self.connections.discard(connection)
        gone = self._presence.release(connection)
        if not gone or not self.connections:
            return
        frame = protocol.awareness(protocol.encode_awareness(gone))
        # At once, so one stuck peer does not hold the others' back.
        with anyio.CancelScope(shield=True), anyio.move_on_after(LEAVE_TIMEOUT_S):
            async with anyio.create_task_group() as tg:
                for other in list(self.connections):
                    tg.start_soon(self._send, other, frame)

    async def receive(self, connection: Connection, frame: bytes) -> None:
        """Handle one frame from ``connection``, up to its acknowledgement (raises as
        :meth:`accept` and :meth:`settle` do)."""
        accepted = await self.accept(connection, frame)
        if accepted is not None:
            await self.settle(connection, [accepted])

    async def accept(self, connection: Connection, frame: bytes) -> Accepted | None:
        """Take one frame: answer it, or apply its update and queue its commit; returns
        what :meth:`settle` must finish (an update, or a request for an ack), or None.
        A connection may accept more frames before settling earlier ones, in order.

        Raises:
            ProtocolError: a malformed frame (the caller closes the connection).
            RoomClosedError: the room could not store an earlier update.
        """
        arrived = time.perf_counter()
        if frame[:1] == bytes([protocol.AWARENESS]) and len(frame) > presence.MAX_FRAME_BYTES:
            await self._tell_once(connection, PRESENCE_CAP)
            return None
        if not connection.can_write and frame[:2] in _WRITES:
            # Dropped before it is parsed: a viewer's flood costs no copy of its frames.
            await self._tell_once(connection, "read-only: your changes are not kept")
            return None
        message = protocol.parse(frame)
        if message.kind == Kind.SYNC_STEP1:
            try:
                check_state_vector(message.payload)
            except InvalidUpdateError as exc:
                raise protocol.ProtocolError(f"not a valid state vector: {exc}") from None
            answer = await self._answers.frames(message.payload, version=self._version)
            if connection.throttle is not None:
                # Its cost is the answer's (the whole doc, for a peer that has none of
                # it), not the frame's few bytes: a loop of these would stall the relay.
                connection.throttle.charge(sum(map(len, answer)))
            await connection.send_parts(answer)
            return None
        if message.kind == Kind.AWARENESS:
            await self._presence_frame(connection, message.payload)
            return None
        if not connection.can_write:
            await self._tell_once(connection, "read-only: your changes are not kept")
            return None
        return self._apply(message.payload, arrived)

    async def _presence_frame(self, connection: Connection, payload: bytes) -> None:
        entries = protocol.parse_awareness(payload, max_state_bytes=MAX_STATE_BYTES)
        if connection.throttle is not None and len(entries) > 1:
            # Each state is relayed to everyone: it costs what a frame does (a browser
            # sends one at a time).
            connection.throttle.charge_frames(len(entries) - 1)
        connection.announced = True
        allowed = self._presence.admit(connection, entries)
        if any(len(e.state) > MAX_STATE_BYTES for e in entries):
            await self._tell_once(connection, PRESENCE_CAP)
        if not allowed:
            return
        if len(allowed) < len(entries):
            payload = protocol.encode_awareness(allowed)
        self._presence.remember(connection, [e for e in allowed if e.state != GONE])
        # To the sender too, as the reference server does: a browser alone in a room
        # hears something every 15 s, and y-websocket reconnects after 30 s of silence.
        await self._broadcast(protocol.awareness(payload), exclude=None)
        if self.on_presence is not None:
            self.on_presence(self.transcript_id, payload)
        # A goodbye is taken only once relayed: a tab says it and closes at once, the
        # close cancels this handler, and if that cut the broadcast short, leave()
        # still holds the state and says the goodbye for it.
        self._presence.remember(connection, [e for e in allowed if e.state == GONE])

    async def _tell_once(self, connection: Connection, notice: str) -> None:
        if notice not in connection.told:
            connection.told.add(notice)
            await connection.send(protocol.notice(notice))

    def _apply(self, data: bytes, arrived: float) -> Accepted:
        if self.closed:
            raise RoomClosedError("the room is closed")
        self._changed = False
        ends: dict[int, int] = {}
        if data != EMPTY_UPDATE:
            try:
                ends = clock_ends(data)  # checks its structure, too
                self.doc.apply_update(data)
            except Exception as exc:  # ours, or yrs: ValueError or RuntimeError
                raise protocol.ProtocolError(f"not a valid update: {exc}") from None
        # The state right after this update: once its commit is done, so are the commits
        # of everything applied before it (they were submitted first), so an ack of this
        # state never covers an update that is not on disk.
        state = self.doc.get_state()
        # Part of it waits for an update it depends on (yrs applies it, unreported, once
        # that one comes, and the ack after that covers it): store it now.
        have = decode_state(state)
        waiting = any(end > have.get(client, 0) for client, end in ends.items())
        try:
            if self._changed or waiting:
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
        await connection.send(protocol.ack(accepted[-1].state, frames=len(accepted)))
        now = time.perf_counter()
        for item in accepted:
            self.metrics.ack_seconds.observe(now - item.arrived)

    async def forward(self, connection: Connection, accepted: Sequence[Accepted]) -> None:
        """Relay the updates of a connection that left before they were settled: they
        are stored all the same, and the others must see them (the agent's last segment).
        Nothing is acknowledged. Safe in a ``finally`` under a shielded scope."""
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

    async def merge(self, data: bytes) -> None:
        """An update another relay stored: applied here and sent to every connection."""
        self._changed = False
        self.doc.apply_update(data)
        if self._changed:
            await self._broadcast(protocol.update(data), exclude=None)

    async def relay_presence(self, payload: bytes) -> None:
        """Presence that another relay's connection sent: passed on, not remembered."""
        await self._broadcast(protocol.awareness(payload), exclude=None)

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
        self.on_presence: Callable[[str, bytes], None] | None = None

    def __len__(self) -> int:
        return len(self._rooms)

    def open_ids(self) -> list[str]:
        return [t for t, room in self._rooms.items() if not room.closed]

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
                room.on_presence = self.on_presence
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
        Safe in a ``finally``, like :meth:`Room.leave`."""
        await room.leave(connection)
        if not room.connections and self._rooms.get(room.transcript_id) is room:
            del self._rooms[room.transcript_id]
            self.metrics.rooms.set(len(self._rooms))

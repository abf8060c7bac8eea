"""Several relays as one service: each committed update crosses to the other relays
through Redis, and the update log heals whatever Redis lost.

Every relay stores what its own clients send in the shared PostgreSQL log before it
acknowledges or relays it, as a single relay does. Once committed, the update is
published on the transcript's Redis channel (``<prefix>:room:<transcript_id>``) with its
log position; a relay that has the room open applies it to its doc and sends it to its
own connections. Redis is the fast path only: pub/sub keeps nothing, so a relay whose
subscription dropped, or that was too slow, would miss updates. So every
``catch_up_s`` each relay also reads from the log, for each open room, the rows after
the highest position it has seen and those received in the last ``window_s`` seconds
(PostgreSQL hands out positions at insert, so a row can commit after a later one), and
merges those it has not seen. Yjs ignores what a doc already has, so an update that
arrives both ways is harmless. Presence frames cross the same way, best effort.

Example (a sketch; tests run three relays)::

    peers = Peers("redis://127.0.0.1:6379/0", rooms, log, prefix="acme")
    log.on_committed = peers.committed
    await peers.run()  # until cancelled
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import struct
import time
from datetime import UTC, datetime, timedelta

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .metrics import Metrics
from .rooms import Room, Rooms
from .updates import UpdateLog

log = logging.getLogger(__name__)

UPDATE, PRESENCE = b"U", b"A"
_HEAD = struct.Struct(">c8sq")  # kind, relay id, log position (0 for presence)
QUEUE = 4096  # updates waiting to be published; beyond, they go by the log only


class Peers:
    def __init__(
        self,
        url: str,
        rooms: Rooms,
        updates: UpdateLog,
        *,
        prefix: str = "minuta",
        catch_up_s: float = 1.0,
        window_s: float = 10.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.url, self.rooms, self.updates, self.prefix = url, rooms, updates, prefix
        self.catch_up_s, self.window_s = catch_up_s, window_s
        self.metrics = metrics or Metrics()
        self.relay_id = secrets.token_bytes(8)
        self._send: MemoryObjectSendStream[tuple[str, bytes]]
        self._receive: MemoryObjectReceiveStream[tuple[str, bytes]]
        self._send, self._receive = anyio.create_memory_object_stream[tuple[str, bytes]](QUEUE)
        # Per open room: the highest log position merged, and the positions merged lately.
        self._high: dict[str, int] = {}
        self._seen: dict[str, dict[int, float]] = {}
        self.published = self.received = self.healed = 0  # counts, for tests and benches

    def channel(self, transcript_id: str) -> str:
        return f"{self.prefix}:room:{transcript_id}"

    # ----------------------------------------------------------------- outgoing

    def committed(self, transcript_id: str, seq: int, data: bytes) -> None:
        """The update log's hook: a row of this relay's is on disk."""
        self._mark(transcript_id, seq)
        self._queue(transcript_id, _HEAD.pack(UPDATE, self.relay_id, seq) + data)

    def presence(self, transcript_id: str, payload: bytes) -> None:
        self._queue(transcript_id, _HEAD.pack(PRESENCE, self.relay_id, 0) + payload)

    def _queue(self, transcript_id: str, message: bytes) -> None:
        # Redis slow or gone: the other relays read it from the log.
        with contextlib.suppress(anyio.WouldBlock):
            self._send.send_nowait((self.channel(transcript_id), message))

    # ----------------------------------------------------------------- the loops

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._publish)
            tg.start_soon(self._subscribe)
            tg.start_soon(self._catch_up)

    async def _publish(self) -> None:
        import redis.asyncio as redis

        while True:
            client = redis.from_url(self.url, client_name=f"{self.prefix}-relay")
            try:
                async for channel, message in self._receive:
                    await client.publish(channel, message)
                    self.published += 1
            except (OSError, redis.RedisError) as exc:
                log.warning("cannot publish to Redis (%s); the log carries the updates", exc)
                await anyio.sleep(1.0)
            finally:
                await client.aclose()

    async def _subscribe(self) -> None:
        import redis.asyncio as redis

        delay = 0.5
        while True:
            client = redis.from_url(self.url, client_name=f"{self.prefix}-relay")
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.psubscribe(self.channel("*"))
                    delay = 0.5
                    async for message in pubsub.listen():
                        if message.get("type") == "pmessage":
                            await self._take(message["channel"], message["data"])
            except (OSError, redis.RedisError) as exc:
                log.warning("Redis subscription lost (%s); again in %.1f s", exc, delay)
            finally:
                await client.aclose()
            await anyio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _take(self, channel: bytes, message: bytes) -> None:
        transcript_id = channel.decode()[len(self.channel("")) :]
        room = self.rooms.get(transcript_id)
        if room is None or len(message) < _HEAD.size:
            return
        kind, relay_id, seq = _HEAD.unpack_from(message)
        if relay_id == self.relay_id:
            return
        payload = message[_HEAD.size :]
        if kind == PRESENCE:
            await room.relay_presence(payload)
        elif kind == UPDATE and not self._known(transcript_id, seq):
            self._mark(transcript_id, seq)
            self.received += 1
            await room.merge(payload)

    async def _catch_up(self) -> None:
        while True:
            await anyio.sleep(self.catch_up_s)
            for transcript_id in {*self._high, *self.rooms.open_ids()}:
                room = self.rooms.get(transcript_id)
                if room is None:
                    self._forget(transcript_id)
                    continue
                try:
                    await self._heal(room)
                except Exception:  # the database is away: next round
                    log.exception("catching up on %s from the log failed", transcript_id)

    async def _heal(self, room: Room) -> None:
        transcript_id = room.transcript_id
        if transcript_id not in self._high:
            # Opened since the last round: the room was loaded from the log already.
            self._high[transcript_id] = await self.updates.last_seq(transcript_id) or 0
            self._seen[transcript_id] = {}
        after = datetime.now(UTC) - timedelta(seconds=self.window_s)
        rows = await self.updates.since(transcript_id, self._high[transcript_id], after)
        for seq, data in rows:
            if not self._known(transcript_id, seq):
                self._mark(transcript_id, seq)
                self.healed += 1
                await room.merge(data)
        cutoff = time.monotonic() - 2 * self.window_s
        seen = self._seen[transcript_id]
        for seq in [s for s, at in seen.items() if at < cutoff]:
            del seen[seq]

    # ----------------------------------------------------------------- positions seen

    def _known(self, transcript_id: str, seq: int) -> bool:
        return seq in self._seen.get(transcript_id, {})

    def _mark(self, transcript_id: str, seq: int) -> None:
        if transcript_id in self._high:
            self._high[transcript_id] = max(self._high[transcript_id], seq)
            self._seen[transcript_id][seq] = time.monotonic()

    def _forget(self, transcript_id: str) -> None:
        self._high.pop(transcript_id, None)
        self._seen.pop(transcript_id, None)

"""Presence (Yjs awareness) in a room: who may change which client's state, and what the
room remembers to replay to newcomers.

A client ID belongs to the connection that announced it, or to another connection of the
same user (a tab that reconnected, or the same person's other tab). Nobody else may set or
remove its state: a viewer could otherwise overwrite a person's presence, or make them
vanish for everyone. Entries of another user's clients are dropped, neither relayed nor
remembered; so are states over :data:`MAX_STATE_BYTES` (a browser's is ~100 bytes).

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(eq=False)
    ... class Peer:
    ...     username: str
    >>> room, ana, vi = Presences(), Peer("ana"), Peer("vi")
    >>> hello = [Presence(1, 1, b'{"n":"ana"}')]
    >>> room.remember(ana, room.admit(ana, hello)); room.replay() == hello
    True
    >>> room.admit(vi, [Presence(1, 2, b"null")])  # not vi's to remove
    []
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.protocol import GONE, MAX_AWARENESS_ENTRIES, Presence

# One client's JSON state: a browser's is its user's name, colour and cursor. A few KiB
# leave room for more while keeping a room's presence (and each frame relayed to all of
# its connections) small.
MAX_STATE_BYTES = 4 * 2**10
# An awareness frame longer than this holds a state over the cap (or is not one at all):
# refused before it is parsed (and copied) at all.
MAX_FRAME_BYTES = MAX_AWARENESS_ENTRIES * (MAX_STATE_BYTES + 32) + 16
# Presence a room remembers. A browser tab announces one client, and only states newer
# than the room's count as its own (the echoes of others' do not): these caps stop one
# connection from making the room hold, or replay to each newcomer, much more than that.
# Beyond them, states are still relayed, only not remembered.
MAX_OWNED_CLIENTS = 8  # per connection
MAX_REPLAY_BYTES = 2**20  # of states in the frame a newcomer gets
# Client IDs that left, with their last clock, so that a late echo does not bring them back.
MAX_GONE = 1024


class Owner(Protocol):
    """A connection, as far as presence goes."""

    @property
    def username(self) -> str: ...


@dataclass
class _Seen:
    """The latest awareness state of one client, and the connection that announced it."""

    owner: Owner
    clock: int
    state: bytes


class Presences:
    """The latest state of each client in one room, and whose it is."""

    def __init__(self) -> None:
        self._seen: dict[int, _Seen] = {}  # client ID -> its latest state
        self._gone: dict[int, int] = {}  # client ID -> the clock it left at

    def admit(self, connection: Owner, entries: Sequence[Presence]) -> list[Presence]:
        """The entries ``connection`` may send: not over the size cap, and not of a
        client another user's connection announced (echoes of theirs go too: the room
        relayed the original already)."""
        allowed = []
        for entry in entries:
            if len(entry.state) > MAX_STATE_BYTES:
                continue
            seen = self._seen.get(entry.client_id)
            if seen is not None and seen.owner.username != connection.username:
                continue
            allowed.append(entry)
        return allowed

    def remember(self, connection: Owner, entries: Sequence[Presence]) -> None:
        """Keep the admitted states that are news, by y-protocols' rule: a newer clock
        wins, and so does a removal at the same clock."""
        for entry in entries:
            seen = self._seen.get(entry.client_id)
            last = seen.clock if seen is not None else self._gone.get(entry.client_id, -1)
            removal_of_known = entry.state == GONE and seen is not None
            if entry.clock < last or (entry.clock == last and not removal_of_known):
                continue  # an echo, or older
            if entry.state == GONE:
                self._forget(entry.client_id, entry.clock)
            elif (seen is not None and seen.owner is connection) or self._owned(
                connection
            ) < MAX_OWNED_CLIENTS:
                # Newer than the room's, so the sender's own (from a new connection: the
                # client reconnected, and its old connection leaving must not remove it).
                self._seen[entry.client_id] = _Seen(connection, entry.clock, entry.state)
                self._gone.pop(entry.client_id, None)

    def replay(self) -> list[Presence]:
        """Everyone's latest state, for a newcomer (up to MAX_REPLAY_BYTES: the rest show
        up at their next renewal)."""
        known, size = [], 0
        for client_id, seen in self._seen.items():
            size += len(seen.state)
            if size > MAX_REPLAY_BYTES:
                break
            known.append(Presence(client_id, seen.clock, seen.state))
        return known

    def release(self, connection: Owner) -> list[Presence]:
        """Forget the clients of a connection that left; returns their removals, each at
        its clock with a null state, as y-protocols' ``removeAwarenessStates`` encodes a
        remote client's removal (a removal at the same clock wins over the state)."""
        gone = []
        for client_id, seen in list(self._seen.items()):
            if seen.owner is connection:
                gone.append(Presence(client_id, seen.clock, GONE))
                self._forget(client_id, seen.clock)
        return gone

    def _owned(self, connection: Owner) -> int:
        return sum(seen.owner is connection for seen in self._seen.values())

    def _forget(self, client_id: int, clock: int) -> None:
        self._seen.pop(client_id, None)
        self._gone.pop(client_id, None)
        self._gone[client_id] = clock  # the newest last, so the oldest goes first
        if len(self._gone) > MAX_GONE:
            del self._gone[next(iter(self._gone))]

"""Rooms and the wire protocol, with real pycrdt docs as clients (no network yet)."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Text
from sqlalchemy import Engine, text

from engine import Origin, TranscriptDoc, covers, decode_state, protocol
from engine.protocol import GONE, Kind, Presence, ProtocolError
from relay import rooms
from relay.rooms import Connection, Room, RoomClosedError, Rooms
from relay.updates import UpdateLog


class Client:
    """A replica on the other end of a connection: what it was sent, and its own doc."""

    def __init__(self, username: str, *, can_write: bool = True, agent: bool = False) -> None:
        self.doc = TranscriptDoc()
        self.frames: list[bytes] = []
        self.connection = Connection(self._send, username, can_write, agent=agent)

    async def _send(self, frame: bytes) -> None:
        self.frames.append(frame)
        message = protocol.parse(frame) if frame[0] in (0, 1) else None
        if message is not None and message.kind in (Kind.SYNC_STEP2, Kind.UPDATE):
            self.doc.apply_update(message.payload, origin=Origin.RELAY)

    def acks(self) -> list[bytes]:
        return [f for f in self.frames if f[0] == protocol.ACK]

    def notices(self) -> list[str]:
        return [f[2:].decode() for f in self.frames if f[0] == protocol.NOTICE]

    def presence(self) -> list[list[Presence]]:
        """The awareness frames it was sent, each as its entries."""
        return [
            protocol.parse_awareness(protocol.parse_payload(f))
            for f in self.frames
            if f[0] == protocol.AWARENESS
        ]


def awareness(*entries: tuple[int, int, bytes]) -> bytes:
    return protocol.awareness(protocol.encode_awareness(Presence(*e) for e in entries))


def frame_of_changes(client: Client, change: object) -> bytes:
    """Run ``change`` on the client's doc and return the update frame it produced."""
    state = client.doc.state_vector()
    assert callable(change)
    change()
    return protocol.update(client.doc.encode_update(state))


def test_an_update_is_stored_then_acked_and_relayed(engine: Engine) -> None:
    async def main() -> tuple[Client, Client, list[bytes]]:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            room = await rooms.open("t-1")
            ana, bo = Client("ana"), Client("bo")
            await room.join(ana.connection)
            await room.join(bo.connection)
            seed = TranscriptDoc.create("t-1")
            ana.doc.apply_update(seed.encode_update())
            await room.receive(ana.connection, protocol.update(seed.encode_update()))
            frame = frame_of_changes(
                ana,
                lambda: ana.doc.upsert_segment("s1", rev=1, text="hola", t0=0, t1=1, final=True),
            )
            await room.receive(ana.connection, frame)
            return ana, bo, await log.load("t-1")

    ana, bo, stored = anyio.run(main)
    assert len(stored) == 2
    assert len(ana.acks()) == 2
    assert bo.doc.snapshot()["segments"][0]["text"] == "hola"
    assert not bo.acks()  # acks go to the sender only


def test_pipelined_updates_are_committed_in_order_and_acked_once(engine: Engine) -> None:
    """A client may send many updates before the first is committed: each is relayed
    once committed, and one ack covers all of them (and no uncommitted one)."""

    async def main() -> tuple[Client, Client, list[bytes], list[bool]]:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-1")
            ana, bo = Client("ana"), Client("bo")
            await room.join(ana.connection)
            await room.join(bo.connection)
            accepted = []
            for n in range(5):
                frame = frame_of_changes(
                    ana,
                    lambda n=n: ana.doc.upsert_segment(f"s{n}", rev=1, text="x", t0=n, t1=n + 1),
                )
                item = await room.accept(ana.connection, frame)
                assert item is not None
                accepted.append(item)
            # An echo of what the room has: only an ack is due, after the commits above.
            echo = await room.accept(ana.connection, protocol.update(ana.doc.encode_update()))
            assert echo is not None and echo.data is None
            committed_before = [item.commit.done.is_set() for item in accepted]
            await room.settle(ana.connection, [*accepted, echo])
            return ana, bo, await log.load("t-1"), committed_before

    ana, bo, stored, committed_before = anyio.run(main)
    assert not any(committed_before)  # accept did not wait for the database
    assert len(stored) == 5
    assert len(ana.acks()) == 1
    acked = decode_state(protocol.parse_ack(ana.acks()[0])[0])
    assert covers(acked, decode_state(ana.doc.state_vector()))
    assert sorted(bo.doc.segment_ids()) == [f"s{n}" for n in range(5)]


def test_sync_handshake_both_ways(engine: Engine) -> None:
    async def main() -> tuple[Client, Room]:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-1")
            first = Client("ana")
            await room.join(first.connection)
            seed = TranscriptDoc.create("t-1")
            seed.upsert_segment("s1", rev=1, text="ya estaba", t0=0, t1=1, final=True)
            first.doc.apply_update(seed.encode_update())
            await room.receive(first.connection, protocol.update(seed.encode_update()))
            late = Client("bo")
            late.doc.apply_update(seed.encode_update())  # an offline edit on top of it
            late.doc.set_text("s1", "ya estaba aquí", user="bo")
            await room.join(late.connection)
            step1 = protocol.parse(late.frames[0])
            assert step1.kind == Kind.SYNC_STEP1
            # The client answers the relay's step 1 with what the relay lacks…
            await room.receive(
                late.connection, protocol.sync_step2(late.doc.encode_update(step1.payload))
            )
            # …and asks for what it lacks with its own step 1.
            await room.receive(late.connection, protocol.sync_step1(late.doc.state_vector()))
            return first, room

    first, room = anyio.run(main)
    assert TranscriptDoc(room.doc).snapshot()["segments"][0]["text"] == "ya estaba aquí"
    assert first.doc.snapshot()["segments"][0]["text"] == "ya estaba aquí"


def test_deletions_are_stored_and_survive_a_reload(engine: Engine) -> None:
    async def main() -> str:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            room = await rooms.open("t-del")
            ana = Client("ana")
            await room.join(ana.connection)
            text_type = ana.doc.doc.get("notes", type=Text)
            for frame in [
                frame_of_changes(ana, lambda: text_type.insert(0, "hola mundo")),
                frame_of_changes(ana, lambda: text_type.__delitem__(slice(4, 10))),
            ]:
                await room.receive(ana.connection, frame)
            await rooms.release(room, ana.connection)
            assert len(rooms) == 0
            reloaded = await rooms.open("t-del")
            return str(reloaded.doc.get("notes", type=Text))

    assert anyio.run(main) == "hola"


def test_a_viewer_cannot_write_and_is_told_once(engine: Engine) -> None:
    async def main() -> tuple[Client, list[bytes]]:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-v")
            viewer = Client("vi", can_write=False)
            await room.join(viewer.connection)
            notes = viewer.doc.doc.get("x", type=Text)
            for word in ["a", "b"]:
                frame = frame_of_changes(viewer, lambda w=word: notes.insert(0, w))
                await room.receive(viewer.connection, frame)
            return viewer, await log.load("t-v")

    viewer, stored = anyio.run(main)
    assert stored == []
    assert viewer.notices() == ["read-only: your changes are not kept"]
    assert not viewer.acks()


def test_concurrent_first_joins_share_one_room(engine: Engine) -> None:
    async def main() -> set[int]:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            opened: list[Room] = []

            async def join() -> None:
                opened.append(await rooms.open("t-c"))

            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(join)
            return {id(r) for r in opened}

    assert len(anyio.run(main)) == 1


def test_a_failed_commit_closes_the_room(engine: Engine) -> None:
    with engine.begin() as connection:
        pages = connection.execute(text("PRAGMA page_count")).scalar()
        connection.execute(text(f"PRAGMA max_page_count = {pages}"))

    async def main() -> bool:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            room = await rooms.open("t-full")
            ana = Client("ana")
            await room.join(ana.connection)
            big = ana.doc.doc.get("x", type=Text)
            with pytest.raises(RoomClosedError):
                await room.receive(
                    ana.connection, frame_of_changes(ana, lambda: big.insert(0, "x" * 300_000))
                )
            assert not ana.acks()
            return (await rooms.open("t-full")) is not room

    assert anyio.run(main)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00",
        bytes([0, 2, 5, 0, 0]),  # says 5 bytes, has 2
        bytes([0, 2, 1, 0, 0]),  # trailing bytes
        bytes([0, 9, 0]),  # unknown sync message
        bytes([7, 0]),  # unknown type
        bytes([0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),  # endless length
    ],
)
def test_malformed_frames_are_refused(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.parse(frame)


def test_oversized_frames_are_refused() -> None:
    with pytest.raises(ProtocolError, match="limit"):
        protocol.parse(protocol.update(b"\x00" * 100), max_bytes=50)


def test_a_malformed_update_is_refused_and_not_stored(engine: Engine) -> None:
    async def main() -> list[bytes]:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-bad")
            ana = Client("ana")
            await room.join(ana.connection)
            with pytest.raises(ProtocolError, match="not a valid update"):
                await room.receive(ana.connection, protocol.update(b"\x01\x02\x03"))
            return await log.load("t-bad")

    assert anyio.run(main) == []


@given(st.binary(max_size=64))
def test_parse_never_fails_otherwise(frame: bytes) -> None:
    try:
        message = protocol.parse(frame)
    except ProtocolError:
        return
    assert isinstance(message.payload, bytes)


def test_frames_round_trip() -> None:
    doc: Doc[Text] = Doc()
    doc.get("t", type=Text).insert(0, "¿sí?")
    update = doc.get_update()
    assert protocol.parse(protocol.update(update)).payload == update
    assert protocol.parse(protocol.sync_step1(doc.get_state())).kind == Kind.SYNC_STEP1
    assert protocol.parse(protocol.awareness(b"\x01\x02")).kind == Kind.AWARENESS


def test_awareness_round_trips_and_keeps_the_state_bytes() -> None:
    entries = [Presence(2**32 - 1, 7, '{"user":{"name":"Ñusta"}}'.encode()), Presence(3, 0, GONE)]
    payload = protocol.encode_awareness(entries)
    assert protocol.parse_awareness(payload) == entries
    assert protocol.parse(protocol.awareness(payload)).payload == payload


def _entry(state: bytes) -> bytes:
    return b"\x01\x05\x01" + bytes([len(state)]) + state  # one entry: client 5, clock 1


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x01",  # one entry, and none there
        b"\x01\x05\x01\x09null",  # the state says 9 bytes, has 4
        _entry(b"null") + b"\x00",  # trailing bytes
        _entry(b"{nope}"),
        _entry(b"\xff\xfe"),  # not UTF-8
        _entry(b"NaN"),  # Python's JSON, not JavaScript's
        _entry(b""),
        bytes([protocol.MAX_AWARENESS_ENTRIES + 1]) + _entry(b"null")[1:] * 65,
    ],
)
def test_malformed_awareness_is_refused(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.parse_awareness(payload)


@given(st.binary(max_size=64))
def test_parse_awareness_never_fails_otherwise(payload: bytes) -> None:
    try:
        entries = protocol.parse_awareness(payload)
    except ProtocolError:
        return
    assert protocol.encode_awareness(entries) == payload


def test_a_late_joiner_sees_the_others_at_once_and_a_leaver_is_removed(engine: Engine) -> None:
    async def main() -> tuple[Client, Client, Client, Client]:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            room = await rooms.open("t-aw")
            ana, bo = Client("ana"), Client("bo")
            await room.join(ana.connection)
            assert ana.presence() == []  # nobody to show: no frame at all
            await room.receive(ana.connection, awareness((1, 1, b'{"n":"ana"}')))
            await room.receive(ana.connection, awareness((1, 2, b'{"n":"Ana"}')))
            await room.join(bo.connection)
            await room.receive(bo.connection, awareness((2, 1, b'{"n":"bo"}')))
            # bo echoes ana's state (y-websocket clients do): not news, nor bo's.
            await room.receive(bo.connection, awareness((1, 2, b'{"n":"Ana"}')))
            cy = Client("cy")
            await room.join(cy.connection)
            await rooms.release(room, ana.connection)
            # A late echo of ana's state does not bring her back.
            await room.receive(bo.connection, awareness((1, 2, b'{"n":"Ana"}')))
            dee = Client("dee")
            await room.join(dee.connection)
            return ana, bo, cy, dee

    ana, bo, cy, dee = anyio.run(main)
    assert bo.frames[0][0] == protocol.SYNC  # the sync comes first
    assert bo.presence()[0] == [Presence(1, 2, b'{"n":"Ana"}')]  # one frame, the latest
    assert sorted(cy.presence()[0], key=lambda p: p.client_id) == [
        Presence(1, 2, b'{"n":"Ana"}'),
        Presence(2, 1, b'{"n":"bo"}'),
    ]
    # The removal, at ana's clock (a removal wins at the same clock, as y-protocols
    # encodes it); the stale echo is relayed as it came (clients ignore an old clock).
    assert cy.presence()[-2:] == [[Presence(1, 2, GONE)], [Presence(1, 2, b'{"n":"Ana"}')]]
    assert [Presence(1, 2, GONE)] in bo.presence()
    assert dee.presence() == [[Presence(2, 1, b'{"n":"bo"}')]]
    assert [Presence(1, 2, GONE)] not in ana.presence()  # not sent to the one leaving
    # Each frame goes back to its sender too (so a browser alone hears something).
    assert ana.presence()[0] == [Presence(1, 1, b'{"n":"ana"}')]


def test_a_client_that_says_goodbye_is_forgotten(engine: Engine) -> None:
    async def main() -> tuple[Client, Client]:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            room = await rooms.open("t-bye")
            ana, bo = Client("ana"), Client("bo")
            await room.join(ana.connection)
            await room.join(bo.connection)
            await room.receive(ana.connection, awareness((1, 4, b"{}")))
            await room.receive(ana.connection, awareness((1, 5, GONE)))  # closing the tab
            await rooms.release(room, ana.connection)
            late = Client("late")
            await room.join(late.connection)
            return bo, late

    bo, late = anyio.run(main)
    assert bo.presence() == [[Presence(1, 4, b"{}")], [Presence(1, 5, GONE)]]  # no second
    assert late.presence() == []


def test_a_reconnected_client_is_not_removed_by_its_old_connection(engine: Engine) -> None:
    async def main() -> Client:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-re")
            old, new, bo = Client("ana"), Client("ana"), Client("bo")
            for client in (old, bo, new):
                await room.join(client.connection)
            await room.receive(old.connection, awareness((1, 1, b"{}")))
            await room.receive(new.connection, awareness((1, 2, b"{}")))
            await room.leave(old.connection)
            return bo

    assert anyio.run(main).presence() == [[Presence(1, 1, b"{}")], [Presence(1, 2, b"{}")]]


def test_leaving_tells_the_others_even_when_cancelled_and_past_a_dead_or_stuck_peer(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rooms, "LEAVE_TIMEOUT_S", 0.2)

    async def dead(_frame: bytes) -> None:
        raise ConnectionError("gone")

    async def stuck(_frame: bytes) -> None:
        await anyio.sleep_forever()

    slow_frames: list[bytes] = []

    async def slow(frame: bytes) -> None:  # a real send waits for the socket
        await anyio.sleep(0.01)
        slow_frames.append(frame)

    async def main() -> tuple[Client, float, Room]:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-dead")
            ana, bo = Client("ana"), Client("bo")
            await room.join(ana.connection)
            await room.receive(ana.connection, awareness((9, 1, b'{"x":1}')))
            room.connections |= {
                Connection(dead, "d", True),
                Connection(stuck, "s", True),
                Connection(slow, "w", True),
            }
            await room.join(bo.connection)
            start = anyio.current_time()
            with anyio.CancelScope() as scope:
                scope.cancel()  # as when the client went: the handler is being cancelled
                await room.leave(ana.connection)
            return bo, anyio.current_time() - start, room

    bo, took, room = anyio.run(main)
    assert bo.presence()[-1] == [Presence(9, 1, GONE)]
    assert slow_frames == [awareness((9, 1, GONE))]
    assert took < 1
    assert {c.username for c in room.connections} == {"s", "w", "bo"}  # not the dead one


def test_a_malformed_awareness_frame_is_refused_and_not_relayed(engine: Engine) -> None:
    async def main() -> Client:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-mal")
            ana, bo = Client("ana"), Client("bo")
            await room.join(ana.connection)
            await room.join(bo.connection)
            with pytest.raises(ProtocolError, match="not JSON"):
                await room.receive(ana.connection, protocol.awareness(_entry(b"{")))
            return bo

    assert anyio.run(main).presence() == []


def test_one_connection_cannot_make_the_room_remember_much(engine: Engine) -> None:
    async def main() -> tuple[Client, Client]:
        async with UpdateLog(engine) as log:
            room = await Rooms(log).open("t-many")
            ana, bo = Client("ana"), Client("bo")
            await room.join(ana.connection)
            await room.join(bo.connection)
            many = [(n, 1, b"{}") for n in range(protocol.MAX_AWARENESS_ENTRIES)]
            await room.receive(ana.connection, awareness(*many))
            big = b'"' + b"x" * rooms.MAX_REMEMBERED_STATE + b'"'
            await room.receive(bo.connection, awareness((1000, 1, big)))
            late = Client("late")
            await room.join(late.connection)
            return bo, late

    bo, late = anyio.run(main)
    assert len(bo.presence()[0]) == protocol.MAX_AWARENESS_ENTRIES  # all relayed
    assert [p.client_id for p in late.presence()[0]] == list(range(rooms.MAX_OWNED_CLIENTS))


def test_a_room_is_live_while_an_agent_is_connected(engine: Engine) -> None:
    async def main() -> list[bool]:
        async with UpdateLog(engine) as log:
            rooms = Rooms(log)
            room = await rooms.open("t-live")
            seen = [rooms.live("t-live")]
            browser, agent = Client("ana"), Client("ana", agent=True)
            await room.join(browser.connection)
            seen.append(rooms.live("t-live"))
            await room.join(agent.connection)
            seen.append(rooms.live("t-live"))
            await rooms.release(room, agent.connection)
            seen.append(rooms.live("t-live"))
            await rooms.release(room, browser.connection)
            return [*seen, rooms.live("t-live"), rooms.live("t-none")]

    assert anyio.run(main) == [False, False, True, False, False, False]

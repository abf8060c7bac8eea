"""Bad input at the relay: crafted updates, fuzzed frames, floods, fast senders.

The unit tests check :mod:`relay.updatecheck` against pycrdt itself; the server tests run
a real relay (SQLite, port 0) with a low per-connection rate limit. Nothing here times
anything: ``bench/relay.py --flood`` measures how responsive other rooms stay.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import anyio
import pytest
import websockets
from _relay import RelayProcess, SyncClient, metric, prepare, relay_env, wait_until
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from engine import InvalidUpdateError, TranscriptDoc, check_state_vector, check_update, protocol

# Tiny frames that make yrs spin for hundreds of milliseconds: absurd counts.
CRAFTED = [
    bytes.fromhex("ffffff7c01070182"),
    bytes.fromhex("ffffff7b0180018292ffffffffff74a6dbfe0b"),
    bytes.fromhex("ffffffab018292a6a2fd"),
]


def sample_updates() -> list[bytes]:
    """Real updates of every shape the relay sees: texts, maps, arrays, deletions."""
    doc = TranscriptDoc.create("t-1", title="Reunión ñ", language="es")
    updates = [doc.encode_update()]
    for n in range(5):
        state = doc.state_vector()
        doc.upsert_segment(f"s{n}", rev=1, text=f"hola {n} 🎉", t0=n, t1=n + 1, final=True)
        doc.set_text(f"s{n}", f"Hola {n}, ¿qué tal? 🎉", user="ana")
        updates.append(doc.encode_update(state))
    state = doc.state_vector()
    doc.delete_segment("s2", user="ana")
    updates.append(doc.encode_update(state))
    raw: Doc = Doc()
    raw["m"] = m = Map[object]()
    raw["a"] = a = Array[object]()
    raw["x"] = x = Text()
    m["nested"] = {"k": [1, 2.5, None, True, "s", {"deep": [b"\x00\x01"]}]}
    m["big"] = 2**60
    a.extend([1, "dos", 3.0, False])
    x.insert(0, "abc")
    x.format(0, 2, {"bold": True})
    x.insert_embed(1, {"image": "x.png"})
    del a[1]
    updates.append(raw.get_update())
    return updates


SAMPLES = sample_updates()


def test_well_formed_updates_and_state_vectors_pass() -> None:
    for update in SAMPLES:
        check_update(update)
    check_update(b"\x00\x00")
    check_state_vector(TranscriptDoc.create("t").state_vector())


@pytest.mark.parametrize("frame", CRAFTED)
def test_crafted_counts_are_refused(frame: bytes) -> None:
    with pytest.raises(InvalidUpdateError):
        check_update(frame)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_check_fails_only_with_its_own_error(data: st.DataObject) -> None:
    """Mutations of real updates: the check raises InvalidUpdateError or passes, and
    yrs then applies or rejects what passed (the relay closes the connection on that)."""
    update = bytearray(data.draw(st.sampled_from(SAMPLES)))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, max(0, len(update) - 1)))
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip" and update:
            update[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            update[i:i] = data.draw(st.binary(min_size=1, max_size=10))
        else:
            del update[i : i + data.draw(st.integers(1, 5))]
    try:
        check_update(bytes(update))
    except InvalidUpdateError:
        return
    with contextlib.suppress(Exception):  # yrs rejects it: the relay closes with 4400
        Doc().apply_update(bytes(update))


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    """A relay that lets one connection send 50 frames a second (burst 100)."""
    data = tmp_path_factory.mktemp("guard") / "data"
    env = relay_env()
    flags = [*prepare(data, env), "--max-frames-per-s", "50", "--max-frame-bytes", "65536"]
    server = RelayProcess(data, env, flags).start()
    yield server
    server.stop()


async def close_code_after(url: str, frame: bytes) -> int | None:
    async with websockets.connect(url, max_size=None) as ws:
        with contextlib.suppress(websockets.ConnectionClosed):  # closed before we could send
            await ws.send(frame)
            async for _ in ws:
                pass
        return ws.close_code


def test_a_flood_of_crafted_updates_is_refused_while_another_room_keeps_working(
    relay: RelayProcess,
) -> None:
    token = relay.login("ana")["access_token"]
    attacker = relay.login("root")["access_token"]  # a valid account gone rogue
    victim_room = relay.create_transcript(attacker)
    other_room = relay.create_transcript(token)
    codes: list[int | None] = []

    async def attack() -> None:
        url = f"{relay.ws}/sync/{victim_room}?token={attacker}"
        for n in range(60):
            codes.append(await close_code_after(url, protocol.update(CRAFTED[n % len(CRAFTED)])))

    async def work() -> TranscriptDoc:
        async with websockets.connect(f"{relay.ws}/sync/{other_room}?token={token}") as ws:
            client = SyncClient(ws)
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.run)
                await client.synced.wait()
                for n in range(20):
                    await client.change(
                        lambda d, n=n: d.upsert_segment(f"s{n}", rev=1, text="ok", t0=n, t1=n + 1)
                    )
                    await anyio.sleep(0.02)
                await wait_until(client.acked)
                tg.cancel_scope.cancel()
        return client.doc

    async def main() -> list[TranscriptDoc]:
        done: list[TranscriptDoc] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(attack)
            done.append(await work())
        return done

    [doc] = anyio.run(main)
    assert len(doc.segment_ids()) == 20
    # Each crafted frame closes its connection (4400) until the attacker's connection
    # rate runs out (burst 30, then 5/s): then it is turned away before it can send (1013).
    assert set(codes) == {4400, 1013} and codes.count(4400) >= 30
    assert metric(relay, 'minuta_rejected_frames_total{reason="malformed"}') >= 30
    assert metric(relay, 'minuta_rejected_frames_total{reason="connect_rate"}') >= 1


def test_fuzzed_frames_close_the_connection_and_store_nothing(relay: RelayProcess) -> None:
    token = relay.login("zed")["access_token"]
    transcript_id = relay.create_transcript(token)
    url = f"{relay.ws}/sync/{transcript_id}?token={token}"
    rng = random.Random(7)
    valid = protocol.update(sample_updates()[1])
    frames = [bytes([rng.randrange(256) for _ in range(rng.randrange(1, 40))]) for _ in range(15)]
    frames += [valid[: rng.randrange(1, len(valid))] for _ in range(10)]  # truncated
    frames += [b"\x00\x02" + bytes([0xFF] * 9) + b"\x01", b"\x00\x00\x05\x01"]  # lies
    frames.append(b"\x00\x02" + b"\x00" * 70_000)  # over --max-frame-bytes
    codes = [anyio.run(close_code_after, url, frame) for frame in frames]
    assert codes == [4400] * (len(frames) - 1) + [4413]  # the last: too large

    async def read() -> TranscriptDoc:
        async with websockets.connect(url) as ws:
            client = SyncClient(ws)
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.run)
                await client.synced.wait()
                tg.cancel_scope.cancel()
        return client.doc

    assert anyio.run(read).segment_ids() == []


def test_a_fast_sender_is_slowed_down_and_loses_nothing(relay: RelayProcess) -> None:
    token = relay.login("ana")["access_token"]
    transcript_id = relay.create_transcript(token)
    before = metric(relay, "minuta_throttled_seconds_total")

    async def flood() -> TranscriptDoc:
        async with websockets.connect(f"{relay.ws}/sync/{transcript_id}?token={token}") as ws:
            client = SyncClient(ws)
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.run)
                await client.synced.wait()
                for n in range(200):  # as fast as it can: 4x the burst of 50/s
                    await client.change(
                        lambda d, n=n: d.upsert_segment(f"s{n}", rev=1, text="x", t0=n, t1=n + 1)
                    )
                await wait_until(client.acked, timeout_s=30)
                tg.cancel_scope.cancel()
        return client.doc

    doc = anyio.run(flood)
    assert len(doc.segment_ids()) == 200
    assert metric(relay, "minuta_throttled_seconds_total") > before

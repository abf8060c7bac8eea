"""Splitting updates under a frame limit (:func:`engine.split_update`), against pycrdt.

Each case builds a doc by real edits from several clients, splits its encoding (or a
diff, or a merge with gaps), and checks that every part is a well-formed update under the
limit and that the parts, applied in order, build the same doc. (Out of order, yrs does
not always integrate what waited, even for the original updates: 38 of 40 shuffled edit
histories here. Parts go in order over one websocket.)
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, merge_updates

from engine import TranscriptDoc, check_update, split_update
from engine._updates import deleted_ranges, walk

SKIP = 10  # a skip struct's content reference: a gap in a merged update

WORDS = ["hola", "reunión", "presupuesto", "🎉", "naïve", "ñandú", "日本語"]


def edited(seed: int, clients: int = 3, edits: int = 120) -> tuple[Doc, list[bytes]]:
    """A doc edited by ``clients`` peers in turn, and the updates of every edit."""
    rng = random.Random(seed)
    docs: list[Doc] = [Doc(client_id=100 + n) for n in range(clients)]
    for doc in docs:
        doc["text"] = Text()
        doc["plain"] = Text()  # ASCII: positions in any unit are the same
        doc["map"] = Map()
        doc["list"] = Array()
    updates = []
    for step in range(edits):
        doc = docs[step % clients]
        state = doc.get_state()
        text, plain, map_, list_ = doc["text"], doc["plain"], doc["map"], doc["list"]
        action = rng.random()
        if action < 0.2:
            text.insert(rng.choice([0, len(text)]), rng.choice(WORDS) + " ")
        elif action < 0.45 or len(plain) < 10:
            plain.insert(rng.randint(0, len(plain)), f"word{step} " * rng.randint(1, 40))
        elif action < 0.6:
            start = rng.randint(0, len(plain) - 5)
            del plain[start : start + rng.randint(1, 5)]
        elif action < 0.75:
            map_[f"k{rng.randint(0, 20)}"] = rng.choice([1.5, "valor", None, [1, "dos"], {"a": 1}])
        elif action < 0.9:
            list_.extend([rng.choice(WORDS) for _ in range(rng.randint(1, 30))])
        elif len(list_):
            del list_[0]
        update = doc.get_update(state)
        updates.append(update)
        for other in docs:
            if other is not doc:
                other.apply_update(update)
    return docs[0], updates


def contents(doc: Doc) -> tuple[str, str, dict[str, object], list[object]]:
    return (
        str(doc.get("text", type=Text)),
        str(doc.get("plain", type=Text)),
        doc.get("map", type=Map).to_py(),
        doc.get("list", type=Array).to_py(),
    )


def rebuilt(parts: list[bytes]) -> Doc:
    copy: Doc = Doc()
    for part in parts:
        copy.apply_update(part)
    return copy


def check_parts(whole: bytes, parts: list[bytes], max_bytes: int) -> None:
    assert b"".join(parts) != whole or len(parts) == 1
    for part in parts:
        check_update(part)
        assert len(part) <= max_bytes


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), max_bytes=st.sampled_from([160, 400, 1500, 10_000]))
def test_the_parts_of_a_doc_rebuild_it(seed: int, max_bytes: int) -> None:
    doc, _ = edited(seed)
    whole = doc.get_update()
    parts = split_update(whole, max_bytes=max_bytes)
    check_parts(whole, parts, max_bytes)
    expected = contents(rebuilt([whole]))
    copy = rebuilt(parts)
    assert contents(copy) == expected
    assert copy.get_state() == doc.get_state()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_a_diff_splits_onto_the_state_it_was_taken_from(seed: int) -> None:
    doc, updates = edited(seed)
    half = rebuilt(updates[: len(updates) // 2])
    diff = doc.get_update(half.get_state())
    for part in split_update(diff, max_bytes=300):
        half.apply_update(part)
    assert contents(half) == contents(doc)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_a_merge_with_gaps_splits_into_parts_that_wait_for_the_gap(seed: int) -> None:
    """merge_updates of non-contiguous updates holds skips: parts never start a run
    with one, nor name a client twice, and hold the same clocks and deletions. (Their
    content is not compared: yrs does not integrate such updates reliably, even the
    merge itself after the updates of its gaps.)"""
    _, updates = edited(seed, clients=1)
    gappy = merge_updates(*updates[::2])
    parts = split_update(gappy, max_bytes=200)
    check_parts(gappy, parts, 200)
    for part in parts:
        runs = walk(part).clients
        assert len({run[0].client for run in runs}) == len(runs)
        assert all(run[0].ref != SKIP for run in runs)
    assert covered([gappy]) == covered(parts)


def covered(updates: list[bytes]) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The (client, clock) pairs that ``updates`` hold, and those they delete."""
    held, deleted = set(), set()
    for update in updates:
        found = walk(update)
        for run in found.clients:
            for struct in run:
                if struct.ref != SKIP:
                    held |= {
                        (struct.client, c)
                        for c in range(struct.clock, struct.clock + struct.length)
                    }
        for client, clock, length in deleted_ranges(update, found.deletes):
            deleted |= {(client, c) for c in range(clock, clock + length)}
    return held, deleted


def test_one_large_string_is_cut_at_characters_not_bytes() -> None:
    doc: Doc = Doc()
    doc["text"] = text = Text()
    text.insert(0, "añ🎉日" * 50_000)  # 1 to 4 bytes a character, 2 UTF-16 units for 🎉
    text.insert(1000, "in the middle")
    whole = doc.get_update()
    parts = split_update(whole, max_bytes=64 * 1024)
    check_parts(whole, parts, 64 * 1024)
    assert len(parts) >= len(whole) // (64 * 1024)
    assert str(rebuilt(parts).get("text", type=Text)) == str(text)


def test_a_long_list_of_values_is_cut_between_values() -> None:
    doc: Doc = Doc()
    doc["list"] = items = Array[str]()
    items.extend([f"palabra {n}" for n in range(2000)])  # one item of 2,000 values
    whole = doc.get_update()
    parts = split_update(whole, max_bytes=2048)
    check_parts(whole, parts, 2048)
    assert len(parts) > 10
    assert rebuilt(parts).get("list", type=Array).to_py() == items.to_py()


def test_a_large_delete_set_gets_parts_of_its_own() -> None:
    doc: Doc = Doc()
    doc["text"] = text = Text()
    text.insert(0, "ab" * 20_000)
    for i in range(0, 20_000, 2):  # every other character: 10,000 ranges
        del text[i // 2 : i // 2 + 1]
    whole = doc.get_update()
    parts = split_update(whole, max_bytes=2048)
    check_parts(whole, parts, 2048)
    assert str(rebuilt(parts).get("text", type=Text)) == str(text)


def test_a_single_binary_larger_than_a_part_comes_whole() -> None:
    doc: Doc = Doc()
    doc["map"] = values = Map[object]()
    values["blob"] = b"\x01" * 5000
    values["small"] = "ok"
    whole = doc.get_update()
    parts = split_update(whole, max_bytes=1024)
    assert max(len(p) for p in parts) > 5000
    assert rebuilt(parts).get("map", type=Map).to_py() == values.to_py()


def test_a_two_hour_transcript_with_revisions_splits_into_parts_that_rebuild_it() -> None:
    doc = TranscriptDoc.create("t-1", title="Larga", language="es")
    for n in range(1500):
        for rev in (1, 2):
            doc.upsert_segment(
                f"s-{n}", rev=rev, text=f"segmento {n} revisión {rev} " * 4, t0=n, t1=n + 1
            )
    whole = doc.encode_update()
    parts = split_update(whole, max_bytes=128 * 1024)
    check_parts(whole, parts, 128 * 1024)
    copy = TranscriptDoc()
    for part in parts:
        copy.apply_update(part)
    assert copy.snapshot() == doc.snapshot()


def test_small_updates_come_back_as_they_are() -> None:
    update = Doc().get_update()
    assert split_update(update, max_bytes=1024) == [update]


def test_too_small_a_limit_is_refused() -> None:
    doc, _ = edited(1)
    with pytest.raises(ValueError, match="no room"):
        split_update(doc.get_update(), max_bytes=50)

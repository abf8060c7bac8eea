"""Property tests: ASR revisions and human edits on several replicas, synced in random orders.

Replica 0 is the agent (the only ASR writer); the others are people in browsers. People
insert unique tokens (``<7>``) and delete only text that holds no token, so after any
interleaving we can say exactly which human insertions must be visible.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
)
from pycrdt import Doc, Map

from engine import Origin, TranscriptDoc

ASR_ALPHABET = "abcdeñé ¿?¡!"
TOKEN = re.compile(r"<\d+>")
SEGMENTS = ("s1", "s2", "s3")


def sync(src: TranscriptDoc, dst: TranscriptDoc) -> None:
    dst.apply_update(src.encode_update(dst.state_vector()), origin=Origin.RELAY)


def is_subsequence(small: str, big: str) -> bool:
    chars = iter(big)
    return all(c in chars for c in small)


@dataclass
class TokenRecord:
    segment_id: str
    key: str  # the Y.Text the token was typed into


@dataclass
class Model:
    asr_rev: dict[str, int] = field(default_factory=dict)
    asr_text: dict[str, str] = field(default_factory=dict)
    asr_deleted: set[str] = field(default_factory=set)
    asr_history: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    # The text each person last left, per segment: (replica, segment_id) -> text.
    left_by: dict[tuple[int, str], str] = field(default_factory=dict)


class ReplicaMachine(RuleBasedStateMachine):
    """Two or three replicas; rules are the operations, checks run after full syncs."""

    def __init__(self) -> None:
        super().__init__()
        self.replicas: list[TranscriptDoc] = []
        self.model = Model()
        self.counter = itertools.count(1)

    @initialize(n=st.integers(min_value=2, max_value=3), first=st.sampled_from(SEGMENTS))
    def start(self, n: int, first: str) -> None:
        # Fixed client ids: Yjs breaks ties by client id, and Hypothesis needs replays.
        agent = TranscriptDoc.create(
            "t-prop", title="prop", started_at="2026-01-01T00:00:00+00:00", client_id=1
        )
        self.replicas = [agent] + [TranscriptDoc(Doc(client_id=i + 2)) for i in range(n - 1)]
        self._asr(first, "hola")
        for r in self.replicas[1:]:
            sync(agent, r)

    # ------------------------------------------------------------------ operations

    def _asr(self, segment_id: str, text: str, final: bool = False) -> None:
        rev = self.model.asr_rev.get(segment_id, 0) + 1
        changed = self.replicas[0].upsert_segment(
            segment_id, rev=rev, text=text, t0=1.0, t1=2.0, speaker="S1", final=final
        )
        assert changed
        self.model.asr_rev[segment_id] = rev
        self.model.asr_text[segment_id] = text
        self.model.asr_history.setdefault(segment_id, []).append(text)
        # A new hypothesis brings a retracted segment back.
        self.model.asr_deleted.discard(segment_id)

    @rule(
        segment_id=st.sampled_from(SEGMENTS),
        text=st.text(ASR_ALPHABET, max_size=10),
        final=st.booleans(),
    )
    def asr_revision(self, segment_id: str, text: str, final: bool) -> None:
        self._asr(segment_id, text, final)

    @rule(segment_id=st.sampled_from(SEGMENTS))
    def asr_stale_revision_is_ignored(self, segment_id: str) -> None:
        rev = self.model.asr_rev.get(segment_id, 0)
        if rev:
            before = self.replicas[0].encode_update()
            assert not self.replicas[0].upsert_segment(
                segment_id, rev=rev, text="stale", t0=0.0, t1=9.0
            )
            assert self.replicas[0].encode_update() == before

    @rule(segment_id=st.sampled_from(SEGMENTS))
    def asr_retracts(self, segment_id: str) -> None:
        if segment_id in self.model.asr_rev and segment_id not in self.model.asr_deleted:
            self.replicas[0].delete_segment(segment_id, origin=Origin.AGENT)
            self.model.asr_rev[segment_id] += 1
            self.model.asr_deleted.add(segment_id)

    @rule(data=st.data())
    def human_edit(self, data: st.DataObject) -> None:
        who = data.draw(st.integers(1, len(self.replicas) - 1), label="replica")
        replica = self.replicas[who]
        present = [s for s in SEGMENTS if s in replica.segment_ids()]
        if not present:
            return
        segment_id = data.draw(st.sampled_from(present), label="segment")
        text = replica.shown_text(segment_id)
        spans = [m.span() for m in TOKEN.finditer(text)]
        # Cut points that are not inside a token.
        cuts = [i for i in range(len(text) + 1) if not any(a < i < b for a, b in spans)]
        index = data.draw(st.sampled_from(cuts), label="index")
        # Delete only up to the next token, so no token is ever removed.
        limit = min([a for a, _ in spans if a >= index], default=len(text))
        delete = data.draw(st.integers(0, limit - index), label="delete")
        token = f"<{next(self.counter)}>"
        replica.edit_text(
            segment_id, index, delete, token, user=f"user{who}", at="2026-01-01T00:00:00+00:00"
        )
        self.model.tokens[token] = TokenRecord(segment_id, self._shown_key(replica, segment_id))
        self.model.left_by[(who, segment_id)] = replica.shown_text(segment_id)

    @rule(data=st.data())
    def sync_pair(self, data: st.DataObject) -> None:
        a, b = data.draw(st.permutations(range(len(self.replicas))), label="pair")[:2]
        sync(self.replicas[a], self.replicas[b])

    @rule(order=st.permutations(range(3)))
    def full_sync_and_check(self, order: list[int]) -> None:
        self._full_sync([i for i in order if i < len(self.replicas)])
        self._check_converged()

    def teardown(self) -> None:
        if self.replicas:
            self._full_sync(list(range(len(self.replicas)))[::-1])
            self._check_converged()

    # ------------------------------------------------------------------ checks

    @staticmethod
    def _shown_key(replica: TranscriptDoc, segment_id: str) -> str:
        seg = replica.doc.get("segments", type=Map)[segment_id]
        return str(seg.get("human_key") or seg["asr"]["text_key"])

    def _full_sync(self, order: list[int]) -> None:
        for a, b in itertools.permutations(order, 2):
            sync(self.replicas[a], self.replicas[b])

    def _check_converged(self) -> None:
        snaps = [r.snapshot() for r in self.replicas]
        for s in snaps[1:]:
            assert s == snaps[0]
        segments = {s["segment_id"]: s for s in snaps[0]["segments"]}
        agent = self.replicas[0]
        for segment_id, rev in self.model.asr_rev.items():
            shown = segment_id in segments
            edited = any(t.segment_id == segment_id for t in self.model.tokens.values())
            if segment_id in self.model.asr_deleted and not edited:
                assert not shown
                continue
            assert shown, f"{segment_id} vanished"
            seg = segments[segment_id]
            assert seg["rev"] == rev
            if not edited:
                # Nobody touched it: the ASR's latest word stands.
                assert seg["source"] == "asr"
                assert seg["text"] == self.model.asr_text[segment_id]
                continue
            # A person edited it: the ASR never replaces their text.
            assert seg["source"] == "human"
            key = self._shown_key(agent, segment_id)
            for token, record in self.model.tokens.items():
                if record.segment_id == segment_id and record.key == key:
                    assert seg["text"].count(token) == 1, (token, seg["text"])
            # What is not a token is what is left of one single ASR hypothesis: people
            # deleted from it, and no other hypothesis was merged into it.
            rest = TOKEN.sub("", seg["text"])
            assert any(is_subsequence(rest, h) for h in self.model.asr_history[segment_id])
            if any(t.segment_id == segment_id and t.key != key for t in self.model.tokens.values()):
                event("two people forked one segment from different ASR texts")
            # ... and the ASR's latest hypothesis stays readable beside it.
            assert seg["asr_text"] == self.model.asr_text[segment_id]
            if TOKEN.sub("", seg["text"]) != seg["asr_text"]:
                event("human text kept beside a different ASR hypothesis")
        # With one person, what they left is exactly what everyone sees.
        if len(self.replicas) == 2:
            for (_, segment_id), text in self.model.left_by.items():
                if segment_id in segments:
                    assert segments[segment_id]["text"] == text


ReplicaMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestReplicas = ReplicaMachine.TestCase

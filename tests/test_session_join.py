"""Joining: an utterance after a short pause is decoded with the final before it.

A scripted transcriber stands in for Whisper here, to pin down what the session writes;
``tests/test_hearing.py`` and ``bench/asr.py`` measure the real model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio.lowlevel
import numpy as np
import pytest

from agent.asr import Hypothesis
from agent.session import FinalWritten, StreamOptions, TranscriptionSession
from agent.vad import VadOptions
from engine import Segment, TranscriptDoc

pytestmark = pytest.mark.anyio

SR = 16_000
VAD = VadOptions(backend="energy")


class ScriptedAsr:
    """Says how many seconds of loud audio it was given: "loud 2.0"."""

    def __init__(self) -> None:
        self.calls: list[float] = []  # seconds of audio per call

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        t0: float,
        vocabulary: Sequence[str] = (),
        partial: bool = False,
    ) -> Hypothesis:
        seconds = len(audio) / SR
        self.calls.append(seconds)
        loud = np.count_nonzero(np.abs(audio.astype(np.int32)) > 1000) / SR
        return Hypothesis(t0, t0 + seconds, f"loud {loud:.1f}", [], 0.9, "en")

    def transcribe_many(
        self, utterances: Sequence[tuple[float, np.ndarray]], *, vocabulary: Sequence[str] = ()
    ) -> list[Hypothesis | None]:
        return [self.transcribe(audio, t0=t0) for t0, audio in utterances]


def signal(pattern: Sequence[tuple[float, bool]]) -> np.ndarray:
    rng = np.random.default_rng(0)
    # Loud samples are all +-8000, so the scripted ASR can count them.
    parts = [
        np.sign(rng.standard_normal(round(d * SR))) * (8000 if loud else 5) for d, loud in pattern
    ]
    return np.clip(np.concatenate(parts), -32768, 32767).astype(np.int16)


async def blocks(audio: np.ndarray) -> AsyncIterator[np.ndarray]:
    for i in range(0, len(audio), SR // 10):
        yield audio[i : i + SR // 10]
        await anyio.lowlevel.checkpoint()


async def run(
    audio: np.ndarray, options: StreamOptions | None = None, **kwargs: Any
) -> tuple[list[Segment], ScriptedAsr, TranscriptDoc, TranscriptionSession]:
    doc = TranscriptDoc.create("t-join", language="en")
    asr = ScriptedAsr()
    session = TranscriptionSession(
        doc,
        asr,  # type: ignore[arg-type]
        vad=VAD,
        options=options or StreamOptions(partial_interval_s=None),
        **kwargs,
    )
    await session.run(blocks(audio))
    return doc.snapshot()["segments"], asr, doc, session


# 1 s of speech, a 0.5 s pause, 1 s of speech, a 3 s pause, 1 s of speech.
PATTERN = [
    (0.5, False),
    (1.0, True),
    (0.5, False),
    (1.0, True),
    (3.0, False),
    (1.0, True),
    (1.0, False),
]


async def test_an_utterance_after_a_short_pause_joins_the_last_final() -> None:
    segments, asr, _, session = await run(signal(PATTERN))
    assert [s["text"] for s in segments] == ["loud 2.0", "loud 1.0"]
    first, second = segments
    assert first["segment_id"] == "seg-00001" and first["rev"] == 2
    assert first["t0"] == pytest.approx(0.3, abs=0.05)
    assert first["t1"] == pytest.approx(3.2, abs=0.05)  # the second burst's end, padded
    assert second["t0"] == pytest.approx(5.8, abs=0.05)
    assert session.stats.finals == 3 and session.stats.joined == 1
    # Three calls: the first alone, the first two together (pause included), the third.
    assert len(asr.calls) == 3
    assert asr.calls[1] == pytest.approx(first["t1"] - first["t0"], abs=0.01)


async def test_join_gap_none_decodes_every_utterance_alone() -> None:
    options = StreamOptions(partial_interval_s=None, join_gap_s=None)
    segments, _, _, session = await run(signal(PATTERN), options)
    assert [s["text"] for s in segments] == ["loud 1.0"] * 3
    assert session.stats.joined == 0


async def test_joined_speech_stays_within_join_max_s() -> None:
    options = StreamOptions(partial_interval_s=None, join_max_s=2.5)
    segments, *_ = await run(signal(PATTERN), options)
    assert len(segments) == 3


async def test_a_persons_edit_is_never_extended_by_a_join() -> None:
    doc_ref: list[TranscriptDoc] = []

    def edit_first(event: FinalWritten) -> None:
        if event.segment_id == "seg-00001" and not doc_ref[0].edited_by_person("seg-00001"):
            doc_ref[0].set_text("seg-00001", "Ana's words", user="ana")

    doc = TranscriptDoc.create("t-join", language="en")
    doc_ref.append(doc)
    asr = ScriptedAsr()
    session = TranscriptionSession(
        doc,
        asr,  # type: ignore[arg-type]
        vad=VAD,
        options=StreamOptions(partial_interval_s=None),
        on_final=edit_first,
    )
    await session.run(blocks(signal(PATTERN)))
    segments = doc.snapshot()["segments"]
    assert [s["text"] for s in segments] == ["Ana's words", "loud 1.0", "loud 1.0"]
    assert session.stats.joined == 0


async def test_a_joined_utterances_partial_is_retracted() -> None:
    # Partials every 0.3 s of speech; the second utterance's partial has its own segment
    # until its final joins the first.
    pattern = [(0.5, False), (2.0, True), (0.5, False), (2.0, True), (1.0, False)]
    options = StreamOptions(partial_interval_s=0.3, max_busy=1.0, budget=10.0)
    segments, _, doc, session = await run(signal(pattern), options)
    assert [s["text"] for s in segments] == ["loud 4.0"]
    assert session.stats.joined == 1
    # A partial shown for the second utterance (if the ASR was free for one) is retracted.
    shown = {w for w in doc.segment_ids() if w != "seg-00001"}
    assert all(w not in {s["segment_id"] for s in segments} for w in shown)

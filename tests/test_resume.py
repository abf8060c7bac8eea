"""A resumed file reads as if never interrupted: same utterances, same segments.

Real speech (FLEURS and JFK clips with pauses over a faint noise floor), Silero VAD behind
the level normalizer, and the real tiny.en model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.lowlevel
import numpy as np
import pytest
from _noise import pink
from conftest import SAMPLE_RATE, decode

from agent.asr import IncrementalTranscriber
from agent.cli._run import resume_point
from agent.session import FinalWritten, Resume, StreamOptions, TranscriptionSession
from agent.vad import Segmenter, restart_step
from engine import Segment, TranscriptDoc

CLIPS = ["fleurs-en-001", "jfk", "fleurs-en-004", "fleurs-en-002", "fleurs-en-006"]
STEP_S = restart_step(30) / SAMPLE_RATE
FILE = StreamOptions(partial_interval_s=None)


@pytest.fixture(scope="module")
def recording(audio_dir: Path) -> np.ndarray:
    """The clips at their recorded levels, 2-3.5 s apart, over pink noise at -72 dBFS."""
    rng = np.random.default_rng(7)
    parts: list[np.ndarray] = [np.zeros(SAMPLE_RATE, dtype=np.int16)]
    for name in CLIPS:
        suffix = ".flac" if name == "jfk" else ".ogg"
        parts.append(decode(audio_dir / f"{name}{suffix}"))
        parts.append(np.zeros(round(rng.uniform(2.0, 3.5) * SAMPLE_RATE), dtype=np.int16))
    audio = np.concatenate(parts).astype(np.float64)
    audio += pink(audio.size / SAMPLE_RATE, -72.0, seed=7).astype(np.float64)
    return np.clip(np.rint(audio), -32768, 32767).astype(np.int16)


def utterances(audio: np.ndarray, start_s: float = 0.0) -> list[tuple[float, float]]:
    seg, out = Segmenter(), []
    for i in range(0, audio.size, SAMPLE_RATE // 10):
        out += seg.feed(audio[i : i + SAMPLE_RATE // 10])
    out += seg.flush()
    return [(round(u.t0 + start_s, 3), round(u.t1 + start_s, 3)) for u in out]


def test_segmenter_restarted_on_the_grid_hears_the_same_utterances(
    recording: np.ndarray,
) -> None:
    """After its first second-long pause, a segmenter started anywhere on the restart grid
    cuts exactly the utterances of one that heard the stream from the start (without the
    classifier's reset at that pause, Silero's state kept tiny differences for minutes)."""
    whole = utterances(recording)
    for k in range(1, 60, 4):
        start = k * STEP_S
        # Every clip is shorter than 12 s and followed by a 2 s pause: by then it has reset.
        later = [u for u in whole if u[0] > start + 14]
        if not later:
            break
        again = utterances(recording[round(start * SAMPLE_RATE) :], start)
        assert all(u in again for u in later), f"restarted at {start:.2f} s"


async def _blocks(audio: np.ndarray) -> AsyncIterator[np.ndarray]:
    for i in range(0, audio.size, SAMPLE_RATE // 10):
        await anyio.lowlevel.checkpoint()
        yield audio[i : i + SAMPLE_RATE // 10]


def _plain(segments: list[Segment]) -> list[tuple[str, float, float, str]]:
    return [(s["segment_id"], round(s["t0"], 2), round(s["t1"], 2), s["text"]) for s in segments]


@pytest.mark.anyio
async def test_resumed_file_gives_the_same_segments(
    recording: np.ndarray, tiny_en: IncrementalTranscriber
) -> None:
    whole = TranscriptDoc.create("t-whole", language="en")
    await TranscriptionSession(whole, tiny_en, options=FILE).run(_blocks(recording))

    doc = TranscriptDoc.create("t-cut", language="en")
    three = anyio.Event()

    def count(_: FinalWritten) -> None:
        if session.stats.finals >= 3:
            three.set()

    session = TranscriptionSession(doc, tiny_en, options=FILE, on_final=count)
    with anyio.move_on_after(60):  # safety net: the cut below is what ends it
        async with anyio.create_task_group() as tg:
            tg.start_soon(session.run, _blocks(recording))
            await three.wait()
            tg.cancel_scope.cancel()  # as kill -9: finals queued, a join maybe pending
    cut = doc.snapshot()["segments"]
    assert 2 <= len(cut) < len(whole.snapshot()["segments"])

    resume, done = resume_point(doc)
    assert resume.segment_id == max(cut, key=lambda s: s["t1"])["segment_id"]
    assert resume.start <= resume.t0 and done == max(s["t1"] for s in cut)
    assert round(resume.start * SAMPLE_RATE) % restart_step(30) == 0
    rest = recording[round(resume.start * SAMPLE_RATE) :]
    await TranscriptionSession(doc, tiny_en, options=FILE, resume=resume).run(_blocks(rest))
    assert _plain(doc.snapshot()["segments"]) == _plain(whole.snapshot()["segments"])


def test_resume_point_after_a_person_edited_the_last_segment() -> None:
    """A person's text is theirs: nothing is rewritten, new speech starts after it."""
    doc = TranscriptDoc.create("t-edited", language="en")
    doc.upsert_segment("seg-00001", rev=1, text="one", t0=1.0, t1=2.0, final=True)
    doc.upsert_segment("seg-00002", rev=1, text="two", t0=3.0, t1=4.1, final=True)
    doc.upsert_segment("seg-00003", rev=1, text="thr", t0=4.5, t1=5.0, final=False)
    resume, done = resume_point(doc)
    # Read again from 30 s before it (here the start), rewriting it; the partial is retracted.
    assert resume == Resume(start=0.0, first_segment=4, segment_id="seg-00002", rev=1, t0=3.0)
    assert done == 4.1
    assert [s["segment_id"] for s in doc.snapshot()["segments"]] == ["seg-00001", "seg-00002"]
    doc.edit_text("seg-00002", 3, insert=", said Ann", user="ann")
    resume, done = resume_point(doc)
    assert resume.segment_id is None and resume.first_segment == 4
    assert resume.start >= done == 4.1 and resume.start - done < STEP_S

"""Custom vocabulary: names and jargon from the transcript's meta reach Whisper.

Real model (base) on speech from espeak-ng, whose reading of rare words the model does not
know: without the vocabulary, "Grafana" and "Postgres" come out as other words.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio.lowlevel
import numpy as np
import pytest
from conftest import SAMPLE_RATE, espeak, silence

from agent.asr import IncrementalTranscriber
from agent.session import StreamOptions, TranscriptionSession
from engine import TranscriptDoc

pytestmark = pytest.mark.anyio

SENTENCES = [
    "Please send the Grafana dashboard to the team before Thursday.",
    "The Minuta relay stores every update in Postgres.",
]
TERMS = ["Grafana", "Postgres"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    tmp = tmp_path_factory.mktemp("vocabulary")
    pieces = [silence(0.5)]
    for sentence in SENTENCES:
        pieces += [espeak(sentence, "en-us", tmp), silence(2.5)]
    return np.concatenate(pieces)


async def blocks(audio: np.ndarray) -> AsyncIterator[np.ndarray]:
    for i in range(0, len(audio), SAMPLE_RATE // 10):
        yield audio[i : i + SAMPLE_RATE // 10]
        await anyio.lowlevel.checkpoint()


async def transcript(asr: IncrementalTranscriber, audio: np.ndarray, terms: list[str]) -> str:
    doc = TranscriptDoc.create("t-vocabulary", language="en", vocabulary=terms)
    session = TranscriptionSession(doc, asr, options=StreamOptions(partial_interval_s=None))
    await session.run(blocks(audio))
    return " ".join(s["text"] for s in doc.snapshot()["segments"])


async def test_the_vocabulary_gets_rare_terms_right(
    base: IncrementalTranscriber, speech: np.ndarray
) -> None:
    without = await transcript(base, speech, [])
    with_terms = await transcript(base, speech, TERMS)
    # Measured: "DraftFodder dashboard", "post-gurs" without; both terms with.
    assert not any(term in without for term in TERMS), without
    assert all(term in with_terms for term in TERMS), with_terms


async def test_an_empty_vocabulary_changes_nothing(
    base: IncrementalTranscriber, speech: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Compared by what Whisper is asked, not by its text: a temperature fallback samples,
    # so two decodes of the same audio may differ anyway.
    asked: list[dict[str, object]] = []
    real = base.whisper.transcribe

    def spy(audio: np.ndarray, **kwargs: object) -> object:
        asked.append(kwargs)
        return real(audio, **kwargs)

    monkeypatch.setattr(base.whisper, "transcribe", spy)
    await transcript(base, speech, [])
    plain, asked[:] = list(asked), []
    await transcript(base, speech, [" ", ""])
    assert asked and all("initial_prompt" not in k and "hotwords" not in k for k in asked)
    assert [sorted(k) for k in asked] == [sorted(k) for k in plain]
    asked.clear()
    await transcript(base, speech, TERMS)
    assert all(k["initial_prompt"] == "Glossary: Grafana, Postgres." for k in asked)


async def test_a_term_added_mid_session_helps_the_next_utterance(
    base: IncrementalTranscriber, speech: np.ndarray
) -> None:
    doc = TranscriptDoc.create("t-live", language="en")
    session = TranscriptionSession(doc, base, options=StreamOptions(partial_interval_s=None))
    half = round(4.0 * SAMPLE_RATE)  # after the first sentence, before the second

    async def edited() -> AsyncIterator[np.ndarray]:
        async for block in blocks(speech[:half]):
            yield block
        # A person adds the term from the relay while the agent listens.
        doc.set_meta(vocabulary=["Postgres"])
        async for block in blocks(speech[half:]):
            yield block

    await session.run(edited())
    segments = doc.snapshot()["segments"]
    assert "Postgres" in segments[-1]["text"], segments
    assert "Grafana" not in segments[0]["text"]


def test_vocabulary_file_reaches_the_transcript(tmp_path: Path) -> None:
    from agent.cli._common import CliError
    from agent.cli._run import read_vocabulary_file

    path = tmp_path / "terms.txt"
    path.write_text("# our names\nGrafana\n\n  Postgres  \ngrafana\n", encoding="utf-8")
    assert read_vocabulary_file(path) == ["Grafana", "Postgres"]
    path.write_text("x" * 61 + "\n", encoding="utf-8")
    with pytest.raises(CliError, match="longer than 60"):
        read_vocabulary_file(path)
    with pytest.raises(CliError, match="cannot read"):
        read_vocabulary_file(tmp_path / "missing.txt")

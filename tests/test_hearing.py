"""Hear every word, invent none: the live pipeline with the real base model.

Quiet speech is the FLEURS clips recorded at -60 to -67 dBFS, and loud clips attenuated in
the test; non-speech is synthesized (``tests/_noise.py``) at several levels. Each recording
goes through its own pipeline: a VAD that adapts to what came before would hide failures in
a joined one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio.lowlevel
import numpy as np
import pytest
from _noise import LEVELS_DB, NOISES, pink
from conftest import JFK_REFERENCE, SAMPLE_RATE, decode, reference, wer

from agent.asr import IncrementalTranscriber
from agent.session import StreamOptions, TranscriptionSession
from agent.vad import Segmenter, VadOptions
from engine import Segment, TranscriptDoc

pytestmark = pytest.mark.anyio

# Recorded at -64, -65 and -63 dBFS RMS: webrtcvad alone heard 0 of the first two's words.
QUIET_CLIPS = ["fleurs-en-003", "fleurs-en-007", "fleurs-en-002"]


def rms_db(audio: np.ndarray) -> float:
    x = audio.astype(np.float64)
    return float(10 * np.log10(np.mean(x * x) / 32768.0**2 + 1e-20))


def at_level(audio: np.ndarray, level_db: float) -> np.ndarray:
    gain = 10 ** ((level_db - rms_db(audio)) / 20)
    return np.clip(np.rint(audio * gain), -32768, 32767).astype(np.int16)


async def blocks(audio: np.ndarray) -> AsyncIterator[np.ndarray]:
    n = SAMPLE_RATE // 10  # 100 ms, as a microphone delivers it
    for i in range(0, len(audio), n):
        yield audio[i : i + n]
        await anyio.lowlevel.checkpoint()


async def pipeline(
    asr: IncrementalTranscriber, audio: np.ndarray, vad: VadOptions | None = None
) -> list[Segment]:
    doc = TranscriptDoc.create("t-hearing", language="en")
    session = TranscriptionSession(
        doc, asr, vad=vad, options=StreamOptions(partial_interval_s=None)
    )
    await session.run(blocks(audio))
    return doc.snapshot()["segments"]


def text(segments: list[Segment]) -> str:
    return " ".join(s["text"] for s in segments)


# --------------------------------------------------------------------------- quiet speech


@pytest.mark.parametrize("clip", QUIET_CLIPS)
async def test_quiet_recorded_speech_is_transcribed(
    base: IncrementalTranscriber, audio_dir: Path, clip: str
) -> None:
    audio = decode(audio_dir / f"{clip}.ogg")
    assert rms_db(audio) < -60
    segments = await pipeline(base, audio)
    # Measured 0.07, 0.06 and 0.24 ("Sintra and" heard as "Cintra, in"; batch: 0.12).
    assert wer(reference(clip), text(segments)) <= 0.3, text(segments)


@pytest.mark.parametrize("level_db", [-55.0, -65.0])
async def test_loud_speech_attenuated_is_transcribed(
    base: IncrementalTranscriber, audio_dir: Path, level_db: float
) -> None:
    audio = at_level(decode(audio_dir / "jfk.flac"), level_db)
    segments = await pipeline(base, audio)
    assert wer(JFK_REFERENCE, text(segments)) <= 0.15, text(segments)


async def test_quiet_speech_over_a_noise_floor_is_transcribed(
    base: IncrementalTranscriber, audio_dir: Path
) -> None:
    speech = at_level(decode(audio_dir / "jfk.flac"), -55.0)
    noisy = np.clip(speech.astype(np.int32) + pink(speech.size / SAMPLE_RATE, -75.0), -32768, 32767)
    segments = await pipeline(base, noisy.astype(np.int16))
    assert wer(JFK_REFERENCE, text(segments)) <= 0.15, text(segments)


async def test_a_sentence_the_fitted_window_cuts_short_is_decoded_whole(
    base: IncrementalTranscriber, audio_dir: Path
) -> None:
    # fleurs-en-007 (-65 dBFS) 5 dB over this pink floor: the VAD hears its 5 s, but in the
    # encoder window fitted to them base gives "20" alone (found by the soak, where it
    # dropped the clip 3 times in 2 hours). The stock 30 s window reads it whole.
    speech = decode(audio_dir / "fleurs-en-007.ogg")
    noisy = pink(speech.size / SAMPLE_RATE + 3.0, -70.0, seed=10).astype(np.int32)
    noisy[SAMPLE_RATE : SAMPLE_RATE + speech.size] += speech
    before = base.full_window_retries
    segments = await pipeline(base, np.clip(noisy, -32768, 32767).astype(np.int16))
    assert wer(reference("fleurs-en-007"), text(segments)) <= 0.3, text(segments)
    assert base.full_window_retries == before + 1


async def test_webrtc_hears_quiet_speech_through_the_normalizer(
    base: IncrementalTranscriber, audio_dir: Path
) -> None:
    audio = decode(audio_dir / "fleurs-en-003.ogg")
    segments = await pipeline(base, audio, VadOptions(backend="webrtc"))
    assert wer(reference("fleurs-en-003"), text(segments)) <= 0.2, text(segments)


def speech_seconds(audio: np.ndarray, options: VadOptions) -> float:
    seg = Segmenter(options)
    return sum(u.duration for u in seg.feed(audio) + seg.flush())


def test_the_normalizer_is_what_lets_webrtcvad_hear_a_far_speaker(audio_dir: Path) -> None:
    # fleurs-en-002: 11.5 s, nearly all speech, at -63 dBFS.
    audio = decode(audio_dir / "fleurs-en-002.ogg")
    bare = speech_seconds(audio, VadOptions(backend="webrtc", agc=False))
    normalized = speech_seconds(audio, VadOptions(backend="webrtc"))
    silero = speech_seconds(audio, VadOptions())
    assert bare < 0.6 * silero
    assert normalized > 0.9 * silero
    assert silero > 9.5


@pytest.mark.parametrize("backend", ["silero", "webrtc"])
def test_detection_does_not_depend_on_the_level(audio_dir: Path, backend: str) -> None:
    audio = decode(audio_dir / "fleurs-en-005.ogg")  # recorded at -20 dBFS
    options = VadOptions(backend=backend)  # type: ignore[arg-type]
    found = [speech_seconds(at_level(audio, db), options) for db in (-20.0, -45.0, -65.0)]
    assert max(found) - min(found) <= 0.1 * max(found), found


# --------------------------------------------------------------------------- non-speech


@pytest.mark.parametrize("level_db", LEVELS_DB)
@pytest.mark.parametrize("noise", sorted(NOISES))
async def test_non_speech_yields_no_segments(
    base: IncrementalTranscriber, noise: str, level_db: float
) -> None:
    audio = NOISES[noise](60.0, level_db, 1)
    assert await pipeline(base, audio) == []


@pytest.mark.parametrize("level_db", LEVELS_DB)
@pytest.mark.parametrize("noise", sorted(NOISES))
def test_silero_hears_no_speech_in_non_speech(noise: str, level_db: float) -> None:
    # Below the pipeline, so that the guard behind it is not what saves the day.
    for seed in (2, 3):
        assert speech_seconds(NOISES[noise](30.0, level_db, seed), VadOptions()) == 0.0


@pytest.mark.parametrize("name", ["agent._decoding", "agent.whisper_window", "agent.asr"])
def test_docstring_examples(name: str, base: IncrementalTranscriber) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0

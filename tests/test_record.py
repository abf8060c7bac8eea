"""``minuta record``'s loop: a (fake) microphone into the pipeline until a real SIGTERM."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from conftest import JFK_REFERENCE, decode, wer
from test_session import FakeInputStream, text_of

from agent.asr import IncrementalTranscriber
from agent.audio import SAMPLE_RATE, Microphone
from agent.cli.record import record_until_stopped
from agent.session import StreamOptions, TranscriptionSession
from engine import TranscriptDoc


def test_record_runs_until_sigterm_and_finishes_the_last_utterance(
    audio_dir: Path, tiny_en: IncrementalTranscriber
) -> None:
    speech = decode(audio_dir / "jfk.flac")
    audio = np.concatenate([speech, np.zeros(SAMPLE_RATE, dtype=np.int16)])
    streams: list[FakeInputStream] = []

    def factory(**kwargs: Any) -> FakeInputStream:
        streams.append(FakeInputStream(audio, 0.25, **kwargs))  # 4x real time
        return streams[-1]

    doc = TranscriptDoc.create("rec-test")
    session = TranscriptionSession(doc, tiny_en, options=StreamOptions(partial_interval_s=1.0))
    mic = Microphone(stream_factory=factory, block_s=0.1)
    mic.start()

    async def main() -> None:
        async def stop_when_played() -> None:
            await anyio.to_thread.run_sync(streams[0].finished.wait)
            # What Ctrl-C or a service manager sends; the loop must catch it, not die.
            os.kill(os.getpid(), signal.SIGTERM)

        async with anyio.create_task_group() as tg:
            tg.start_soon(stop_when_played)
            await record_until_stopped(session, mic)

    try:
        anyio.run(main)
    finally:
        mic.close()
    text = text_of(doc.snapshot()["segments"])
    assert wer(JFK_REFERENCE, text) <= 0.15, text
    assert all(s["final"] for s in doc.snapshot()["segments"])

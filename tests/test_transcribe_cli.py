"""``minuta transcribe``, ``record``, ``devices`` and ``demo`` as a user runs them: the
installed console script in a subprocess, real models, real speech.

English runs use the bundled ``tiny.en`` for speed; Spanish and the demo use the default
``base``, joined once into a per-session model cache. Every run keeps its transcripts in a
temporary ``$MINUTA_AGENT_DIR``.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unicodedata
import wave
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest

from agent.asr import AsrOptions, IncrementalTranscriber
from agent.audio import SAMPLE_RATE, read_file
from agent.vad import Segmenter
from engine import TranscriptDoc

MINUTA = Path(sys.executable).parent / "minuta"
AUDIO_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio"
PROJECT = Path(__file__).resolve().parents[1]
OUTPUTS = ("session.md", "session.srt", "session.vtt", "session.json")
JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


# --------------------------------------------------------------------------- helpers


def normalize(text: str) -> str:
    """Lower case, no punctuation, single spaces (accents kept)."""
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))


def write_wav(path: Path, pcm: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype(np.int16).tobytes())
    return path


def decode(path: Path) -> np.ndarray:
    return np.concatenate(list(read_file(path, chunk_s=5.0)))


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for every run: ``base`` is joined (145 MB) only once."""
    return tmp_path_factory.mktemp("cli-model-cache")


@pytest.fixture
def cli_env(tmp_path: Path, model_cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MINUTA_AGENT_DIR": str(tmp_path / "agent-store"),
        "MINUTA_CACHE_DIR": str(model_cache),
        "PYTHONIOENCODING": "utf-8",
    }


def minuta(
    *args: str | Path, env: dict[str, str], cwd: Path | None = None, timeout: float = 300
) -> Run:
    result = subprocess.run(
        [str(MINUTA), *map(str, args)],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )
    return Run(
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def assert_one_line_error(run: Run, command: str) -> str:
    """Exit status 2, one error line on stderr, no traceback, nothing on stdout."""
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert run.stdout == ""
    assert run.stderr.endswith("\n")
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"minuta {command}: error: "), run.stderr
    return run.stderr


def assert_error_after_loading(run: Run, command: str) -> str:
    """Exit 2 and no traceback; the error is the last line, after the "Loading…" notice."""
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    errors = [line for line in lines if line.startswith(f"minuta {command}: error: ")]
    assert len(errors) == 1, run.stderr
    assert lines[-1] == errors[0]
    assert all(line.startswith("Loading the ") for line in lines[:-1]), run.stderr
    return errors[0]


def assert_no_exports(out: Path) -> None:
    """Nothing was exported (the folder itself is made early, to check --out before work)."""
    assert not out.exists() or list(out.iterdir()) == [], list(out.iterdir())


def load_json(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "session.json").read_text(encoding="utf-8"))
    return data


def assert_outputs(out: Path) -> dict[str, Any]:
    for name in OUTPUTS:
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    return load_json(out)


def assert_well_formed(segments: Sequence[dict[str, Any]], *, slack: float = 0.05) -> None:
    """Final segments in time order, not overlapping, words inside their segment."""
    assert segments
    ids = [s["segment_id"] for s in segments]
    assert len(set(ids)) == len(ids)
    previous_t1 = 0.0
    for s in segments:
        assert s["meta"]["final"] is True, s
        assert s["text"].strip(), s
        assert 0.0 <= s["t0"] < s["t1"], s
        assert s["t0"] >= previous_t1 - slack, f"{s['segment_id']} overlaps the one before"
        previous_t1 = s["t1"]
        last_word_end = s["t0"]
        for word, w0, w1, prob in s["meta"]["words"]:
            assert word.strip()
            assert s["t0"] - 1e-6 <= w0 <= w1 <= s["t1"] + 1e-6, (word, w0, w1, s["t0"], s["t1"])
            assert w0 >= last_word_end - 1e-6, f"words out of order in {s['segment_id']}"
            last_word_end = w1
            assert 0.0 <= prob <= 1.0


def text_of(segments: Sequence[dict[str, Any]]) -> str:
    return " ".join(s["text"] for s in segments)


# --------------------------------------------------------------------------- transcribe


def test_transcribe_english_file(tmp_path: Path, cli_env: dict[str, str]) -> None:
    out = tmp_path / "out"
    run = minuta(
        "transcribe", AUDIO_DIR / "jfk.flac", "--model", "tiny.en", "--out", out, env=cli_env
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    data = assert_outputs(out)

    assert data["format"] == 1
    assert data["language"] == "en"
    assert data["title"] == "jfk"
    assert data["transcript_id"].startswith("file-")
    assert data["meta"]["model"] == "tiny.en"
    assert data["meta"]["upload_audio"] is False
    segments = data["segments"]
    assert_well_formed(segments)
    assert all(s["meta"]["words"] for s in segments)
    assert all(s["meta"]["source"] == "asr" and s["meta"]["lang"] == "en" for s in segments)
    assert segments[-1]["t1"] <= 11.1
    assert wer(JFK_REFERENCE, text_of(segments)) <= 0.2, text_of(segments)

    summary = run.stdout.splitlines()
    assert re.search(r"\b\d+ new from 11\.\d s of audio\b", run.stdout), run.stdout
    assert "real time" in run.stdout
    assert summary[-1].startswith("Wrote ")
    for name in OUTPUTS:
        assert str(out / name) in summary[-1]
    # The other exports say the same thing.
    assert "fellow Americans" in (out / "session.md").read_text(encoding="utf-8")
    assert "-->" in (out / "session.srt").read_text(encoding="utf-8")
    assert (out / "session.vtt").read_text(encoding="utf-8").startswith("WEBVTT")


@dataclass(frozen=True)
class Rerun:
    out: Path
    before: dict[str, Any]
    after: dict[str, Any]
    second: Run


@pytest.fixture(scope="module")
def jfk_rerun(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Rerun:
    """jfk.flac transcribed without --out, then the same command run again."""
    tmp = tmp_path_factory.mktemp("rerun")
    env = {
        **os.environ,
        "MINUTA_AGENT_DIR": str(tmp / "agent-store"),
        "MINUTA_CACHE_DIR": str(model_cache),
        "PYTHONIOENCODING": "utf-8",
    }
    audio = tmp / "jfk.flac"
    audio.write_bytes((AUDIO_DIR / "jfk.flac").read_bytes())
    first = minuta("transcribe", audio, "--model", "tiny.en", env=env, cwd=tmp)
    assert first.returncode == 0, first.stderr
    out = tmp / "jfk.flac.minuta"
    before = assert_outputs(out)
    second = minuta("transcribe", audio, "--model", "tiny.en", env=env, cwd=tmp)
    assert second.returncode == 0, second.stderr
    return Rerun(out, before, load_json(out), second)


def test_transcribe_default_out_dir_and_rerun(jfk_rerun: Rerun) -> None:
    """Without --out the exports go beside the audio; a second run of a finished file
    resumes after its end and leaves the transcript as it was."""
    assert jfk_rerun.out.name == "jfk.flac.minuta"
    assert "is already transcribed" in jfk_rerun.second.stdout
    assert "Loading" not in jfk_rerun.second.stderr  # nothing left to hear: no model
    assert "Traceback" not in jfk_rerun.second.stderr
    assert jfk_rerun.after["transcript_id"] == jfk_rerun.before["transcript_id"]
    assert jfk_rerun.after["segments"] == jfk_rerun.before["segments"]


def test_rerun_of_a_finished_file_prints_a_sane_summary(jfk_rerun: Rerun) -> None:
    factors = [float(f) for f in re.findall(r"([\d.]+)x real time", jfk_rerun.second.stdout)]
    assert all(f < 100 for f in factors), jfk_rerun.second.stdout


def test_transcribe_spanish_with_base(tmp_path: Path, cli_env: dict[str, str]) -> None:
    out = tmp_path / "out"
    clip = "fleurs-es-000"
    run = minuta(
        "transcribe", AUDIO_DIR / f"{clip}.ogg", "--language", "es", "--out", out, env=cli_env
    )
    assert run.returncode == 0, run.stderr
    assert "Loading the base model" in run.stderr  # base is the default
    data = assert_outputs(out)
    assert data["language"] == "es"
    assert data["meta"]["model"] == "base"
    assert_well_formed(data["segments"])
    assert all(s["meta"]["lang"] == "es" for s in data["segments"])
    reference = (AUDIO_DIR / f"{clip}.txt").read_text(encoding="utf-8")
    # Measured 0.07 (base, CPU int8): "riesgo de" heard as "rijo del".
    assert wer(reference, text_of(data["segments"])) <= 0.3
    # Spanish headings in the Markdown export.
    assert "## Transcripción" in (out / "session.md").read_text(encoding="utf-8")


def test_transcribe_with_a_vocabulary_file(tmp_path: Path, cli_env: dict[str, str]) -> None:
    wav = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav),
         "The Minuta relay stores every update in Postgres."],
        check=True, capture_output=True,
    )  # fmt: skip
    terms = tmp_path / "terms.txt"
    terms.write_text("# names we use\nPostgres\nMinuta\n", encoding="utf-8")
    out = tmp_path / "out"
    run = minuta(
        "transcribe", wav, "--language", "en", "--vocabulary", terms, "--out", out, env=cli_env
    )
    assert run.returncode == 0, run.stderr
    data = assert_outputs(out)
    assert data["meta"]["vocabulary"] == ["Postgres", "Minuta"]
    # Measured without it: "The mid-gurrile stores every update in post-gurs."
    assert "Postgres" in text_of(data["segments"])
    bad = minuta("transcribe", wav, "--vocabulary", tmp_path / "none.txt", env=cli_env)
    assert "cannot read the vocabulary" in assert_one_line_error(bad, "transcribe")


# --------------------------------------------------------------------------- bad input


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "noise.wav").write_bytes(random.Random(1234).randbytes(64 * 1024))
    (tmp_path / "notes.txt").write_text("Minutes of the meeting\n" * 50, encoding="utf-8")
    (tmp_path / "notes.mp3").write_text("not audio either\n" * 50, encoding="utf-8")
    write_wav(tmp_path / "no-frames.wav", np.zeros(0, np.int16))
    return {
        "missing": tmp_path / "missing.wav",
        "folder": tmp_path / "a-folder",
        "empty": tmp_path / "empty.wav",
        "random-bytes": tmp_path / "noise.wav",
        "text": tmp_path / "notes.txt",
        "text-as-mp3": tmp_path / "notes.mp3",
        "no-frames": tmp_path / "no-frames.wav",
    }


@pytest.mark.parametrize(
    "case", ["missing", "folder", "empty", "random-bytes", "text", "text-as-mp3", "no-frames"]
)
def test_transcribe_unreadable_input(tmp_path: Path, cli_env: dict[str, str], case: str) -> None:
    path = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out"
    run = minuta("transcribe", path, "--model", "tiny.en", "--out", out, env=cli_env)
    error = assert_one_line_error(run, "transcribe")
    assert "Loading" not in run.stderr  # refused before the model loads
    assert path.name in error
    assert_no_exports(out)
    assert not (tmp_path / "agent-store").exists()  # nothing stored either


def test_transcribe_unwritable_out(tmp_path: Path, cli_env: dict[str, str]) -> None:
    audio = write_wav(tmp_path / "tone.wav", np.zeros(SAMPLE_RATE, np.int16))
    (tmp_path / "a-file").write_text("in the way")
    run = minuta(
        "transcribe", audio, "--model", "tiny.en", "--out", tmp_path / "a-file" / "o", env=cli_env
    )
    error = assert_one_line_error(run, "transcribe")
    assert "Loading" not in run.stderr  # a bad --out fails before the model loads
    assert "a-file" in error


def test_transcribe_missing_model_dir(tmp_path: Path, cli_env: dict[str, str]) -> None:
    audio = write_wav(tmp_path / "tone.wav", np.zeros(SAMPLE_RATE, np.int16))
    run = minuta(
        "transcribe", audio, "--model", "/no/such/dir", "--out", tmp_path / "o", env=cli_env
    )
    error = assert_error_after_loading(run, "transcribe")
    assert "/no/such/dir" in error
    assert_no_exports(tmp_path / "o")


def test_transcribe_model_dir_without_model(tmp_path: Path, cli_env: dict[str, str]) -> None:
    audio = write_wav(tmp_path / "tone.wav", np.zeros(SAMPLE_RATE, np.int16))
    (tmp_path / "not-a-model").mkdir()
    run = minuta("transcribe", audio, "--model", tmp_path / "not-a-model", env=cli_env)
    assert "model.bin" in assert_error_after_loading(run, "transcribe")


def test_transcribe_english_only_model_refuses_spanish(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    audio = AUDIO_DIR / "fleurs-es-000.ogg"
    run = minuta("transcribe", audio, "--model", "tiny.en", "--language", "es", env=cli_env)
    assert "English-only" in assert_error_after_loading(run, "transcribe")


def test_transcribe_corrupt_local_store(tmp_path: Path, cli_env: dict[str, str]) -> None:
    store = Path(cli_env["MINUTA_AGENT_DIR"]) / "broken"
    store.mkdir(parents=True)
    (store / "doc.sqlite").write_bytes(b"not a database\n" * 400)
    out = tmp_path / "out"
    run = minuta(
        "transcribe", AUDIO_DIR / "jfk.flac", "--model", "tiny.en", "--id", "broken",
        "--out", out, env=cli_env,
    )  # fmt: skip
    assert "local transcript store" in assert_error_after_loading(run, "transcribe")
    assert_no_exports(out)


@pytest.mark.parametrize("bad_id", ["../escape", "a/b"])
def test_transcribe_unsafe_id(tmp_path: Path, cli_env: dict[str, str], bad_id: str) -> None:
    audio = write_wav(tmp_path / "tone.wav", np.zeros(SAMPLE_RATE, np.int16))
    run = minuta("transcribe", audio, "--model", "tiny.en", "--id", bad_id, env=cli_env)
    assert "cannot name a folder" in assert_error_after_loading(run, "transcribe")
    assert not (tmp_path / "escape").exists()


# --------------------------------------------------------------------------- kill -9, resume


@dataclass(frozen=True)
class LongInput:
    path: Path
    reference: str
    seconds: float


@pytest.fixture(scope="module")
def long_input(tmp_path_factory: pytest.TempPathFactory) -> LongInput:
    """Ten FLEURS English clips and JFK, one second of silence after each (~113 s).

    It has to be this long: a file is read faster than the ASR, so after the first
    utterance the session sends ~60 s of queued speech (MAX_BACKLOG_S) in one
    ``transcribe_many`` call, whose finals all land at once; only the audio after that
    is still to transcribe when the test has seen two finals and kills the process.
    """
    names = [f"fleurs-en-{i:03d}" for i in range(10)]
    pieces: list[np.ndarray] = []
    references: list[str] = []
    for name in names:
        pieces += [decode(AUDIO_DIR / f"{name}.ogg"), np.zeros(SAMPLE_RATE, np.int16)]
        references.append((AUDIO_DIR / f"{name}.txt").read_text(encoding="utf-8").strip())
    pieces += [decode(AUDIO_DIR / "jfk.flac"), np.zeros(SAMPLE_RATE, np.int16)]
    references.append(JFK_REFERENCE)
    pcm = np.concatenate(pieces)
    path = write_wav(tmp_path_factory.mktemp("long") / "long.wav", pcm)
    return LongInput(path, " ".join(references), len(pcm) / SAMPLE_RATE)


class StoreReader:
    """Follows a transcript's SQLite log through a read-only connection (never writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.doc = TranscriptDoc()
        self._seq = 0
        self._db: sqlite3.Connection | None = None

    def poll(self) -> list[dict[str, Any]]:
        """The final segments written so far (none while the store does not exist yet)."""
        if self._db is None:
            if not self.path.exists():
                return []
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            rows = self._db.execute(
                "SELECT seq, data FROM updates WHERE seq > ? ORDER BY seq", (self._seq,)
            ).fetchall()
        except sqlite3.OperationalError:  # the table is not created yet
            return []
        for seq, data in rows:
            self.doc.apply_update(bytes(data))
            self._seq = seq
        return [dict(s) for s in self.doc.snapshot()["segments"] if s["final"]]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def read_store(path: Path) -> list[dict[str, Any]]:
    reader = StoreReader(path)
    try:
        return reader.poll()
    finally:
        reader.close()


@pytest.fixture
def reader_cleanup() -> Iterator[list[StoreReader]]:
    readers: list[StoreReader] = []
    yield readers
    for r in readers:
        r.close()


def test_kill_9_then_resume(
    tmp_path: Path,
    cli_env: dict[str, str],
    long_input: LongInput,
    reader_cleanup: list[StoreReader],
) -> None:
    out = tmp_path / "out"
    command = [
        str(MINUTA), "transcribe", str(long_input.path), "--model", "tiny.en",
        "--id", "long-1", "--out", str(out),
    ]  # fmt: skip
    db = Path(cli_env["MINUTA_AGENT_DIR"]) / "long-1" / "doc.sqlite"
    reader = StoreReader(db)
    reader_cleanup.append(reader)

    with (tmp_path / "run1.out").open("wb") as out1, (tmp_path / "run1.err").open("wb") as err1:
        child = subprocess.Popen(command, stdout=out1, stderr=err1, env=cli_env)
        try:
            deadline = time.monotonic() + 120
            seen: list[dict[str, Any]] = []
            while child.poll() is None and time.monotonic() < deadline:
                seen = reader.poll()
                if len(seen) >= 2:
                    child.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.01)
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    first_stderr = (tmp_path / "run1.err").read_text(encoding="utf-8", errors="replace")
    assert len(seen) >= 2, f"saw {len(seen)} finals before the run ended:\n{first_stderr}"
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "session.json").exists()  # killed before the exports
    reader.close()

    killed = read_store(db)
    assert len(killed) >= len(seen)
    before = {s["segment_id"]: (s["text"], s["t0"], s["t1"]) for s in killed}

    resumed = subprocess.run(command, capture_output=True, env=cli_env, timeout=300, check=False)
    stdout = resumed.stdout.decode("utf-8", "replace")
    stderr = resumed.stderr.decode("utf-8", "replace")
    assert resumed.returncode == 0, stderr
    assert "Traceback" not in stderr
    last_t1 = max(t1 for _, _, t1 in before.values())
    assert f"Resuming after {last_t1:.1f} s" in stdout, stdout

    data = assert_outputs(out)
    segments = data["segments"]
    after = {s["segment_id"]: (s["text"], s["t0"], s["t1"]) for s in segments}
    # The last final is heard again from its start and rewritten (what followed it would
    # have joined it); every other one stays as it was.
    last_id = max(before, key=lambda i: before[i][2])
    for segment_id, old in before.items():
        assert segment_id in after, f"{segment_id} lost by the resume"
        if segment_id != last_id:
            assert after[segment_id] == old, f"{segment_id} changed by the resume"
    assert abs(after[last_id][1] - before[last_id][1]) < 0.1
    assert after[last_id][2] >= before[last_id][2] - 0.1
    # The store holds what the exports say.
    assert {s["segment_id"]: (s["text"], s["t0"], s["t1"]) for s in read_store(db)} == after

    new = [s for s in segments if s["segment_id"] not in before]
    assert new, "nothing was left to transcribe after the kill: the test proved nothing"
    assert min(s["t0"] for s in new) >= last_t1 - 0.05
    old_numbers = [int(i.removeprefix("seg-")) for i in before]
    assert all(int(s["segment_id"].removeprefix("seg-")) > max(old_numbers) for s in new)

    assert_well_formed(segments)
    assert segments[-1]["t1"] <= long_input.seconds + 0.05
    texts = [normalize(s["text"]) for s in segments]
    assert len(set(texts)) == len(texts), "a segment was transcribed twice"

    # Measured 0.45-0.50 on the 2-core CPU (tiny.en, int8), about what an uninterrupted
    # run gets: the packing of queued utterances loses whole utterances (see
    # test_packed_utterances_are_all_transcribed). Transcribed one by one, ~0.10.
    # Tighten to ~0.25 when that is fixed.
    score = wer(long_input.reference, text_of(segments))
    assert score <= 0.6, f"WER {score:.2f}: {text_of(segments)}"


@pytest.fixture(scope="module")
def tiny_en_model(model_cache: Path) -> IncrementalTranscriber:
    return IncrementalTranscriber(AsrOptions(model="tiny.en"))


def test_packed_utterances_are_all_transcribed(
    long_input: LongInput, tiny_en_model: IncrementalTranscriber
) -> None:
    """What `minuta transcribe` does with a backlog, without its timing: the utterances the
    VAD cut from read speech, all sent to ``transcribe_many`` at once, all come back.

    Measured with tiny.en (CPU int8): transcribed one call per utterance, every utterance
    has text and the WER is 0.08; packed before the fix, 6 of 18 were None and the WER was
    0.45. Skipped utterances are now decoded again on their own.
    """
    segmenter = Segmenter()
    utterances = []
    for chunk in read_file(long_input.path):
        utterances += segmenter.feed(chunk)
    utterances += segmenter.flush()
    assert len(utterances) >= 11  # at least one per clip
    packed = tiny_en_model.transcribe_many([(u.t0, u.audio) for u in utterances])
    lost = [round(u.t0, 2) for u, h in zip(utterances, packed, strict=True) if h is None]
    text = " ".join(h.text for h in packed if h is not None and h.dropped is None)
    score = wer(long_input.reference, text)
    # Packing still costs accuracy (measured 0.23 here), which is why it is opt-in (--fast).
    assert not lost and score <= 0.3, f"lost utterances at {lost} s, WER {score:.2f}"


# --------------------------------------------------------------------------- microphones


def _portaudio_present() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import sounddevice"], capture_output=True, timeout=60, check=False
    )
    return probe.returncode == 0


def test_devices(cli_env: dict[str, str]) -> None:
    run = minuta("devices", env=cli_env, timeout=60)
    assert "Traceback" not in run.stderr + run.stdout
    if not _portaudio_present():
        error = assert_one_line_error(run, "devices")
        assert "PortAudio" in error
        assert "libportaudio2" in error
    elif run.returncode == 0:
        assert run.stdout.startswith(("No input devices found.", "   # name")), run.stdout
    else:
        assert_one_line_error(run, "devices")


def test_record_without_a_microphone(tmp_path: Path, cli_env: dict[str, str]) -> None:
    if _portaudio_present():
        listing = minuta("devices", env=cli_env, timeout=60)
        if listing.returncode == 0 and "No input devices found." not in listing.stdout:
            pytest.skip("this machine has a microphone: `minuta record` would record")
    run = minuta("record", "--model", "tiny.en", "--out", tmp_path / "o", env=cli_env, timeout=120)
    error = assert_one_line_error(run, "record")
    assert "Loading" not in run.stderr  # the microphone is checked before the model loads
    assert "PortAudio" in error or "microphone" in error.lower()
    assert_no_exports(tmp_path / "o")
    assert not (tmp_path / "agent-store").exists()


# --------------------------------------------------------------------------- demo, help


def test_demo(tmp_path: Path, cli_env: dict[str, str]) -> None:
    out = tmp_path / "demo"
    run = minuta("demo", "--out", out, "--port", "0", "--no-serve", env=cli_env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "Transcribing the bundled sample demo-meeting.ogg" in run.stdout
    printed = re.findall(r"^\[\d\d:\d\d:\d\d\] \S.*$", run.stdout, flags=re.MULTILINE)
    assert len(printed) >= 3, run.stdout
    data = assert_outputs(out)
    assert data["title"] == "Demo meeting"
    assert data["meta"]["model"] == "base"
    assert data["language"] == "en"
    assert_well_formed(data["segments"])
    transcript = text_of(data["segments"])
    assert "roadmap" in transcript.lower()
    assert "friday" in transcript.lower()
    assert "# Demo meeting" in run.stdout  # the Markdown export is printed too
    assert [p.name for p in tmp_path.iterdir() if p.name != "agent-store"] == ["demo"]
    # The transcript went through a relay on SQLite: its update log holds the same doc.
    page = re.search(r"^Page: (http://127\.0\.0\.1:\d+/#/t/(\S+))$", run.stdout, re.MULTILINE)
    assert page is not None, run.stdout
    assert "Synced to http://127.0.0.1:" in run.stdout
    relayed = TranscriptDoc()
    with closing(sqlite3.connect(out / "relay" / "minuta.sqlite3")) as database:
        rows = database.execute(
            "SELECT data FROM doc_updates WHERE transcript_id = ? ORDER BY seq", (page[2],)
        )
        for (update,) in rows:
            relayed.apply_update(update)
    assert " ".join(s["text"] for s in relayed.snapshot()["segments"]) == transcript
    # The workers ran once at the end: the page shows their summary and actions.
    assert "## Actions" in run.stdout
    assert relayed.snapshot()["summary"] is not None and relayed.snapshot()["actions"]
    assert (out / "relay" / "jwt-secret").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("command", ["transcribe", "record", "devices", "demo"])
def test_help(command: str, cli_env: dict[str, str]) -> None:
    run = minuta(command, "--help", env=cli_env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"usage: minuta {command}")
    assert run.stderr == ""

"""``--keep-audio``: the kept audio file (AES-GCM records on the transcript's timeline), its
key, ``minuta audio export``, and a resumed ``minuta transcribe`` keeping one timeline."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from agent.audio import SAMPLE_RATE, read_file
from agent.audio_keep import (
    AUDIO_FILE,
    KEY_ENV,
    AudioKeeper,
    AudioKeyError,
    AudioTamperedError,
    KeptAudioError,
    load_key,
    read_kept,
)
from agent.store import LocalStore
from engine import Origin, TranscriptDoc

MINUTA = Path(sys.executable).parent / "minuta"
JFK = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio" / "jfk.flac"


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "audio.key"
    monkeypatch.setenv(KEY_ENV, str(path))
    return path


@pytest.fixture
def key(key_file: Path) -> bytes:
    return load_key(create=True)


def noise(seconds: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-20000, 20000, round(seconds * SAMPLE_RATE), dtype=np.int16)


def pieces(pcm: np.ndarray, seed: int = 2) -> Iterator[np.ndarray]:
    """``pcm`` in chunks of uneven sizes, as a microphone or a decoder delivers it."""
    rng = np.random.default_rng(seed)
    i = 0
    while i < len(pcm):
        n = int(rng.integers(100, 6000))
        yield pcm[i : i + n]
        i += n


def keep(folder: Path, key: bytes, pcm: np.ndarray, start_s: float = 0.0, tid: str = "t-1") -> None:
    with AudioKeeper(folder / tid, tid, key, start_s=start_s) as keeper:
        for chunk in keeper.tee(pieces(pcm)):
            assert chunk.dtype == np.int16
    assert keeper.failed is None


# --------------------------------------------------------------------------- the key


def test_the_key_is_made_once_0600_and_never_next_to_the_audio(
    tmp_path: Path, key_file: Path
) -> None:
    with pytest.raises(AudioKeyError, match="is missing"):
        load_key()
    assert not key_file.exists()  # reading never makes one
    key = load_key(create=True)
    assert len(key) == 32 and key_file.read_bytes() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(create=True) == key == load_key()
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["audio.key"]  # no temp left
    key_file.write_bytes(b"short")
    with pytest.raises(AudioKeyError, match="not an audio key"):
        load_key()


def test_the_key_lives_in_the_config_dir_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("MINUTA_CONFIG_DIR", str(tmp_path / "cfg"))
    load_key(create=True)
    assert (tmp_path / "cfg" / "audio.key").is_file()


# --------------------------------------------------------------------------- the file


def test_round_trip_and_the_file_is_not_the_audio(tmp_path: Path, key: bytes) -> None:
    pcm = noise(3.3)
    keep(tmp_path, key, pcm)
    path = tmp_path / "t-1" / AUDIO_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert np.array_equal(read_kept(tmp_path, "t-1", key), pcm)
    raw = path.read_bytes()
    data = pcm.tobytes()
    for at in range(0, len(data) - 64, len(data) // 20):
        assert data[at : at + 64] not in raw


def test_float_chunks_are_kept_as_the_session_hears_them(tmp_path: Path, key: bytes) -> None:
    pcm = noise(1.5)
    with AudioKeeper(tmp_path / "t-1", "t-1", key) as keeper:
        keeper.append(pcm.astype(np.float32) / 32768)
    assert np.array_equal(read_kept(tmp_path, "t-1", key), pcm)


def test_a_changed_byte_or_a_moved_record_is_refused(tmp_path: Path, key: bytes) -> None:
    keep(tmp_path, key, noise(3.5))
    path = tmp_path / "t-1" / AUDIO_FILE
    good = path.read_bytes()
    record = 40 + SAMPLE_RATE * 2 + 16  # one second a record
    # A flipped bit in the second record's audio.
    changed = bytearray(good)
    changed[16 + record + 40 + 100] ^= 1
    path.write_bytes(bytes(changed))
    with pytest.raises(AudioTamperedError, match="record 1 does not authenticate"):
        read_kept(tmp_path, "t-1", key)
    # The first two records swapped (each authenticates its index and start).
    first, second = good[16 : 16 + record], good[16 + record : 16 + 2 * record]
    path.write_bytes(good[:16] + second + first + good[16 + 2 * record :])
    with pytest.raises(AudioTamperedError):
        read_kept(tmp_path, "t-1", key)
    # The file moved into another transcript's folder.
    (tmp_path / "t-2").mkdir()
    (tmp_path / "t-2" / AUDIO_FILE).write_bytes(good)
    with pytest.raises(AudioTamperedError):
        read_kept(tmp_path, "t-2", key)
    path.write_bytes(good)
    assert len(read_kept(tmp_path, "t-1", key)) == round(3.5 * SAMPLE_RATE)


def test_another_key_is_told_apart_from_damage(tmp_path: Path, key: bytes) -> None:
    keep(tmp_path, key, noise(1.0))
    with pytest.raises(AudioKeyError, match="another key"):
        read_kept(tmp_path, "t-1", os.urandom(32))
    with pytest.raises(AudioKeyError, match="another key"):
        AudioKeeper(tmp_path / "t-1", "t-1", os.urandom(32))


def test_no_kept_audio_says_so(tmp_path: Path, key: bytes) -> None:
    with pytest.raises(KeptAudioError, match="no kept audio"):
        read_kept(tmp_path, "t-1", key)
    with pytest.raises(KeptAudioError, match="not a transcript id"):
        read_kept(tmp_path, "../t-1", key)


def test_a_torn_last_record_is_dropped_and_the_next_session_appends_after_it(
    tmp_path: Path, key: bytes
) -> None:
    pcm = noise(4.0)
    keep(tmp_path, key, pcm[: 3 * SAMPLE_RATE])
    path = tmp_path / "t-1" / AUDIO_FILE
    with path.open("r+b") as f:  # the crash came in the middle of the third record
        f.truncate(path.stat().st_size - 5000)
    assert np.array_equal(read_kept(tmp_path, "t-1", key), pcm[: 2 * SAMPLE_RATE])
    # The next session goes on at 2 s; what follows the cut is readable.
    keep(tmp_path, key, pcm[2 * SAMPLE_RATE :], start_s=2.0)
    assert np.array_equal(read_kept(tmp_path, "t-1", key), pcm)


_WRITER = """
import sys, numpy as np
from pathlib import Path
from agent.audio_keep import AudioKeeper, load_key
keeper = AudioKeeper(Path(sys.argv[1]), "t-1", load_key(), record_s=0.05)
rng = np.random.default_rng(0)
print("writing", flush=True)
while True:
    keeper.append(rng.integers(-9999, 9999, 800, dtype=np.int16))
"""


def test_kill_9_while_keeping_leaves_every_whole_record_readable(
    tmp_path: Path, key: bytes
) -> None:
    folder = tmp_path / "t-1"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "writing\n"
        path = folder / AUDIO_FILE
        while path.stat().st_size < 2_000_000:
            pass
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    kept = read_kept(tmp_path, "t-1", key)
    rng = np.random.default_rng(0)
    expected = np.concatenate([rng.integers(-9999, 9999, 800, dtype=np.int16) for _ in range(8000)])
    assert 900_000 <= len(kept) < len(expected) and len(kept) % 800 == 0  # whole records
    assert np.array_equal(kept, expected[: len(kept)])


def test_a_resumed_timeline_lets_the_later_record_win_and_fills_gaps_with_silence(
    tmp_path: Path, key: bytes
) -> None:
    first, again, later = noise(3.0, 1), noise(2.0, 2), noise(1.0, 3)
    keep(tmp_path, key, first)
    keep(tmp_path, key, again, start_s=2.0)  # a resumed file run hears 2-4 s again
    keep(tmp_path, key, later, start_s=6.0)  # a recording resumed after a pause
    timeline = read_kept(tmp_path, "t-1", key)
    s = SAMPLE_RATE
    assert len(timeline) == 7 * s
    assert np.array_equal(timeline[: 2 * s], first[: 2 * s])
    assert np.array_equal(timeline[2 * s : 4 * s], again)
    assert not timeline[4 * s : 6 * s].any()
    assert np.array_equal(timeline[6 * s :], later)


# --------------------------------------------------------------------------- the commands


def minuta(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MINUTA), *map(str, args)], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


@pytest.fixture
def env(tmp_path: Path, key_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MINUTA_AGENT_DIR": str(tmp_path / "agent"),
        "MINUTA_CONFIG_DIR": str(tmp_path / "config"),
        "MINUTA_CACHE_DIR": str(tmp_path / "cache"),
    }


def decoded(path: Path) -> tuple[str, float]:
    """The codec and the seconds of audio a file decodes to."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, samples / stream.codec_context.sample_rate


def test_transcribe_keep_audio_then_export_ogg_and_wav(tmp_path: Path, env: dict[str, str]) -> None:
    run = minuta(
        "transcribe", JFK, "--model", "tiny.en", "--keep-audio", "--id", "jfk", "--out",
        tmp_path / "out", env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Kept 11.0 s of audio, encrypted" in run.stderr
    pcm = np.concatenate(list(read_file(JFK)))
    assert np.array_equal(read_kept(tmp_path / "agent", "jfk", load_key()), pcm)

    ogg, wav = tmp_path / "jfk.ogg", tmp_path / "jfk.wav"
    assert minuta("audio", "export", "jfk", "--out", ogg, env=env).returncode == 0
    codec, seconds = decoded(ogg)
    assert codec == "opus" and abs(seconds - len(pcm) / SAMPLE_RATE) < 0.05
    assert ogg.stat().st_size < len(pcm.tobytes()) / 5  # Opus, not PCM in a wrapper
    run = minuta("audio", "export", "jfk", "--out", wav, env=env)
    assert run.returncode == 0, run.stderr
    with wave.open(str(wav), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
        assert np.array_equal(np.frombuffer(w.readframes(w.getnframes()), np.int16), pcm)
    # By default <ID>.ogg in the current folder.
    default = subprocess.run(
        [str(MINUTA), "audio", "export", "jfk"], env=env, cwd=tmp_path / "out",
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert default.returncode == 0 and (tmp_path / "out" / "jfk.ogg").is_file()


def one_line_error(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("minuta audio: error: ")
    return run.stderr


def test_export_errors_are_one_line(tmp_path: Path, env: dict[str, str], key_file: Path) -> None:
    assert "has no kept audio" in one_line_error(minuta("audio", "export", "none", env=env))
    keep(tmp_path / "agent", load_key(create=True), noise(1.0))
    bad = minuta("audio", "export", "t-1", "--out", tmp_path / "x.mp3", env=env)
    assert ".ogg or .opus" in one_line_error(bad)
    key_file.unlink()
    missing = one_line_error(minuta("audio", "export", "t-1", env=env))
    assert f"the audio key {key_file} is missing" in missing
    assert not (tmp_path / "t-1.ogg").exists()


def test_without_the_flags_nothing_is_kept_and_no_key_is_made(
    tmp_path: Path, env: dict[str, str], key_file: Path
) -> None:
    run = minuta("transcribe", JFK, "--model", "tiny.en", "--id", "plain", "--out",
                 tmp_path / "out", env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "agent" / "plain").iterdir()) == ["doc.sqlite"]
    assert not key_file.exists()
    refused = minuta("transcribe", JFK, "--upload-audio", "--id", "plain", env=env)
    assert refused.returncode == 2 and "--upload-audio needs --relay" in refused.stderr


def test_a_resumed_transcribe_keeps_one_timeline_in_sync_with_the_segments(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """An interrupted run left audio up to 38 s and a final segment at 40-44 s: the resumed
    run hears the file again from about 10 s, so the kept timeline is the whole file, sample for
    sample, with no stretch twice and nothing shifted."""
    jfk = np.concatenate(list(read_file(JFK)))
    gap = np.zeros(SAMPLE_RATE, dtype=np.int16)
    pcm = np.concatenate([jfk, gap] * 5)  # 60 s
    wav = tmp_path / "five.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    storage = tmp_path / "agent"
    with LocalStore(storage, "five") as store:
        doc = store.open_doc(lambda: TranscriptDoc.create("five", model="tiny.en"))
        doc.upsert_segment(
            "seg-00001", rev=1, text="Interrupted.", t0=40.0, t1=44.0, final=True,
            origin=Origin.AGENT,
        )  # fmt: skip
    keep(storage, load_key(create=True), pcm[: 38 * SAMPLE_RATE], tid="five")
    run = minuta("transcribe", wav, "--model", "tiny.en", "--keep-audio", "--id", "five",
                 "--out", tmp_path / "out", env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Resuming after 44.0 s" in run.stdout
    # Kept again from 30 s before the last segment (on the speech detector's frame grid).
    kept = re.search(r"Kept (\d+\.\d) s of audio", run.stderr)
    assert kept is not None and 50.0 <= float(kept.group(1)) <= 51.0, run.stderr
    assert np.array_equal(read_kept(storage, "five", load_key()), pcm)

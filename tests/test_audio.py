"""Audio sources: files through PyAV, microphones through sounddevice (or a fake input stream).

Real speech comes from the shared evaluation clips; synthetic files are written to tmp_path.
The one fake here is ``FakeInputStream``, which stands in for ``sounddevice.InputStream``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
import tracemalloc
import wave
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from agent.audio import (
    SAMPLE_RATE,
    AudioError,
    InputDevice,
    Microphone,
    _resolve_device,
    file_duration,
    list_devices,
    read_file,
)

AUDIO = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio"
JFK = AUDIO / "jfk.flac"
FLEURS = [AUDIO / f"fleurs-{lang}-00{n}.ogg" for lang, n in (("en", 0), ("en", 7), ("es", 3))]

# faster-whisper ships no type information; its decoder is the reference for read_file.
decode_audio: Callable[[str], np.ndarray] = importlib.import_module("faster_whisper").decode_audio


def tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant_hz(x: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def encode(path: Path, codec: str, samples: np.ndarray, rate: int) -> Path:
    """Write mono int16 ``samples`` with a PyAV encoder; the container comes from the suffix."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        step = rate  # one-second frames: the encoder re-frames them to its own frame size
        for start in range(0, len(samples), step):
            frame = av.AudioFrame.from_ndarray(
                samples[start : start + step].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def has_encoder(name: str) -> bool:
    try:
        av.Codec(name, "w")
    except av.codec.codec.UnknownCodecError:
        return False
    return True


def read_all(path: Path, chunk_s: float = 0.5) -> tuple[list[np.ndarray], np.ndarray]:
    chunks = list(read_file(path, chunk_s=chunk_s))
    return chunks, np.concatenate(chunks)


# --- real files ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [JFK, *FLEURS], ids=lambda p: p.name)
def test_real_clips_decode_like_faster_whisper(path: Path) -> None:
    chunks, audio = read_all(path, chunk_s=0.5)
    assert all(c.dtype == np.int16 and c.ndim == 1 for c in chunks)
    assert {len(c) for c in chunks[:-1]} == {8000}
    assert 0 < len(chunks[-1]) <= 8000
    duration = file_duration(path)
    assert duration is not None
    assert len(audio) == pytest.approx(duration * SAMPLE_RATE, rel=0.01)
    # faster-whisper's decoder is the reference the ASR was tuned on: same resampler, so the
    # samples agree to within int16 rounding.
    reference = decode_audio(str(path))
    assert len(audio) == len(reference)
    assert np.abs(audio / 32768.0 - reference).max() <= 2 / 32768
    # Not silence. Some FLEURS clips are recorded very low (en-007 peaks at 161, about -46 dBFS):
    # the decoder must not "fix" that, so only ask for more than rounding noise.
    assert np.abs(audio.astype(np.int32)).max() > 100


def test_chunk_size_follows_chunk_s() -> None:
    chunks, audio = read_all(JFK, chunk_s=2.0)
    assert [len(c) for c in chunks] == [32_000] * 5 + [16_000]
    assert file_duration(JFK) == pytest.approx(11.0)
    assert np.array_equal(audio, read_all(JFK, chunk_s=0.03)[1])


def test_chunk_s_must_be_positive(tmp_path: Path) -> None:
    path = encode(tmp_path / "t.flac", "flac", tone(1, SAMPLE_RATE), SAMPLE_RATE)
    with pytest.raises(ValueError, match="chunk_s"):
        read_file(path, chunk_s=0)


def test_reading_files_never_imports_sounddevice() -> None:
    # A machine without PortAudio must still transcribe files.
    code = (
        "import sys, numpy as np, wave, tempfile, os\n"
        "from agent.audio import read_file, file_duration\n"
        "path = os.path.join(tempfile.mkdtemp(), 'a.wav')\n"
        "with wave.open(path, 'wb') as w:\n"
        "    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)\n"
        "    w.writeframes(np.zeros(8000, np.int16).tobytes())\n"
        "assert sum(map(len, read_file(path))) == 16000 and file_duration(path) == 1.0\n"
        "assert 'sounddevice' not in sys.modules, 'sounddevice was imported'\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=60)


# --- formats -------------------------------------------------------------------------------


def test_wav_stereo_44k1_is_mixed_and_resampled(tmp_path: Path) -> None:
    mono = tone(3, 44_100)
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44_100)
        w.writeframes(np.repeat(mono, 2).tobytes())  # the same tone on both channels
    _, audio = read_all(path)
    assert file_duration(path) == pytest.approx(3.0)
    assert len(audio) == pytest.approx(3 * SAMPLE_RATE, abs=2)
    assert dominant_hz(audio) == pytest.approx(440, abs=2)
    rms = np.sqrt(np.mean(audio[1000:-1000].astype(np.float64) ** 2))
    assert rms == pytest.approx(0.3 * 32767 / np.sqrt(2), rel=0.02)


def test_wav_at_16k_mono_passes_through_unchanged(tmp_path: Path) -> None:
    samples = tone(2, SAMPLE_RATE, freq=300)
    path = tmp_path / "plain.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.tobytes())
    assert np.array_equal(read_all(path)[1], samples)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [(".mp3", "libmp3lame"), (".m4a", "aac"), (".ogg", "libopus"), (".flac", "flac")],
)
def test_encoded_formats(tmp_path: Path, suffix: str, codec: str) -> None:
    if not has_encoder(codec):
        pytest.skip(f"this PyAV build has no {codec} encoder")
    rate = 48_000 if codec == "libopus" else 22_050 if codec == "libmp3lame" else 44_100
    path = encode(tmp_path / f"tone{suffix}", codec, tone(3, rate), rate)
    chunks, audio = read_all(path)
    assert all(c.dtype == np.int16 and c.ndim == 1 for c in chunks)
    assert len(audio) == pytest.approx(3 * SAMPLE_RATE, rel=0.01)
    assert dominant_hz(audio) == pytest.approx(440, abs=2)
    assert file_duration(path) == pytest.approx(3.0, rel=0.02)


# --- bad files -----------------------------------------------------------------------------


def bad_files(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield "missing", tmp_path / "nowhere.wav"
    (tmp_path / "folder.wav").mkdir()
    yield "directory", tmp_path / "folder.wav"
    (tmp_path / "empty.wav").write_bytes(b"")
    yield "empty", tmp_path / "empty.wav"
    (tmp_path / "noise.mp3").write_bytes(np.random.default_rng(7).bytes(50_000))
    yield "random bytes", tmp_path / "noise.mp3"
    (tmp_path / "notes.wav").write_text("minutes of the meeting, not audio\n" * 20)
    yield "text renamed .wav", tmp_path / "notes.wav"
    (tmp_path / "captions.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    yield "no audio stream", tmp_path / "captions.srt"
    if JFK.is_file():
        (tmp_path / "cut.flac").write_bytes(JFK.read_bytes()[:2000])
        yield "truncated flac", tmp_path / "cut.flac"


def test_bad_files_raise_audio_error_naming_the_file(tmp_path: Path) -> None:
    messages: dict[str, str] = {}
    for what, path in bad_files(tmp_path):
        # Opening fails before any chunk is produced: read_file raises when called.
        with pytest.raises(AudioError, match=path.name) as caught:
            read_file(path)
        messages[what] = str(caught.value)
        assert "\n" not in messages[what], what
        with pytest.raises(AudioError, match=path.name):
            file_duration(path)
    assert len(messages) >= 6
    assert "no such file" in messages["missing"]
    assert "is a directory" in messages["directory"]
    assert "the file is empty" in messages["empty"]
    assert "not an audio file" in messages["random bytes"]
    assert "not an audio file" in messages["text renamed .wav"]
    assert "has no audio stream" in messages["no audio stream"]
    if "truncated flac" in messages:
        assert "truncated" in messages["truncated flac"]


def corrupt_adts(path: Path, good_frames: int) -> None:
    """Keep each ADTS header (so the demuxer still finds packets) but scramble the payloads
    after the first ``good_frames``: every later packet fails to decode."""
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(3)
    pos = n = 0
    while pos < len(data):
        assert data[pos] == 0xFF, "not at an ADTS sync word"
        length = ((data[pos + 3] & 3) << 11) | (data[pos + 4] << 3) | (data[pos + 5] >> 5)
        if n >= good_frames:
            data[pos + 7 : pos + length] = rng.bytes(length - 7)
        pos += length
        n += 1
    path.write_bytes(bytes(data))


def test_corrupt_data_while_decoding_raises_audio_error(tmp_path: Path) -> None:
    if not has_encoder("aac"):
        pytest.skip("this PyAV build has no aac encoder")
    path = encode(tmp_path / "broken.aac", "aac", tone(10, SAMPLE_RATE), SAMPLE_RATE)
    corrupt_adts(path, good_frames=4)
    chunks = read_file(path)  # the header is fine: the trouble starts while decoding
    with pytest.raises(AudioError, match=r"broken\.aac: the audio is corrupt from about"):
        list(chunks)


def test_undecodable_stream_raises_audio_error(tmp_path: Path) -> None:
    if not has_encoder("aac"):
        pytest.skip("this PyAV build has no aac encoder")
    path = encode(tmp_path / "garbled.aac", "aac", tone(1, SAMPLE_RATE), SAMPLE_RATE)
    corrupt_adts(path, good_frames=0)
    with pytest.raises(AudioError, match=r"garbled\.aac: no decodable audio"):
        list(read_file(path))


def test_a_damaged_spot_is_skipped_not_fatal(tmp_path: Path) -> None:
    data = bytearray(JFK.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20_000] = np.random.default_rng(5).bytes(20_000)
    path = tmp_path / "scratched.flac"
    path.write_bytes(bytes(data))
    _, audio = read_all(path)
    _, clean = read_all(JFK)
    # Some audio around the damage is lost, the rest is decoded and identical at the start.
    assert 0.8 * len(clean) < len(audio) < len(clean)
    assert np.array_equal(audio[:SAMPLE_RATE], clean[:SAMPLE_RATE])


# --- memory --------------------------------------------------------------------------------


def test_long_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    rate = SAMPLE_RATE
    minute = np.concatenate([tone(30, rate, amplitude=0.05), np.zeros(30 * rate, np.int16)])
    path = tmp_path / "meeting.flac"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        for m in range(10):
            frame = av.AudioFrame.from_ndarray(minute.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = m * len(minute)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    del minute
    assert file_duration(path) == pytest.approx(600.0)

    chunks = read_file(path, chunk_s=0.5)
    assert iter(chunks) is chunks  # an iterator producing as it goes, not a list
    whole = 600 * SAMPLE_RATE * 2  # bytes of the decoded file, were it held at once
    tracemalloc.start()
    try:
        total = count = 0
        for chunk in chunks:
            assert len(chunk) == 8000 or total + len(chunk) == 600 * SAMPLE_RATE
            total += len(chunk)
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 600 * SAMPLE_RATE
    assert count == 1200
    # numpy reports its buffers to tracemalloc: the peak is a few chunks, not the file.
    assert peak < whole / 20


# --- microphone: a fake input stream -------------------------------------------------------


class FakeFlags:
    """What sounddevice passes as ``status``: falsy unless a flag is set."""

    def __init__(self, input_overflow: bool = False) -> None:
        self.input_overflow = input_overflow

    def __bool__(self) -> bool:
        return self.input_overflow


class FakePortAudioError(Exception):
    """Shaped like sounddevice.PortAudioError: args (message, PaErrorCode), printed the same way."""

    def __str__(self) -> str:
        text = str(self.args[0])
        return f"{text} [PaErrorCode {self.args[1]}]" if len(self.args) > 1 else text


class FakeInputStream:
    """Stands in for sounddevice.InputStream: same constructor keywords, start/stop/close.

    A thread calls the callback with blocks of ``blocksize`` frames shaped (frames, 1) int16,
    reusing one buffer as PortAudio does, so a callback that keeps the buffer sees it change.
    """

    def __init__(
        self,
        source: np.ndarray,
        *,
        samplerate: float | None,
        channels: int,
        dtype: str,
        blocksize: int,
        device: int | str | None,
        callback: Callable[..., None],
        overflow_every: int = 0,
        native_rate: int | None = None,
    ) -> None:
        if native_rate is not None and samplerate is not None and samplerate != native_rate:
            raise FakePortAudioError("Error opening InputStream: Invalid sample rate", -9997)
        self.samplerate = float(samplerate or native_rate or SAMPLE_RATE)
        assert (channels, dtype) == (1, "int16")
        self.blocksize = blocksize or 1024
        self.device = device
        self.source = source
        self.callback = callback
        self.overflow_every = overflow_every
        self.started = self.stopped = self.closed = False
        self.overflows_sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        buffer = np.zeros((self.blocksize, 1), np.int16)
        for n, start in enumerate(range(0, len(self.source), self.blocksize)):
            if self._stop.is_set():
                return
            block = self.source[start : start + self.blocksize]
            view = buffer[: len(block)]
            view[:, 0] = block
            overflow = bool(self.overflow_every) and n % self.overflow_every == 0
            self.overflows_sent += overflow
            self.callback(view, len(block), None, FakeFlags(overflow))
            buffer.fill(-1)  # PortAudio reuses the buffer once the callback returns
        self._stop.wait()

    def start(self) -> None:
        self.started = True
        self._thread.start()

    def stop(self) -> None:
        self.stopped = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def close(self) -> None:
        self.closed = True


def fake_factory(source: np.ndarray, made: list[FakeInputStream], **options: Any) -> Any:
    def factory(**kwargs: Any) -> FakeInputStream:
        stream = FakeInputStream(source, **kwargs, **options)
        made.append(stream)
        return stream

    return factory


def jfk_samples() -> np.ndarray:
    return read_all(JFK)[1]


def read_n(mic: Microphone, n: int) -> list[np.ndarray]:
    blocks: list[np.ndarray] = []
    got = 0
    while got < n:
        block = mic.read(timeout=30)  # generous: only a broken fake would ever wait this long
        assert block is not None, f"stream ended after {got} of {n} samples"
        blocks.append(block)
        got += len(block)
    return blocks


def test_microphone_delivers_the_callback_blocks_in_order() -> None:
    source = jfk_samples()
    made: list[FakeInputStream] = []
    mic = Microphone(block_s=0.1, stream_factory=fake_factory(source, made, overflow_every=25))
    with mic:
        (stream,) = made
        assert stream.started and stream.blocksize == 1600 and stream.device is None
        blocks = read_n(mic, len(source))
    assert stream.stopped and stream.closed
    assert all(b.dtype == np.int16 and b.ndim == 1 for b in blocks)
    assert {len(b) for b in blocks[:-1]} == {1600}
    assert np.array_equal(np.concatenate(blocks), source)
    assert mic.overflows == stream.overflows_sent == 5  # blocks 0, 25, 50, 75, 100 of 110
    assert mic.read(timeout=0) is None  # closed and drained
    assert list(mic) == []
    mic.close()  # twice is fine


def test_iterating_ends_after_close_with_every_block_read() -> None:
    source = jfk_samples()[: 3 * SAMPLE_RATE]
    made: list[FakeInputStream] = []
    blocks: list[np.ndarray] = []
    with Microphone("USB mic", block_s=0.25, stream_factory=fake_factory(source, made)) as mic:
        for block in mic:
            blocks.append(block)
            if sum(map(len, blocks)) >= len(source):
                mic.close()  # ends the loop once the queue is drained
    assert made[0].device == "USB mic" and made[0].stopped
    assert np.array_equal(np.concatenate(blocks), source)
    assert mic.overflows == 0


def test_device_that_cannot_do_16k_is_resampled_in_the_reader() -> None:
    reference = jfk_samples()
    with av.open(str(JFK)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)]
        frames += resampler.resample(None)
    native = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    made: list[FakeInputStream] = []
    mic = Microphone(block_s=0.1, stream_factory=fake_factory(native, made, native_rate=48_000))
    with mic:
        (stream,) = made  # the 16 kHz open failed; the retry asked for the device's own rate
        assert stream.samplerate == 48_000
        blocks = read_n(mic, len(reference) - 200)
    blocks += list(mic)  # the resampler's tail, flushed once closed
    audio = np.concatenate(blocks)
    assert audio.dtype == np.int16
    assert len(audio) == pytest.approx(len(reference), abs=100)
    n = min(len(audio), len(reference))
    correlation = np.corrcoef(audio[:n].astype(np.float64), reference[:n].astype(np.float64))
    assert correlation[0, 1] > 0.99


def test_no_input_device_when_opening() -> None:
    def factory(**kwargs: Any) -> Any:
        raise FakePortAudioError("Error querying device -1")

    with pytest.raises(AudioError, match="No microphone found: connect one"):
        Microphone(stream_factory=factory).start()


def test_other_open_failures_are_audio_errors() -> None:
    def factory(**kwargs: Any) -> Any:
        raise FakePortAudioError("Device unavailable", -9985)

    with pytest.raises(
        AudioError, match=r"cannot open microphone 3: Device unavailable \[PaErrorCode -9985\]"
    ):
        Microphone(3, stream_factory=factory).start()


def test_read_before_start_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="start"):
        Microphone(stream_factory=fake_factory(np.zeros(0, np.int16), [])).read(timeout=0)


# --- device choice -------------------------------------------------------------------------

DEVICES = [
    InputDevice(0, "Built-in Microphone", 1, 48_000.0, True),
    InputDevice(2, "USB Audio Device", 2, 44_100.0, False),
    InputDevice(5, "USB Headset Microphone", 1, 16_000.0, False),
]


def test_resolve_device_by_index_name_and_default() -> None:
    assert _resolve_device(None, DEVICES) == DEVICES[0]
    assert _resolve_device(2, DEVICES) == DEVICES[1]
    assert _resolve_device("5", DEVICES) == DEVICES[2]
    assert _resolve_device("headset", DEVICES) == DEVICES[2]
    assert _resolve_device("usb audio device", DEVICES) == DEVICES[1]
    assert _resolve_device(None, DEVICES[1:]) == DEVICES[1]  # no default: the first input


@pytest.mark.parametrize(
    ("device", "problem"),
    [(7, "no input device with index 7"), ("webcam", "no input device matches 'webcam'"),
     ("usb", "more than one input device matches 'usb'")],
)  # fmt: skip
def test_unknown_device_lists_what_exists(device: int | str, problem: str) -> None:
    with pytest.raises(AudioError) as caught:
        _resolve_device(device, DEVICES)
    message = str(caught.value)
    assert message.startswith(problem)
    assert "0: Built-in Microphone; 2: USB Audio Device; 5: USB Headset Microphone" in message


def test_no_devices_at_all() -> None:
    with pytest.raises(AudioError, match="No microphone found"):
        _resolve_device(None, [])


# --- the real sounddevice on this machine --------------------------------------------------

PORTAUDIO_MISSING = ("PortAudio", "libportaudio2", "brew install portaudio")


def test_list_devices_without_portaudio_or_with_it() -> None:
    try:
        devices = list_devices()
    except AudioError as exc:
        assert all(word in str(exc) for word in PORTAUDIO_MISSING), str(exc)
    else:  # PortAudio is installed (CI may add it): a list, empty when there is no sound card
        assert all(isinstance(d, InputDevice) and d.channels > 0 for d in devices)


def test_real_microphone_is_an_audio_error_here() -> None:
    try:
        if list_devices():
            pytest.skip("this machine has a microphone")
    except AudioError:
        pass
    with pytest.raises(AudioError) as caught, Microphone():
        pass
    message = str(caught.value)
    assert all(w in message for w in PORTAUDIO_MISSING) or message.startswith(
        "No microphone found: connect one, or transcribe a file with `minuta transcribe FILE`"
    ), message

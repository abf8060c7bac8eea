"""Tests for agent.vad: onsets, ends, cuts, chunking, backends, real speech."""

from __future__ import annotations

import doctest
import itertools
import sys
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agent.vad
import agent.vad._classifiers
import agent.vad._level
import agent.vad._options
import agent.vad._segmenter
from agent.vad import (
    SAMPLE_RATE,
    Backend,
    EnergyFrameVad,
    LevelNormalizer,
    NormalizedFrameVad,
    Segmenter,
    SileroFrameVad,
    Utterance,
    VadOptions,
    WebrtcFrameVad,
    make_frame_vad,
)

SR = SAMPLE_RATE
AUDIO_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio"
FRAME = 0.03  # default frame_ms, in seconds
PAD = 0.2  # default pad_ms, in seconds
# webrtcvad keeps saying "speech" for a few frames after it ends (its hangover).
WEBRTC_HANGOVER = 5 * FRAME


# (seconds, amplitude) pieces of a synthetic signal.
Pattern = Sequence[tuple[float, float]]


# -- helpers ----------------------------------------------------------------------------


def sig(pattern: Pattern, *, seed: int = 0, floor: float = 10.0) -> np.ndarray:
    """Noise bursts: ``(seconds, amplitude)`` pieces; amplitude 0 is a faint noise floor."""
    rng = np.random.default_rng(seed)
    parts = [rng.standard_normal(round(d * SR)) * (a or floor) for d, a in pattern]
    return np.clip(np.concatenate(parts), -32768, 32767).astype(np.int16)


def spans(pattern: Pattern) -> list[tuple[float, float]]:
    """Start and end (seconds) of each loud piece of ``pattern``."""
    out, t = [], 0.0
    for d, a in pattern:
        if a:
            out.append((t, t + d))
        t += d
    return out


def run(x: np.ndarray, options: VadOptions | None = None) -> list[Utterance]:
    seg = Segmenter(options)
    return seg.feed(x) + seg.flush()


def chunks(x: np.ndarray, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """``x`` in pieces of 1, 7, 480, 10000 or a random number of samples."""
    i = 0
    while i < x.size:
        n = int(rng.choice([1, 7, 480, 10_000, int(rng.integers(1, 20_000))]))
        yield x[i : i + n]
        i += n


def same(a: list[Utterance], b: list[Utterance]) -> None:
    assert a == b  # times and flags; audio is compared below
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u.audio, v.audio)


def check_slices(us: list[Utterance], x: np.ndarray) -> None:
    """Each utterance's audio is the input between its times; they never overlap."""
    prev = 0.0
    for u in us:
        assert u.final
        assert prev <= u.t0 < u.t1 <= x.size / SR
        a, b = round(u.t0 * SR), round(u.t1 * SR)
        assert (a / SR, b / SR) == (u.t0, u.t1)  # whole samples
        np.testing.assert_array_equal(u.audio, x[a:b])
        prev = u.t1


@cache
def load(name: str) -> np.ndarray:
    """Decode a file of the shared eval set to 16 kHz mono int16."""
    out = []
    with av.open(str(AUDIO_DIR / name)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SR)
        for frame in container.decode(audio=0):
            out += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    x = np.concatenate(out)
    assert x.dtype == np.int16
    return x


# -- options and backends ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "bogus"}, "backend"),
        ({"agc_target_db": 1.0}, "agc_target_db"),
        ({"agc_max_gain_db": -1.0}, "agc_max_gain_db"),
        ({"threshold": 1.0}, "threshold"),
        ({"threshold": 0.3, "neg_threshold": 0.4}, "neg_threshold <= threshold"),
        ({"mode": 4}, "mode"),
        ({"mode": -1}, "mode"),
        ({"frame_ms": 25}, "frame_ms"),
        ({"min_speech_ms": 0}, "min_speech_ms"),
        ({"min_silence_ms": -10}, "min_silence_ms"),
        ({"pad_ms": -1}, "pad_ms"),
        ({"min_cut_s": 12.0}, "min_cut_s < max_utterance_s"),
        ({"min_cut_s": 13.0}, "min_cut_s < max_utterance_s"),
        ({"min_cut_s": 0.0}, "min_cut_s"),
        ({"max_utterance_s": float("inf")}, "finite"),
        ({"min_cut_s": 11.95}, "3 frames"),
        ({"min_cut_s": 0.5}, "min_cut_s must be at least"),
        ({"energy_threshold_db": 3.0}, "energy_threshold_db"),
        ({"energy_threshold_db": float("nan")}, "energy_threshold_db"),
        ({"energy_hysteresis_db": -1.0}, "energy_hysteresis_db"),
    ],
)
def test_bad_options_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VadOptions(**kwargs)  # type: ignore[arg-type]


def test_default_options_and_derived_frames() -> None:
    o = VadOptions()
    assert (o.frame_samples, o.min_speech_frames, o.min_silence_frames) == (480, 12, 7)
    assert o.onset_window_frames == 19


def test_energy_backend_is_chosen_when_asked() -> None:
    seg = Segmenter(VadOptions(backend="energy"))
    assert seg.backend == "energy"
    assert isinstance(make_frame_vad(VadOptions(backend="energy")), EnergyFrameVad)


def test_silero_is_the_default_and_hears_through_the_normalizer() -> None:
    assert Segmenter().backend == "silero"
    vad = make_frame_vad(VadOptions())
    assert isinstance(vad, NormalizedFrameVad)
    assert isinstance(vad.inner, SileroFrameVad)
    webrtc = make_frame_vad(VadOptions(backend="webrtc"))
    assert isinstance(webrtc, NormalizedFrameVad)
    assert isinstance(webrtc.inner, WebrtcFrameVad)
    # The RMS threshold is an absolute level: no normalizer unless asked for.
    assert isinstance(make_frame_vad(VadOptions(backend="energy")), EnergyFrameVad)
    assert isinstance(make_frame_vad(VadOptions(backend="energy", agc=True)), NormalizedFrameVad)
    assert isinstance(make_frame_vad(VadOptions(agc=False)), SileroFrameVad)


def test_auto_falls_back_to_webrtc_then_energy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes the import fail
    assert Segmenter().backend == "webrtc"
    with pytest.raises(ImportError, match="onnxruntime"):
        Segmenter(VadOptions(backend="silero"))
    monkeypatch.setitem(sys.modules, "webrtcvad", None)
    assert Segmenter().backend == "energy"
    assert not isinstance(make_frame_vad(VadOptions()), NormalizedFrameVad)
    with pytest.raises(ImportError, match="webrtcvad"):
        Segmenter(VadOptions(backend="webrtc"))


def test_silero_scores_do_not_depend_on_how_frames_are_grouped() -> None:
    x = load("jfk.flac")[: 160 * 480].reshape(160, 480)
    whole = SileroFrameVad().probabilities(x)
    v = SileroFrameVad()
    parts = np.concatenate([v.probabilities(x[i : i + 7]) for i in range(0, 160, 7)])
    np.testing.assert_allclose(parts, whole, atol=1e-5)
    assert whole.max() > 0.8  # "And so my fellow Americans"
    with pytest.raises(TypeError, match="int16"):
        SileroFrameVad().is_speech(x[0].astype(np.float32))


def test_level_normalizer_brings_quiet_and_loud_speech_to_one_level() -> None:
    x = load("jfk.flac")[: 300 * 480].reshape(300, 480)
    levels = []
    for gain_db in (-45, 0):
        scaled = np.clip(x * 10 ** (gain_db / 20), -32768, 32767).astype(np.int16)
        agc = LevelNormalizer(target_db=-20.0, max_gain_db=60.0, frame_ms=30)
        out = agc.apply(scaled)
        levels.append(float(np.percentile(LevelNormalizer.level_db(out[50:]), 90)))
    assert abs(levels[0] - levels[1]) < 1.0
    assert -26 < levels[1] < -14
    # Digital silence gets the capped gain and stays silence.
    agc = LevelNormalizer(target_db=-20.0, max_gain_db=40.0, frame_ms=30)
    assert not agc.apply(np.zeros((10, 480), np.int16)).any()


def test_webrtc_frame_vad_takes_only_whole_frames() -> None:
    v = WebrtcFrameVad(mode=2)
    burst = sig([(0.03, 3000)])
    assert v.is_speech(burst) in (True, False)
    assert v.is_speech(burst.tobytes()) in (True, False)
    for bad in (burst[:479], burst[:100].tobytes(), b"\x00" * 961):
        with pytest.raises(ValueError, match="10, 20 or 30 ms"):
            v.is_speech(bad)
    with pytest.raises(TypeError, match="int16"):
        v.is_speech(burst.astype(np.float32))


def test_energy_frame_vad_hysteresis() -> None:
    v = EnergyFrameVad(threshold_db=-40.0, hysteresis_db=6.0)
    # -42 dBFS: below the threshold, above threshold - hysteresis.
    mid = np.full(480, round(32768 * 10 ** (-42 / 20)), np.int16)
    loud = np.full(480, round(32768 * 10 ** (-30 / 20)), np.int16)
    quiet = np.full(480, round(32768 * 10 ** (-50 / 20)), np.int16)
    assert [v.is_speech(f) for f in (mid, loud, mid, mid.tobytes(), quiet, mid)] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    "module",
    [agent.vad, agent.vad._options, agent.vad._level, agent.vad._classifiers, agent.vad._segmenter],
)
def test_module_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 or module is agent.vad._options
    assert result.failed == 0


# -- onsets and ends --------------------------------------------------------------------

PATTERN = [(1.0, 0), (1.5, 3000), (1.0, 0), (0.8, 3000), (1.0, 0), (2.0, 3000), (1.0, 0)]


@pytest.mark.parametrize("backend", ["energy", "webrtc"])
def test_boundaries_follow_the_bursts(backend: Backend) -> None:
    x = sig(PATTERN)
    us = run(x, VadOptions(backend=backend))
    check_slices(us, x)
    assert len(us) == 3
    late = WEBRTC_HANGOVER if backend == "webrtc" else 0.0
    for u, (start, end) in zip(us, spans(PATTERN), strict=True):
        assert abs(u.t0 - (start - PAD)) <= FRAME
        assert end + PAD - FRAME <= u.t1 <= end + PAD + FRAME + late
        assert not u.continues


def test_utterance_at_stream_start_is_not_padded_before_zero() -> None:
    pattern = [(1.0, 3000), (1.0, 0)]
    (u,) = run(sig(pattern), VadOptions(backend="energy"))
    assert u.t0 == 0.0
    assert abs(u.t1 - 1.2) <= FRAME


def test_close_utterances_do_not_overlap() -> None:
    # The 0.3 s gap is enough to close (> min_silence) but shorter than two pads.
    pattern = [(0.5, 0), (1.0, 3000), (0.3, 0), (1.0, 3000), (0.5, 0)]
    x = sig(pattern)
    a, b = run(x, VadOptions(backend="energy"))
    check_slices([a, b], x)
    assert b.t0 == a.t1
    assert abs(a.t1 - 1.7) <= FRAME


@pytest.mark.parametrize("backend", ["energy", "webrtc"])
def test_clicks_and_short_bursts_are_ignored(backend: Backend) -> None:
    # Loud 10 ms clicks every 300 ms, then a 200 ms burst: each is far from min_speech_ms
    # (webrtcvad stretches a click to ~100 ms of speech with its hangover).
    clicks = [(0.01, 20000), (0.29, 0)] * 10
    pattern = [(0.5, 0), *clicks, (0.5, 0), (0.2, 5000), (1.0, 0)]
    seg = Segmenter(VadOptions(backend=backend))
    assert seg.feed(sig(pattern)) == []
    assert seg.open_utterance() is None
    assert seg.flush() == []


def test_onset_needs_dense_speech() -> None:
    # Clicks every 100 ms never put 350 ms of speech in the 570 ms onset window, however
    # long they go on; neither does a 300 ms burst.
    clicks = [(0.01, 20000), (0.09, 0)] * 50
    pattern = [(0.5, 0), *clicks, (0.5, 0), (0.3, 5000), (1.0, 0)]
    assert run(sig(pattern), VadOptions(backend="energy")) == []
    # Half as much again is speech.
    assert len(run(sig([(0.5, 0), (0.45, 5000), (1.0, 0)]), VadOptions(backend="energy"))) == 1


def test_speech_with_short_gaps_is_one_utterance() -> None:
    # Gaps of 150 ms (< min_silence_ms) do not close; the bursts add up to an onset.
    pattern = [(0.5, 0)] + [(0.2, 3000), (0.15, 0)] * 6 + [(1.0, 0)]
    x = sig(pattern)
    (u,) = run(x, VadOptions(backend="energy"))
    check_slices([u], x)
    assert abs(u.t0 - 0.3) <= FRAME


def test_min_silence_closes_without_flush() -> None:
    opts = VadOptions(backend="energy", min_silence_ms=300)
    seg = Segmenter(opts)
    # 33 frames of speech then 9 of silence: not yet closed.
    assert seg.feed(sig([(0.99, 3000), (0.27, 0)])) == []
    assert seg.open_utterance() is not None
    # One frame more makes min_silence_ms: closed by feed, no flush needed.
    (u,) = seg.feed(sig([(0.03, 0)], seed=1))
    assert u.final
    assert u.t0 == 0.0
    assert u.t1 == pytest.approx(0.99 + PAD)
    assert seg.open_utterance() is None
    assert seg.flush() == []


def test_open_utterance_grows_during_speech_and_is_none_in_silence() -> None:
    x = sig([(1.0, 0), (3.0, 3000), (1.0, 0)])
    seg = Segmenter(VadOptions(backend="energy"))
    seen: list[Utterance] = []
    closed: list[Utterance] = []
    for i in range(0, x.size, 1600):  # 100 ms at a time
        closed += seg.feed(x[i : i + 1600])
        u = seg.open_utterance()
        t = (i + 1600) / SR
        if t <= 1.0 or t >= 4.3:
            assert u is None, t
        elif t >= 1.4:  # past the onset (min_speech_ms)
            assert u is not None, t
            seen.append(u)
    assert len(seen) > 20
    assert all(not u.final for u in seen)
    assert len({u.t0 for u in seen}) == 1
    assert all(a.t1 < b.t1 for a, b in itertools.pairwise(seen))
    assert all(u.audio.size == round(u.duration * SR) for u in seen)
    assert [u.t1 for u in seen] == pytest.approx([j / 10 for j in range(14, 43)])
    (c,) = closed
    np.testing.assert_array_equal(c.audio[: seen[-1].audio.size], seen[-1].audio)


def test_flush_closes_the_open_utterance() -> None:
    x = sig([(0.5, 0), (1.0, 3000)])
    seg = Segmenter(VadOptions(backend="energy"))
    assert seg.feed(x) == []
    assert seg.position == 1.5
    (u,) = seg.flush()
    assert u.final
    assert abs(u.t0 - 0.3) <= FRAME
    assert u.t1 == 1.5  # the pad is bounded by what was consumed
    np.testing.assert_array_equal(u.audio, x[round(u.t0 * SR) :])
    assert seg.flush() == []
    # The timeline carries on after a flush.
    more = sig([(1.0, 3000), (0.5, 0)], seed=3)
    (v,) = seg.feed(more) + seg.flush()
    assert v.t0 >= u.t1
    assert v.t0 == pytest.approx(1.5)
    assert seg.position == 3.0


def test_float32_input_gives_the_same_utterances() -> None:
    x = sig(PATTERN)
    opts = VadOptions(backend="energy")
    as_float = run((x / 32768).astype(np.float32), opts)
    same(as_float, run(x, opts))
    same(run(x / 32768, opts), run(x, opts))  # float64 too


def test_bad_input_raises() -> None:
    seg = Segmenter(VadOptions(backend="energy"))
    with pytest.raises(ValueError, match="1-D"):
        seg.feed(np.zeros((480, 2), np.int16))
    with pytest.raises(TypeError, match="int16"):
        seg.feed(np.zeros(480, np.int32))
    assert seg.feed(np.zeros(0, np.int16)) == []
    assert seg.position == 0.0


# -- chunking ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["energy", "webrtc"])
def test_chunked_feed_gives_the_same_utterances(backend: Backend) -> None:
    pattern = [*PATTERN, (14.0, 3000), (0.6, 0), (0.4, 3000), (0.5, 0)]
    x = sig(pattern, seed=5)
    opts = VadOptions(backend=backend)
    whole = run(x, opts)
    assert len(whole) >= 5  # includes a cut
    for seed in range(3):
        seg = Segmenter(opts)
        parts: list[Utterance] = []
        for c in chunks(x, np.random.default_rng(seed)):
            parts += seg.feed(c)
        parts += seg.flush()
        same(parts, whole)


def test_one_sample_at_a_time() -> None:
    x = sig([(0.5, 0), (1.0, 3000), (0.5, 0)], seed=2)
    opts = VadOptions(backend="energy")
    seg = Segmenter(opts)
    out: list[Utterance] = []
    for i in range(x.size):
        out += seg.feed(x[i : i + 1])
    same(out + seg.flush(), run(x, opts))


@settings(max_examples=25, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(st.floats(0.01, 3.0), st.sampled_from([0, 0, 800, 3000, 12000])),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**16),
)
def test_utterances_are_slices_of_the_input(pieces: list[tuple[float, float]], seed: int) -> None:
    x = sig(pieces, seed=seed)
    opts = VadOptions(backend="energy")
    whole = run(x, opts)
    check_slices(whole, x)
    seg = Segmenter(opts)
    parts: list[Utterance] = []
    for c in chunks(x, np.random.default_rng(seed)):
        parts += seg.feed(c)
    same(parts + seg.flush(), whole)


# -- long speech ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["energy", "webrtc"])
def test_long_speech_is_cut_into_contiguous_parts(backend: Backend) -> None:
    opts = VadOptions(backend=backend)
    x = sig([(1.0, 0), (30.0, 3000), (1.0, 0)])
    us = run(x, opts)
    check_slices(us, x)
    assert len(us) >= 3
    for u in us[:-1]:
        assert opts.min_cut_s <= u.duration <= opts.max_utterance_s
    assert us[-1].duration <= opts.max_utterance_s
    assert [u.continues for u in us] == [False] + [True] * (len(us) - 1)
    for u, v in itertools.pairwise(us):
        assert u.t1 == v.t0
    a, b = round(us[0].t0 * SR), round(us[-1].t1 * SR)
    np.testing.assert_array_equal(np.concatenate([u.audio for u in us]), x[a:b])
    assert abs(us[0].t0 - 0.8) <= FRAME


def test_cut_lands_at_the_quietest_frame() -> None:
    # Speech from 0.5 s (utterance from 0.3 s) with a 60 ms dip at 9.5 s: 9.2 s into the
    # utterance, between min_cut_s and max_utterance_s. The dip is too short to close it.
    pattern = [(0.5, 0), (8.97, 3000), (0.06, 400), (6.0, 3000), (0.5, 0)]
    x = sig(pattern)
    backends: tuple[Backend, ...] = ("energy", "webrtc")
    for backend in backends:
        first, second = run(x, VadOptions(backend=backend))
        assert abs(first.t1 - 9.5) <= FRAME / 2
        assert second.t0 == first.t1
        assert second.continues


def test_memory_stays_bounded_in_silence() -> None:
    seg = Segmenter(VadOptions(backend="energy"))
    quiet = sig([(10.0, 0)])
    burst = sig([(2.0, 3000)])
    for i in range(60):  # 10 minutes of silence, a burst every 100 s
        seg.feed(burst if i % 10 == 0 else quiet)
    seg.flush()
    assert seg.position == 552.0
    # What is kept is the last feed and at most a window; the buffer never grew past
    # one feed plus what an onset needs.
    assert seg._buf.end - seg._buf._keep_from < SR
    assert seg._buf._a.nbytes < 2 * 10 * SR * 2 + 2**17


# -- real speech ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["auto", "silero", "webrtc", "energy"])
def test_jfk_speech_is_found(backend: Backend) -> None:
    x = load("jfk.flac")
    assert x.size == pytest.approx(11 * SR, abs=SR // 10)
    us = run(x, VadOptions(backend=backend))
    assert len(us) >= 1
    check_slices(us, x)
    assert us[0].t0 < 1.0
    assert us[-1].t1 > 9.5
    assert sum(u.duration for u in us) > 8.0
    seg = Segmenter(VadOptions(backend=backend))
    parts: list[Utterance] = []
    for c in chunks(x, np.random.default_rng(7)):
        parts += seg.feed(c)
    same(parts + seg.flush(), us)

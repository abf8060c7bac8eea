"""Frame classifiers: is each frame of 16 kHz mono int16 PCM speech?

- :class:`SileroFrameVad`: Silero VAD v6, the ONNX model inside faster-whisper's package,
  run with onnxruntime (which faster-whisper already needs). Nothing is downloaded.
- :class:`WebrtcFrameVad`: webrtcvad's GMM, the seed's choice.
- :class:`EnergyFrameVad`: an RMS threshold, predictable, for tests and as a last resort.

Each takes a block of whole frames at once (``classify``): Silero runs one model call per
block rather than one per frame. :func:`make_frame_vad` builds the one the options ask for,
behind the level normalizer when they want it.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any

import numpy as np

from ._level import LevelNormalizer
from ._options import FULL_SCALE, SAMPLE_RATE, VadOptions

# Silero's window and the context it prepends to it (its v5/v6 streaming interface).
_SILERO_WINDOW = 512
_SILERO_CONTEXT = 64


def restart_step(frame_ms: int) -> int:
    """Samples between the points of a stream where a new classifier cuts it as one that
    ran from the start did: whole frames and whole Silero windows (0.48 s at 30 ms).

    A resumed file restarts on this grid, so the frames it hears are the same ones.

    Example:
        >>> restart_step(30) / SAMPLE_RATE
        0.48
    """
    return math.lcm(frame_ms * SAMPLE_RATE // 1000, _SILERO_WINDOW)


class FrameVad:
    """A frame classifier. It may keep state between frames, so they come in stream order."""

    name = "?"

    def classify(self, frames: np.ndarray) -> np.ndarray:
        """Speech or not for each row of a (frames, samples) int16 array."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the frames heard so far: from here on, classify as a new classifier would."""

    def is_speech(self, frame: bytes | np.ndarray) -> bool:
        """One frame: int16 samples, or their bytes."""
        x = np.frombuffer(frame, dtype=np.int16) if isinstance(frame, bytes) else frame
        if x.dtype != np.int16:
            raise TypeError(f"frames must be int16 PCM, got {x.dtype}")
        if x.size == 0:
            raise ValueError("empty frame")
        return bool(self.classify(x.reshape(1, -1))[0])


class SileroFrameVad(FrameVad):
    """Silero VAD: a small neural model, far less sensitive to level and noise than a GMM.

    The model scores 32 ms windows; a frame gets the highest score of the windows that end
    in it (or the last score, if none does), then a hysteresis: speech from ``threshold``
    up, until the score falls below ``neg_threshold``.

    Example:
        >>> v = SileroFrameVad()
        >>> v.classify(np.zeros((10, 480), dtype=np.int16)).any()
        np.False_
    """

    name = "silero"

    def __init__(
        self, threshold: float = 0.5, neg_threshold: float = 0.35, path: Path | None = None
    ) -> None:
        ort: Any = importlib.import_module("onnxruntime")
        path = path or silero_model_path()
        options = ort.SessionOptions()
        # One thread: the classifier runs beside Whisper, which wants every core.
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 4
        self._session = ort.InferenceSession(
            str(path), providers=["CPUExecutionProvider"], sess_options=options
        )
        self.threshold = threshold
        self.neg_threshold = neg_threshold
        self._pending = np.zeros(0, dtype=np.float32)  # samples short of a window
        self.reset()

    def reset(self) -> None:
        # Samples short of a window stay: they are not heard yet.
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_SILERO_CONTEXT, dtype=np.float32)
        self._prob = 0.0
        self._on = False

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        """The model's score for each frame (advances the state, like ``classify``)."""
        count, n = frames.shape
        x = np.concatenate([self._pending, frames.reshape(-1).astype(np.float32) / FULL_SCALE])
        windows = x.size // _SILERO_WINDOW
        # Where each window ends, counted from the start of this block's first frame.
        ends = np.arange(1, windows + 1) * _SILERO_WINDOW - self._pending.size
        self._pending = x[windows * _SILERO_WINDOW :].copy()
        probs = self._run(x[: windows * _SILERO_WINDOW].reshape(windows, _SILERO_WINDOW))
        out = np.empty(count, dtype=np.float32)
        j = 0
        for k in range(count):
            best = -1.0
            while j < windows and ends[j] <= (k + 1) * n:
                best = max(best, float(probs[j]))
                j += 1
            if best >= 0:
                self._prob = best
            out[k] = self._prob
        return out

    def classify(self, frames: np.ndarray) -> np.ndarray:
        out = np.empty(frames.shape[0], dtype=bool)
        for k, p in enumerate(self.probabilities(frames)):
            self._on = p >= self.neg_threshold if self._on else p >= self.threshold
            out[k] = self._on
        return out

    def _run(self, windows: np.ndarray) -> np.ndarray:
        if windows.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        # Each window is preceded by the last samples of the one before it.
        tails = np.concatenate([self._context[None], windows[:-1, -_SILERO_CONTEXT:]])
        self._context = windows[-1, -_SILERO_CONTEXT:].copy()
        batch = np.ascontiguousarray(np.concatenate([tails, windows], axis=1))
        probs, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        return np.asarray(probs, dtype=np.float32).reshape(-1)


def silero_model_path() -> Path:
    """The Silero VAD model that ships with faster-whisper."""
    from faster_whisper.utils import get_assets_path

    path = Path(get_assets_path()) / "silero_vad_v6.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"faster-whisper's Silero VAD model is missing: {path}")
    return path


class WebrtcFrameVad(FrameVad):
    """webrtcvad's classifier. Frames must be exactly 10, 20 or 30 ms long.

    Example:
        >>> WebrtcFrameVad(mode=3).is_speech(bytes(960))
        False
    """

    name = "webrtc"

    def __init__(self, mode: int = 2, sample_rate: int = SAMPLE_RATE) -> None:
        # Imported by name: the module ships no type information, and the import may fail
        # (make_frame_vad falls back to the energy classifier then).
        webrtcvad: Any = importlib.import_module("webrtcvad")
        if mode not in (0, 1, 2, 3):
            raise ValueError(f"mode must be 0, 1, 2 or 3, got {mode!r}")
        self._new = lambda: webrtcvad.Vad(mode)
        self._vad = self._new()
        self._valid = webrtcvad.valid_rate_and_frame_length
        if not self._valid(sample_rate, sample_rate // 100):
            raise ValueError(f"webrtcvad does not accept a sample rate of {sample_rate} Hz")
        self.sample_rate = sample_rate

    def classify(self, frames: np.ndarray) -> np.ndarray:
        n = frames.shape[1]
        if not self._valid(self.sample_rate, n):
            raise ValueError(
                f"webrtcvad needs exactly 10, 20 or 30 ms of 16-bit PCM at {self.sample_rate} Hz, "
                f"got {2 * n} bytes"
            )
        test = self._vad.is_speech
        return np.array([test(f.tobytes(), self.sample_rate, n) for f in frames], dtype=bool)

    def reset(self) -> None:
        self._vad = self._new()

    def is_speech(self, frame: bytes | np.ndarray) -> bool:
        if isinstance(frame, bytes) and len(frame) % 2:
            raise ValueError(
                f"webrtcvad needs exactly 10, 20 or 30 ms of 16-bit PCM at {self.sample_rate} Hz, "
                f"got {len(frame)} bytes"
            )
        return super().is_speech(frame)


class EnergyFrameVad(FrameVad):
    """Speech when the frame RMS is above a threshold (dBFS), with hysteresis.

    It cannot tell speech from other loud sound; it is the last resort when neither model
    loads, and the predictable classifier for tests.

    Example:
        >>> v = EnergyFrameVad(threshold_db=-40.0, hysteresis_db=6.0)
        >>> loud, softer = np.full(480, 1000, np.int16), np.full(480, 250, np.int16)
        >>> [v.is_speech(f) for f in (softer, loud, softer, np.zeros(480, np.int16))]
        [False, True, True, False]
    """

    name = "energy"

    def __init__(self, threshold_db: float = -40.0, hysteresis_db: float = 6.0) -> None:
        if hysteresis_db < 0:
            raise ValueError(f"hysteresis_db must be >= 0, got {hysteresis_db!r}")
        self.threshold_db = threshold_db
        self.hysteresis_db = hysteresis_db
        self._on = False

    def classify(self, frames: np.ndarray) -> np.ndarray:
        out = np.empty(frames.shape[0], dtype=bool)
        off = self.threshold_db - self.hysteresis_db
        for k, level in enumerate(LevelNormalizer.level_db(frames)):
            self._on = bool(level >= off if self._on else level > self.threshold_db)
            out[k] = self._on
        return out

    def reset(self) -> None:
        self._on = False


class NormalizedFrameVad(FrameVad):
    """A classifier that hears the audio through a :class:`LevelNormalizer`."""

    def __init__(self, inner: FrameVad, normalizer: LevelNormalizer) -> None:
        self.inner = inner
        self.normalizer = normalizer
        self.name = inner.name

    def classify(self, frames: np.ndarray) -> np.ndarray:
        return self.inner.classify(self.normalizer.apply(frames))

    def reset(self) -> None:
        self.inner.reset()
        self.normalizer.reset()


def _model_vad(options: VadOptions) -> FrameVad | None:
    """Silero, else webrtcvad, as the backend allows; None when "auto" finds neither."""
    order = ("silero", "webrtc") if options.backend == "auto" else (options.backend,)
    for name in order:
        try:
            if name == "silero":
                return SileroFrameVad(options.threshold, options.neg_threshold)
            if name == "webrtc":
                return WebrtcFrameVad(options.mode, SAMPLE_RATE)
        except (ImportError, FileNotFoundError) as exc:
            if options.backend != "auto":
                hint = "onnxruntime and faster-whisper" if name == "silero" else "webrtcvad-wheels"
                raise ImportError(f"backend={name!r} needs {hint} ({exc})") from exc
    return None


def make_frame_vad(options: VadOptions) -> FrameVad:
    """The frame classifier that ``options.backend`` asks for, normalized if ``options.agc``.

    "auto" tries Silero, then webrtcvad, then settles for the energy classifier, silently;
    a backend named outright raises ImportError when it cannot be loaded.

    Example:
        >>> make_frame_vad(VadOptions()).name, make_frame_vad(VadOptions(backend="energy")).name
        ('silero', 'energy')
    """
    vad = None if options.backend == "energy" else _model_vad(options)
    if vad is None:
        vad = EnergyFrameVad(options.energy_threshold_db, options.energy_hysteresis_db)
    if options.agc if options.agc is not None else vad.name != "energy":
        normalizer = LevelNormalizer(
            target_db=options.agc_target_db,
            max_gain_db=options.agc_max_gain_db,
            frame_ms=options.frame_ms,
        )
        return NormalizedFrameVad(vad, normalizer)
    return vad

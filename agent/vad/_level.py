"""Level normalization (AGC) ahead of the frame classifier.

A far microphone records speech 30-40 dB below a headset; webrtcvad's GMM, trained on
close speech, calls most of it silence. The normalizer follows the level of the loud frames
with a fast attack and a slow release and brings it to a target, with the gain capped so a
silent room's noise floor is not raised to speech level. It changes only what the
classifier hears: utterances keep the original samples.
"""

from __future__ import annotations

import math

import numpy as np

from ._options import FULL_SCALE

# The envelope jumps this share of the way up to a louder frame (about 50 ms to settle at
# 30 ms frames: a lone click moves it only part of the way)...
_ATTACK = 0.6
# ...and falls at most this fast (dB per second) when the sound gets quieter, so the gain
# recovers from a loud sentence within a few seconds, not within one pause.
_RELEASE_DB_PER_S = 15.0
# Loud input is attenuated at most this much: it is already easy to classify.
_MAX_CUT_DB = 20.0
# Frames quieter than this (dBFS) say nothing of the speech level: digital silence.
_FLOOR_DB = -100.0


class LevelNormalizer:
    """Scale each frame so the recent loud level sits at ``target_db``.

    Causal and stateful: frames must come in stream order. The gain for a frame includes
    that frame in the envelope, so a sudden loud onset is not amplified into clipping.

    Example:
        >>> agc = LevelNormalizer(target_db=-20.0, max_gain_db=40.0, frame_ms=30)
        >>> quiet = np.full((40, 480), 30, dtype=np.int16)  # about -61 dBFS
        >>> out = agc.apply(quiet)
        >>> round(agc.level_db(out[-1:])[0])
        -21
        >>> agc.gain_db > 39
        True
    """

    def __init__(self, *, target_db: float, max_gain_db: float, frame_ms: int) -> None:
        self.target_db = target_db
        self.max_gain_db = max_gain_db
        self._release = _RELEASE_DB_PER_S * frame_ms / 1000
        self._envelope: float | None = None  # dBFS of the recent loud frames
        self.gain_db = max_gain_db

    def reset(self) -> None:
        """Forget the level heard so far, as a new normalizer."""
        self._envelope = None
        self.gain_db = self.max_gain_db

    @staticmethod
    def level_db(frames: np.ndarray) -> np.ndarray:
        """RMS of each row of a (frames, samples) int16 array, in dBFS."""
        x = frames.astype(np.float32)
        mean_square = np.einsum("ij,ij->i", x, x) / (x.shape[1] * FULL_SCALE**2)
        return 10 * np.log10(np.maximum(mean_square, 10 ** (_FLOOR_DB / 10)))

    def apply(self, frames: np.ndarray) -> np.ndarray:
        """The (frames, samples) int16 block, each row scaled by its gain, clipped to int16."""
        gains = np.empty(frames.shape[0], dtype=np.float32)
        for i, level in enumerate(self.level_db(frames)):
            gains[i] = self._step(float(level))
        scaled = frames.astype(np.float32) * (10 ** (gains / 20))[:, None]
        return np.clip(np.rint(scaled), -FULL_SCALE, FULL_SCALE - 1).astype(np.int16)

    def _step(self, level: float) -> float:
        env = self._envelope
        if level > _FLOOR_DB:
            if env is None:
                env = level
            elif level > env:
                env += _ATTACK * (level - env)
            else:
                env = max(level, env - self._release)
            self._envelope = env
        if env is not None:
            gain = self.target_db - env
            self.gain_db = min(self.max_gain_db, max(-_MAX_CUT_DB, gain))
        return self.gain_db if math.isfinite(self.gain_db) else 0.0

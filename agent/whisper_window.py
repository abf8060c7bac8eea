"""faster-whisper with its encoder window fitted to the audio, not always 30 seconds.

faster-whisper pads every call to a 30-second window, and the encoder's cost is that of
the window: about 0.75 s for base on two CPU cores whether the utterance lasts 2 s or 28.
CTranslate2's Whisper encoder takes shorter inputs, so :class:`FittedWhisper` hands it
the audio's frames plus a margin of silence, rounded up to whole seconds (a 10 s window
encodes in about 0.1 s). The decoder, the timestamps and the word alignment all work on
that shorter encoder output as they do on a full one. Whether Whisper reads as well this
way is measured, not assumed: ``bench/asr.py --full-window`` compares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper import WhisperModel

# Silence kept after the audio: Whisper wants some to close its last timestamp.
MARGIN_S = 5.0
# Windows are whole seconds (100 frames), so that similar lengths share CTranslate2's work.
_STEP_FRAMES = 100


class FittedWhisper(WhisperModel):
    """A ``WhisperModel`` whose encoder sees the audio plus ``MARGIN_S``, not 30 s.

    ``fit=False`` behaves exactly like faster-whisper.
    """

    def __init__(self, *args: Any, fit: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fit = fit

    def encode(self, features: np.ndarray) -> Any:
        if self.fit:
            features = fitted(features, round(MARGIN_S * self.frames_per_second))
        return super().encode(features)


def fitted(features: np.ndarray, margin: int) -> np.ndarray:
    """``features`` without the zero padding past ``margin`` frames, in whole seconds.

    faster-whisper pads a window with exact zeros, which a log-mel frame of real audio
    never is (silence has a floor below zero).

    Example:
        >>> f = np.zeros((80, 3000), np.float32); f[:, :450] = -0.5
        >>> fitted(f, 200).shape
        (80, 700)
    """
    nonzero = np.flatnonzero(np.any(features != 0, axis=-2))
    content = int(nonzero[-1]) + 1 if nonzero.size else 0
    total = features.shape[-1]
    keep = min(total, -(-(content + margin) // _STEP_FRAMES) * _STEP_FRAMES)
    return features[..., :keep]

"""The VAD's option dataclass and the constants its stages share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

SAMPLE_RATE = 16_000

Backend = Literal["auto", "silero", "webrtc", "energy"]
BACKENDS: tuple[Backend, ...] = ("auto", "silero", "webrtc", "energy")

# Full scale of int16, for dBFS and for float <-> int16 conversion (faster-whisper divides
# by the same number when it decodes audio).
FULL_SCALE = 32768.0


@dataclass(frozen=True)
class VadOptions:
    """How the stream is cut into utterances.

    Attributes:
      backend: Frame classifier. "silero" runs Silero VAD (the ONNX model that ships inside
        faster-whisper, with onnxruntime); "webrtc" uses webrtcvad's GMM; "energy" compares
        each frame's RMS with a threshold; "auto" (the default) takes the first of these
        that can be loaded.
      agc: Level normalization ahead of the classifier (the utterances keep the original
        audio). None turns it on for "silero" and "webrtc", whose verdicts should not depend
        on how far the speaker sits from the microphone, and off for "energy", whose
        threshold is an absolute level.
      agc_target_db: The level (dBFS) the normalizer brings speech peaks to.
      agc_max_gain_db: The normalizer never amplifies more than this, so a silent room's
        noise floor stays well below speech.
      threshold: Silero: a frame is speech once the model's probability reaches this...
      neg_threshold: ...and stays speech until it falls below this (Silero's own
        ``get_speech_timestamps`` uses 0.5 and 0.5 - 0.15).
      mode: webrtcvad aggressiveness, 0 (keeps most audio) to 3 (drops most non-speech).
      frame_ms: Length of a classified frame in milliseconds: 10, 20 or 30, the only
        lengths webrtcvad accepts.
      min_speech_ms: An utterance starts once its speech frames add up to this much, with
        no ``min_silence_ms`` gap between them, within ``min_speech_ms + min_silence_ms``;
        shorter bursts (clicks, coughs) are not speech.
      min_silence_ms: This much consecutive non-speech closes an utterance.
      pad_ms: Audio kept before the onset and after the last speech frame, so that word
        edges are not clipped.
      min_cut_s: An utterance that reaches ``max_utterance_s`` is cut at its quietest frame
        between ``min_cut_s`` and ``max_utterance_s`` from its start.
      max_utterance_s: No utterance is longer than this (Whisper decodes 30 s windows; a
        shorter bound keeps partial hypotheses cheap and latency low).
      energy_threshold_db: Energy classifier: a frame whose RMS (dBFS) is above this is
        speech.
      energy_hysteresis_db: Energy classifier: once in speech, frames stay speech until
        their RMS falls this many dB below ``energy_threshold_db``.

    Example:
        >>> VadOptions(frame_ms=20).frame_samples
        320
        >>> VadOptions(frame_ms=25)
        Traceback (most recent call last):
        ...
        ValueError: frame_ms must be 10, 20 or 30 (webrtcvad accepts only these), got 25
    """

    backend: Backend = "auto"
    agc: bool | None = None
    agc_target_db: float = -20.0
    agc_max_gain_db: float = 40.0
    threshold: float = 0.5
    neg_threshold: float = 0.35
    mode: int = 2
    frame_ms: int = 30
    min_speech_ms: int = 350
    min_silence_ms: int = 200
    pad_ms: int = 200
    min_cut_s: float = 8.0
    max_utterance_s: float = 12.0
    energy_threshold_db: float = -40.0
    energy_hysteresis_db: float = 6.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if not (math.isfinite(self.agc_target_db) and self.agc_target_db <= 0):
            raise ValueError(
                f"agc_target_db must be a finite dBFS value <= 0, got {self.agc_target_db!r}"
            )
        if not (math.isfinite(self.agc_max_gain_db) and self.agc_max_gain_db >= 0):
            raise ValueError(
                f"agc_max_gain_db must be finite and >= 0, got {self.agc_max_gain_db!r}"
            )
        if not 0 < self.neg_threshold <= self.threshold < 1:
            raise ValueError(
                f"need 0 < neg_threshold <= threshold < 1, got neg_threshold="
                f"{self.neg_threshold!r}, threshold={self.threshold!r}"
            )
        if self.mode not in (0, 1, 2, 3):
            raise ValueError(f"mode must be 0, 1, 2 or 3, got {self.mode!r}")
        if self.frame_ms not in (10, 20, 30):
            raise ValueError(
                f"frame_ms must be 10, 20 or 30 (webrtcvad accepts only these), got {self.frame_ms!r}"
            )
        if not self.min_speech_ms > 0:
            raise ValueError(f"min_speech_ms must be > 0, got {self.min_speech_ms!r}")
        if not self.min_silence_ms > 0:
            raise ValueError(f"min_silence_ms must be > 0, got {self.min_silence_ms!r}")
        if not self.pad_ms >= 0:
            raise ValueError(f"pad_ms must be >= 0, got {self.pad_ms!r}")
        if not (math.isfinite(self.max_utterance_s) and math.isfinite(self.min_cut_s)):
            raise ValueError("min_cut_s and max_utterance_s must be finite")
        if not 0 < self.min_cut_s < self.max_utterance_s:
            raise ValueError(
                f"need 0 < min_cut_s < max_utterance_s, got min_cut_s={self.min_cut_s!r}, "
                f"max_utterance_s={self.max_utterance_s!r}"
            )
        # The cut needs a few whole frames to choose from.
        if (self.max_utterance_s - self.min_cut_s) * 1000 < 3 * self.frame_ms:
            raise ValueError(
                f"max_utterance_s - min_cut_s must be at least 3 frames "
                f"({3 * self.frame_ms} ms), got {self.max_utterance_s - self.min_cut_s:g} s"
            )
        # An utterance is already this long when its onset is detected; if it could reach
        # min_cut_s by then, a cut could be due before any frame is eligible for it.
        onset_ms = self.pad_ms + (self.onset_window_frames + 1) * self.frame_ms
        if self.min_cut_s * 1000 < onset_ms:
            raise ValueError(
                f"min_cut_s must be at least pad_ms + min_speech_ms + min_silence_ms plus "
                f"two frames ({onset_ms / 1000:g} s), got {self.min_cut_s!r}"
            )
        if not (math.isfinite(self.energy_threshold_db) and self.energy_threshold_db <= 0):
            raise ValueError(
                f"energy_threshold_db must be a finite dBFS value <= 0, got {self.energy_threshold_db!r}"
            )
        if not (math.isfinite(self.energy_hysteresis_db) and self.energy_hysteresis_db >= 0):
            raise ValueError(
                f"energy_hysteresis_db must be finite and >= 0, got {self.energy_hysteresis_db!r}"
            )

    @property
    def frame_samples(self) -> int:
        """Samples in one classified frame."""
        return self.frame_ms * SAMPLE_RATE // 1000

    @property
    def min_speech_frames(self) -> int:
        """Speech frames that make an onset: their total reaches ``min_speech_ms``."""
        return math.ceil(self.min_speech_ms / self.frame_ms)

    @property
    def min_silence_frames(self) -> int:
        """Consecutive non-speech frames that close an utterance."""
        return math.ceil(self.min_silence_ms / self.frame_ms)

    @property
    def onset_window_frames(self) -> int:
        """The onset's speech frames must lie within this many frames (its density rule)."""
        return self.min_speech_frames + self.min_silence_frames

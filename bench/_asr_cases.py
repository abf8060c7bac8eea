"""The recordings the ASR benchmark measures, and how it scores them.

Each case is one clip of real speech from ``../shared/eval/audio`` as its own recording (a
fresh pipeline each time: joined clips hide failures, since a VAD adapts to what came
before), at its recorded level and, for clips louder than ``LOUD_DB``, attenuated to about
-55 and -65 dBFS RMS: a far microphone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np

AUDIO = Path(__file__).resolve().parents[2] / "shared" / "eval" / "audio"
SR = 16_000
LOUD_DB = -45.0
ATTENUATED_DB = (-55.0, -65.0)
JFK_REFERENCE = (
    "and so my fellow americans ask not what your country can do for you "
    "ask what you can do for your country"
)


@dataclass(frozen=True)
class Case:
    """One recording: a clip at one level."""

    clip: str
    lang: str
    level: str  # "recorded", "-55" or "-65"
    audio: np.ndarray
    reference: str

    @property
    def level_db(self) -> float:
        return rms_db(self.audio)


def rms_db(audio: np.ndarray) -> float:
    """RMS level of int16 audio in dBFS."""
    x = audio.astype(np.float64)
    return float(10 * np.log10(np.mean(x * x) / 32768.0**2 + 1e-20))


def at_level(audio: np.ndarray, target_db: float) -> np.ndarray:
    """``audio`` scaled to ``target_db`` RMS (int16, clipped)."""
    gain = 10 ** ((target_db - rms_db(audio)) / 20)
    return np.clip(np.rint(audio * gain), -32768, 32767).astype(np.int16)


def load(path: Path) -> np.ndarray:
    from agent.audio import read_file

    return np.concatenate(list(read_file(path)))


def clips(lang: str) -> list[tuple[str, np.ndarray, str]]:
    """(name, audio, reference) of every clip in ``lang`` ("en" includes JFK)."""
    out = []
    for path in sorted(AUDIO.glob(f"fleurs-{lang}-*.ogg")):
        reference = path.with_suffix(".txt").read_text(encoding="utf-8").strip()
        out.append((path.stem, load(path), reference))
    if lang == "en":
        out.append(("jfk", load(AUDIO / "jfk.flac"), JFK_REFERENCE))
    return out


def cases(lang: str, only: str | None = None) -> list[Case]:
    """Every clip of ``lang`` at its recorded level, and the loud ones attenuated."""
    out = []
    for name, audio, reference in clips(lang):
        if only is not None and only not in name:
            continue
        out.append(Case(name, lang, "recorded", audio, reference))
        if rms_db(audio) > LOUD_DB:
            for db in ATTENUATED_DB:
                out.append(Case(name, lang, f"{db:.0f}", at_level(audio, db), reference))
    return out


def normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower())
    return " ".join(text.split())


@dataclass(frozen=True)
class Score:
    """A hypothesis against its reference."""

    words: int  # in the reference
    errors: int  # substitutions + deletions + insertions
    hits: int  # reference words the hypothesis got right

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0


def score(reference: str, hypothesis: str) -> Score:
    out = jiwer.process_words(normalize(reference), normalize(hypothesis) or "<empty>")
    errors = out.substitutions + out.deletions + out.insertions
    return Score(out.hits + out.substitutions + out.deletions, errors, out.hits)


def pooled_wer(scores: list[Score]) -> float:
    """Corpus WER: errors over reference words, every clip counted by its length."""
    words = sum(s.words for s in scores)
    return sum(s.errors for s in scores) / words if words else 0.0


def lost_share(batch: Score, stream: Score) -> float:
    """Share of the words batch got right that the stream did not get."""
    return max(0, batch.hits - stream.hits) / batch.hits if batch.hits else 0.0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

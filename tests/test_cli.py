"""The ``minuta`` command line, run as the installed console script."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from _fixtures import english_transcript, spanish_transcript
from pycrdt import Doc, Text

from engine import EXTENSIONS, FORMATS, Format, dumps_json, export

MINUTA = Path(sys.executable).parent / "minuta"


def minuta(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``minuta`` with ``args``; output is kept as bytes, to compare it exactly."""
    env = {**os.environ, "PYTHONWARNINGS": "error", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [str(MINUTA), *map(str, args)],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[bytes], command: str) -> str:
    """Exit status 2, one line on stderr, no traceback, nothing on stdout."""
    stderr = result.stderr.decode("utf-8")
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert b"Traceback" not in result.stdout
    assert result.stdout == b""
    assert stderr.endswith("\n")
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith(f"minuta {command}: error: "), stderr
    return stderr


@pytest.fixture
def json_doc(tmp_path: Path) -> Path:
    path = tmp_path / "weekly.json"
    path.write_text(dumps_json(english_transcript().snapshot()), encoding="utf-8")
    return path


@pytest.fixture
def yjs_doc(tmp_path: Path) -> Path:
    path = tmp_path / "weekly.ydoc"
    path.write_bytes(english_transcript().encode_update())
    return path


def test_console_script_is_installed() -> None:
    assert MINUTA.exists(), f"{MINUTA} not found: run pip install -e '.[dev]'"


# ----------------------------------------------------------------------------- help, version


def test_version() -> None:
    result = minuta("--version")
    assert result.returncode == 0
    assert result.stdout.decode() == f"minuta {version('minuta')}\n"


@pytest.mark.parametrize("command", [[], ["export"], ["demo"]], ids=["minuta", "export", "demo"])
def test_help(command: list[str]) -> None:
    result = minuta(*command, "--help")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.startswith(f"usage: {' '.join(['minuta', *command])}")
    assert result.stderr == b""


def test_help_lists_the_commands() -> None:
    out = minuta("--help").stdout.decode()
    assert "export" in out
    assert "demo" in out


def test_no_command_is_a_usage_error() -> None:
    result = minuta()
    assert result.returncode == 2
    assert b"usage: minuta" in result.stderr
    assert b"Traceback" not in result.stderr


def test_unknown_format_is_a_usage_error(json_doc: Path) -> None:
    result = minuta("export", json_doc, "--fmt", "pdf")
    assert result.returncode == 2
    assert b"invalid choice: 'pdf'" in result.stderr


# ----------------------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("source", ["json_doc", "yjs_doc"])
def test_export_to_stdout(source: str, fmt: Format, request: pytest.FixtureRequest) -> None:
    doc: Path = request.getfixturevalue(source)
    result = minuta("export", doc, "--fmt", fmt)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert result.stdout == export(english_transcript().snapshot(), fmt).encode("utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("source", ["json_doc", "yjs_doc"])
def test_export_to_file(
    source: str, fmt: Format, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    doc: Path = request.getfixturevalue(source)
    out = tmp_path / f"out{EXTENSIONS[fmt]}"
    result = minuta("export", doc, "--fmt", fmt, "--out", out)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == (b"", b"")
    assert out.read_bytes() == export(english_transcript().snapshot(), fmt).encode("utf-8")
    # Written whole, through a temporary file that does not stay behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([doc.name, out.name])


def test_export_defaults_to_markdown(json_doc: Path) -> None:
    result = minuta("export", json_doc)
    assert result.stdout == export(english_transcript().snapshot(), "md").encode("utf-8")


def test_export_out_dash_is_stdout(json_doc: Path) -> None:
    result = minuta("export", json_doc, "--fmt", "srt", "--out", "-")
    assert result.stdout == export(english_transcript().snapshot(), "srt").encode("utf-8")


def test_export_replaces_an_existing_file(json_doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.vtt"
    out.write_text("old and much longer content " * 100, encoding="utf-8")
    assert minuta("export", json_doc, "--fmt", "vtt", "--out", out).returncode == 0
    assert out.read_bytes() == export(english_transcript().snapshot(), "vtt").encode("utf-8")


def test_export_spanish_from_a_json_with_a_bom(tmp_path: Path) -> None:
    doc = tmp_path / "reunion.json"
    doc.write_bytes(b"\xef\xbb\xbf" + dumps_json(spanish_transcript().snapshot()).encode("utf-8"))
    result = minuta("export", doc, "--fmt", "md")
    assert result.returncode == 0, result.stderr
    assert result.stdout == export(spanish_transcript().snapshot(), "md").encode("utf-8")
    assert "## Transcripción" in result.stdout.decode("utf-8")


def test_export_relative_paths(json_doc: Path) -> None:
    result = minuta(
        "export", json_doc.name, "--fmt", "json", "--out", "copy.json", cwd=json_doc.parent
    )
    assert result.returncode == 0, result.stderr
    assert (json_doc.parent / "copy.json").read_bytes() == json_doc.read_bytes()


# ----------------------------------------------------------------------------- export errors


BAD_FILES: dict[str, bytes] = {
    "random bytes": bytes(range(7, 250, 3)) * 3,
    "truncated update": english_transcript().encode_update()[:40],
    "empty": b"",
    "only whitespace": b" \n\t\r\n",
    "json missing transcript_id": b'{"segments": []}',
    "json missing segment fields": b'{"transcript_id": "t", "segments": [{"segment_id": "s"}]}',
    "json with t1 before t0": b'{"transcript_id": "t", "segments": [{"segment_id": "s", "t0": 2, "t1": 1, "text": "x"}]}',
    "json with NaN": b'{"transcript_id": "t", "segments": [{"segment_id": "s", "t0": NaN, "t1": 1, "text": "x"}]}',
    "truncated json": dumps_json(english_transcript().snapshot()).encode("utf-8")[:200],
    "json not utf-8": b'{"transcript_id": "caf\xe9", "segments": []}',
    "json array": b'[{"transcript_id": "t"}]',
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("fmt", ["md", "json"])
def test_export_bad_file(case: str, fmt: Format, tmp_path: Path) -> None:
    doc = tmp_path / "bad.input"
    doc.write_bytes(BAD_FILES[case])
    out = tmp_path / f"out.{fmt}"
    assert_one_line_error(minuta("export", doc, "--fmt", fmt), "export")
    assert_one_line_error(minuta("export", doc, "--fmt", fmt, "--out", out), "export")
    assert not out.exists()


def test_export_error_messages_name_the_problem(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert "the file is empty" in assert_one_line_error(minuta("export", empty), "export")
    fields = tmp_path / "fields.json"
    fields.write_bytes(BAD_FILES["json missing transcript_id"])
    assert "missing field 'transcript_id'" in assert_one_line_error(
        minuta("export", fields), "export"
    )
    corrupt = tmp_path / "corrupt.ydoc"
    corrupt.write_bytes(BAD_FILES["truncated update"])
    assert "corrupt Yjs update" in assert_one_line_error(minuta("export", corrupt), "export")


def test_export_missing_file(tmp_path: Path) -> None:
    error = assert_one_line_error(minuta("export", tmp_path / "nope.json"), "export")
    assert "cannot read" in error
    assert "nope.json" in error


def test_export_directory(tmp_path: Path) -> None:
    error = assert_one_line_error(minuta("export", tmp_path), "export")
    assert "cannot read" in error


def test_export_update_of_another_doc(tmp_path: Path) -> None:
    doc: Doc[Text] = Doc()
    doc["notes"] = Text("not a transcript")
    path = tmp_path / "other.ydoc"
    path.write_bytes(doc.get_update())
    error = assert_one_line_error(minuta("export", path), "export")
    assert "not a Minuta transcript" in error


def test_export_out_into_a_missing_directory(json_doc: Path, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "t.md"
    error = assert_one_line_error(minuta("export", json_doc, "--out", out), "export")
    assert "cannot write" in error
    assert not (tmp_path / "no").exists()


def test_export_out_onto_a_directory(json_doc: Path, tmp_path: Path) -> None:
    target = tmp_path / "adir"
    target.mkdir()
    assert_one_line_error(minuta("export", json_doc, "--out", target), "export")
    # The temporary file was cleaned up.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([json_doc.name, "adir"])
    assert list(target.iterdir()) == []


@pytest.mark.parametrize(
    "data",
    [
        b'{"transcript_id": "t", "segments": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"transcript_id": "t", "segments": [{"segment_id": "s", "t0": 1'
        + b"0" * 400
        + b', "t1": 2, "text": "x"}]}',
    ],
    ids=["deep nesting", "huge number"],
)
def test_export_json_that_crashes_the_engine(data: bytes, tmp_path: Path) -> None:
    doc = tmp_path / "bad.json"
    doc.write_bytes(data)
    assert_one_line_error(minuta("export", doc), "export")


# ----------------------------------------------------------------------------- demo


# The demo's full run (real model) is tested in test_transcribe_cli.py; these fail fast.


def test_demo_out_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x", encoding="utf-8")
    error = assert_one_line_error(minuta("demo", "--out", blocker), "demo")
    assert "cannot create" in error
    assert_one_line_error(minuta("demo", "--out", blocker / "sub"), "demo")

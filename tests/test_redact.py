"""The redactor (engine/redact.py): each kind masked when it is one (checksums validated),
left alone when it only looks alike (times, dates, ids, ports, sizes); patterns of one's
own; the logging filter; the agent's masked stderr; the relay's and agent's setting."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from agent.logs import RedactingStream, redacted_stderr
from engine import CommandError
from engine.redact import (
    Pattern,
    RedactFilter,
    Redactor,
    dni_ok,
    from_setting,
    iban_ok,
    luhn_ok,
    parse_patterns,
)
from relay import logs as relay_logs

R = Redactor()

POSITIVE = {
    "email": [
        "ana@example.com",
        "ana.lopez+minutes@acme.co.uk",
        "j_o-e%1@sub.domain.es",
        "josé.núñez@correo.es",
    ],
    "phone": [
        "+34 612 345 678",
        "+34612345678",
        "+34-612-345-678",
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
        "612-345-678",
        "612 345 678",
        "612 34 56 78",
        "91 234 56 78",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
    ],
    "iban": [
        "ES9121000418450200051332",
        "ES91 2100 0418 4502 0005 1332",
        "GB82WEST12345698765432",
        "GB82 WEST 1234 5698 7654 32",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
    ],
    "card": [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "5555555555554444",
        "378282246310005",
        "3782 822463 10005",
        "6011111111111117",
        "4222222222222",  # 13 digits
        "6000000000000000004",  # 19 digits
    ],
    "dni": ["12345678Z", "12345678-Z", "12345678z", "00000000T", "87654321X"],
    "nie": ["X1234567L", "Y1234567X", "Z1234567R", "X-1234567-L"],
}

# Shaped like one kind, and not one: a failed checksum, or a log line's ordinary numbers.
NEGATIVE = [
    "00:01:23",
    "00:01:23.456 --> 00:01:25.000",
    "[00:00:01] ask not",
    "2024-05-01",
    "2024-05-01T12:00:00+02:00",
    "2024-05-01 12:00:00,123",
    "12/05/2024",
    "seg-12",
    "seg-1234567890123456",
    "s-612-345-678",
    "rev 3",
    "t0=612.5 t1=613.25",
    "127.0.0.1:8765",
    "http://127.0.0.1:8765/sync/t-1",
    "port 8765",
    "192.168.100.200",
    "took 12.345 s",
    "1234 ms",
    "612345679 bytes",
    "612.345.678 bytes",
    "1 234 567",
    "1700000000000",  # an epoch in milliseconds
    "v1.2.3",
    "+0.25 dB",
    "550e8400-e29b-41d4-a716-446655440000",
    "sha256 3f7a9c0e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a",
    "ABCDEFGHIJKLMNOP",
    "ABCD1234EFGH5678IJKL",
    "ES9121000418450200051333",  # the IBAN with a wrong check
    "GB82WEST12345698765433",
    "4111111111111112",  # Luhn fails
    "4111 1111 1111 1112",
    "12345678A",  # the DNI with a wrong letter
    "X1234567A",
    "tengo 12345678 y",
    "ana@localhost",
    "user@",
    "@mention",
]


@pytest.mark.parametrize(
    ("kind", "value"), [(k, v) for k, values in POSITIVE.items() for v in values]
)
def test_each_kind_is_masked_alone_and_in_a_sentence(kind: str, value: str) -> None:
    assert R.redact(value) == f"[{kind}]"
    assert R.redact(f"from {value}, then") == f"from [{kind}], then"
    assert R.redact(f"({value})") == f"([{kind}])"


@pytest.mark.parametrize("text", NEGATIVE)
def test_what_only_looks_like_one_is_left_alone(text: str) -> None:
    assert R.redact(text) == text


def test_checksums() -> None:
    assert iban_ok("ES91 2100 0418 4502 0005 1332")
    assert not iban_ok("ES91 2100 0418 4502 0005 1331")
    assert not iban_ok("ES91")  # too short to be one
    assert luhn_ok("4111 1111 1111 1111") and not luhn_ok("4111 1111 1111 1121")
    assert dni_ok("12345678Z") and not dni_ok("12345678T")
    assert dni_ok("X1234567L") and dni_ok("y1234567x") and not dni_ok("Z1234567L")


def test_a_log_line_with_several_kinds() -> None:
    line = (
        "2024-05-01 12:00:00,123 minuta.relay WARNING seg-12 at 00:01:23 by ana@acme.es "
        "(+34 612 345 678): pay ES91 2100 0418 4502 0005 1332 OK with 4111 1111 1111 1111, "
        "DNI 12345678Z, NIE X1234567L, port 8765"
    )
    assert R.redact(line) == (
        "2024-05-01 12:00:00,123 minuta.relay WARNING seg-12 at 00:01:23 by [email] "
        "([phone]): pay [iban] OK with [card], DNI [dni], NIE [nie], port 8765"
    )


def test_configured_patterns() -> None:
    patterns = parse_patterns("# our ids\nemployee\tEMP-\\d{4}\n\nProject Falcon\n")
    assert [(p.label, p.regex.pattern) for p in patterns] == [
        ("employee", r"EMP-\d{4}"),
        ("redacted", "Project Falcon"),
    ]
    r = Redactor(extra=patterns)
    assert r.redact("EMP-0042 on Project Falcon: ana@acme.es") == (
        "[employee] on [redacted]: [email]"
    )
    only = Redactor(extra=patterns, builtin=False)
    assert only.redact("EMP-0042 ana@acme.es") == "[employee] ana@acme.es"
    assert Redactor(builtin=False).redact("ana@acme.es 12345678Z") == "ana@acme.es 12345678Z"
    assert Redactor(extra=[Pattern.of("zebra", "animal")]).redact("a zebra") == "a [animal]"


@pytest.mark.parametrize(
    ("text", "error"),
    [("ok\t(unclosed\n", "line 1: not a regular expression"), ("x\ny z\tq\n", "line 2: the label")],
)
def test_bad_pattern_files_name_the_line(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_patterns(text)


def test_the_setting(tmp_path: Path) -> None:
    patterns = tmp_path / "patterns"
    patterns.write_text("ticket\tTCK-\\d+\n", encoding="utf-8")

    def read(path: str) -> str:
        return Path(path).read_text(encoding="utf-8")

    for on in (None, "", "on", "ON"):
        assert from_setting(on, read).redact("ana@acme.es TCK-1") == "[email] TCK-1"
    assert from_setting("off", read).redact("ana@acme.es") == "ana@acme.es"
    assert from_setting(str(patterns), read).redact("ana@acme.es TCK-1") == "[email] [ticket]"
    with pytest.raises(ValueError, match="MINUTA_LOG_REDACT: cannot read"):
        from_setting(str(tmp_path / "missing"), read)
    # Each side turns a bad setting into a one-line command error.
    patterns.write_text("(\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 1"):
        relay_logs.load(str(patterns))
    assert relay_logs.load("off").redact("ana@acme.es") == "ana@acme.es"


def test_the_agent_refuses_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = {"MINUTA_LOG_REDACT": str(tmp_path / "missing"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "agent.cli", "devices"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith("minuta devices: error: MINUTA_LOG_REDACT: cannot read")


def test_speed_sanity() -> None:
    """Built for every log line: a line with no digit and no @ takes no regex pass (the
    same object back), and long hostile inputs end (no timing assertion)."""
    plain = "could not write the snapshot; will retry"
    assert R.redact(plain) is plain
    line = "minuta.relay WARNING t-1234: segments['s-1'] left out of its snapshot at 00:01:23"
    assert all(R.redact(line) == line for _ in range(5000))
    for hostile in (
        "a" * 100_000 + "@",
        "1" * 100_000,
        "+" + "1" * 100_000,
        "1 " * 50_000,
        "+1 " * 30_000,
        "ES12 " * 20_000,
        "(555) " * 20_000,
    ):
        assert isinstance(R.redact(hostile), str)
    assert R.redact("x@y.zz " * 10_000) == "[email] " * 10_000


def record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("cannot charge 4111 1111 1111 1111")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("minuta.relay", logging.WARNING, __file__, 1, msg, args, info)


def test_the_filter_masks_the_final_message_and_the_traceback() -> None:
    mask = RedactFilter(R)
    rec = record("to %s about %s", "ana@acme.es", {"dni": "12345678Z"}, exc=True)
    rec.stack_info = "Stack:\n  called by ana@acme.es"
    assert mask.filter(rec)
    assert rec.getMessage() == "to [email] about {'dni': '[dni]'}"
    out = logging.Formatter("%(levelname)s %(message)s").format(rec)
    assert "4111" not in out and "ana@acme.es" not in out
    assert "ValueError: cannot charge [card]" in out and "called by [email]" in out
    # A second handler's filter leaves it as it is.
    assert mask.filter(rec) and rec.getMessage() == "to [email] about {'dni': '[dni]'}"


def test_the_filter_never_lets_unformattable_arguments_through() -> None:
    rec = record("%d items for %s", "ana@acme.es")  # too few arguments, the wrong type
    assert RedactFilter(R).filter(rec)
    assert "ana@acme.es" not in rec.getMessage()


def test_a_handler_writes_masked_lines() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactFilter(R))
    log = logging.getLogger("minuta.test_redact")
    log.addHandler(handler)
    try:
        log.warning("push to %s failed", "ana@acme.es")
        try:
            raise RuntimeError("phone +34 612 345 678")
        except RuntimeError:
            log.exception("a job failed")
    finally:
        log.removeHandler(handler)
    assert "ana@acme.es" not in out.getvalue() and "612 345" not in out.getvalue()
    assert "push to [email] failed" in out.getvalue()
    assert "RuntimeError: phone [phone]" in out.getvalue()


def test_the_agents_stderr_is_masked_by_whole_lines() -> None:
    out = io.StringIO()
    stream = RedactingStream(out, R)
    stream.write("card 4111 1111 ")
    assert out.getvalue() == ""  # half a line waits for the rest
    stream.write("1111 1111\nnext ana@")
    stream.write("acme.es\r  5%|##")
    assert out.getvalue() == "card [card]\nnext [email]\r"
    stream.flush()  # a prompt or a progress bar: written now
    assert out.getvalue().endswith("  5%|##")


def test_redacted_stderr_puts_the_real_one_back(capsys: pytest.CaptureFixture[str]) -> None:
    real = sys.stderr
    with redacted_stderr(R):
        print("sent to ana@acme.es", file=sys.stderr)
        print("store 12345678Z", end="", file=sys.stderr)  # flushed on the way out
        assert sys.stderr is not real
    assert sys.stderr is real
    err = capsys.readouterr().err
    assert "sent to [email]" in err and err.endswith("store [dni]")
    assert "ana@acme.es" not in err and "12345678Z" not in err

"""Masking personal data in log lines and error messages: e-mail addresses, phone numbers,
IBANs, payment card numbers and Spanish DNI/NIE numbers, plus patterns of one's own.

Numbers with a check digit (IBAN mod 97, card Luhn, DNI/NIE letter) are masked only when
the check holds, so ids, sizes and timestamps that merely look alike stay readable. Phone
numbers have no check: they need a ``+`` or one of the usual groupings (``612 345 678``,
``612-345-678``, ``(555) 123-4567``); digits joined by ``:`` or ``/`` (times, ports, paths)
and plain ISO dates are never phones.

Pure logic: :mod:`relay.logs` and :mod:`agent.logs` read the configuration and install
:class:`RedactFilter` on their handlers.

Example:
    >>> r = Redactor(extra=[Pattern.of(r"TCK-\\d+", "ticket")])
    >>> r.redact("mail ana@example.com or call +34 612 345 678 about TCK-991")
    'mail [email] or call [phone] about [ticket]'
    >>> r.redact("ES91 2100 0418 4502 0005 1332, card 4111 1111 1111 1111, DNI 12345678Z")
    '[iban], card [card], DNI [dni]'
    >>> r.redact("seg-12 at 00:01:23 on 2024-05-01, port 8765, 612345679 bytes")
    'seg-12 at 00:01:23 on 2024-05-01, port 8765, 612345679 bytes'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Digits may be grouped by one space or dash; they may not touch letters, digits or the
# joiners of ids, times and addresses, or a seg-1234… id, a 12:00 time or 10.0.0.1:8765
# would be half a number. (A path's "/" may come before: a folder can be named by one.)
_BEFORE = r"(?<![\w.:+-])"
_AFTER = r"(?![\w]|[.:/-]\d)"

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
# Country code, check digits, then 11 to 30 letters or digits, solid or in groups of 4.
_IBAN = re.compile(
    r"(?<![\w-])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)(?![\w])"
)
# 13 to 19 digits, the first a card network's (2 to 6: not an epoch in milliseconds).
_CARD = re.compile(_BEFORE + r"[2-6](?:[ -]?\d){12,18}" + _AFTER)
# The letter may follow a dash, not a space: "tengo 12345678 y ..." is no DNI.
_DNI = re.compile(_BEFORE + r"\d{8}-?[A-Za-z]" + _AFTER)
_NIE = re.compile(_BEFORE + r"[XYZxyz]-?\d{7}-?[A-Za-z]" + _AFTER)
_PHONE = re.compile(
    _BEFORE
    + r"(?:"
    # +34 612 345 678, +1 (555) 123-4567, +442079460958: the digits are counted below.
    # Possessive: a long run of digits after a + is not tried split every way.
    + r"\+\d{1,3}+(?:[ .-]?+(?:\(\d{1,4}+\)|\d{1,4}+)){2,5}+"
    # (555) 123-4567, 555-123-4567, 555.123.4567 (North America: no leading 0 or 1).
    + r"|(?:\([2-9]\d{2}\) ?|[2-9]\d{2}([ .-]))\d{3}(?(1)\1|[ .-])\d{4}"
    # Spain: 612 345 678, 612-34-56-78, 91 234 56 78 (mobiles 6/7, landlines 8/9); not
    # with dots, which group thousands in Spanish ("612.345.678 bytes").
    + r"|[6-9]\d{2}([ -])\d{3}\2\d{3}"
    + r"|[6-9]\d{2}([ -])\d{2}\3\d{2}\3\d{2}"
    + r"|[89]\d([ -])\d{3}\4\d{2}\4\d{2}"
    + r")"
    + _AFTER
)
_DIGIT = re.compile(r"\d")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def iban_ok(candidate: str) -> bool:
    """Whether ``candidate`` (spaces allowed) passes the IBAN mod-97 check."""
    code = candidate.replace(" ", "")
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def luhn_ok(candidate: str) -> bool:
    """Whether the digits of ``candidate`` pass the Luhn check (payment cards)."""
    digits = [int(c) for c in candidate if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def dni_ok(candidate: str) -> bool:
    """Whether a DNI (``12345678Z``) or NIE (``X1234567L``) has its right check letter."""
    plain = candidate.replace(" ", "").replace("-", "").upper()
    number = "XYZ".find(plain[0])
    digits = (str(number) + plain[1:-1]) if number >= 0 else plain[:-1]
    return _DNI_LETTERS[int(digits) % 23] == plain[-1]


def _phone_ok(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    return 8 <= digits <= 15 if candidate.startswith("+") else True


@dataclass(frozen=True)
class Pattern:
    """One kind of data to mask: matches of ``regex`` for which ``check`` holds become
    ``[label]``."""

    regex: re.Pattern[str]
    label: str = "redacted"
    check: Callable[[str], bool] | None = None
    needs: str = ""  # a character every match holds: a line without it is skipped

    @classmethod
    def of(cls, regex: str, label: str | None = None) -> Pattern:
        """A configured pattern; ``re.error`` if ``regex`` is not one."""
        return cls(re.compile(regex), label or "redacted")

    @property
    def mask(self) -> str:
        return f"[{self.label}]"


# In this order: an address or IBAN holds digits that a shorter kind would take alone.
BUILTIN: tuple[Pattern, ...] = (
    Pattern(_EMAIL, "email", needs="@"),
    Pattern(_IBAN, "iban", iban_ok),
    Pattern(_CARD, "card", luhn_ok),
    Pattern(_NIE, "nie", dni_ok),
    Pattern(_DNI, "dni", dni_ok),
    Pattern(_PHONE, "phone", _phone_ok),
)


def parse_patterns(text: str) -> list[Pattern]:
    """Patterns from a file's text: one regex a line, or ``label<TAB>regex``; blank lines
    and lines starting with ``#`` are skipped. ``ValueError`` names a bad line.

    >>> [(p.label, p.regex.pattern) for p in parse_patterns("# ids\\nemp\\tEMP-\\\\d+\\nX\\\\d\\n")]
    [('emp', 'EMP-\\\\d+'), ('redacted', 'X\\\\d')]
    """
    found: list[Pattern] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        label, tab, regex = line.partition("\t")
        if not tab:
            label, regex = "", line
        label = label.strip()
        if label and not re.fullmatch(r"[\w-]+", label):
            raise ValueError(f"line {number}: the label {label!r} is not a word")
        try:
            found.append(Pattern.of(regex, label or None))
        except re.error as exc:
            raise ValueError(f"line {number}: not a regular expression: {exc}") from None
    return found


class Redactor:
    """Masks the built-in kinds (unless ``builtin=False``) and ``extra`` patterns, one
    precompiled pass per kind.

    >>> Redactor().redact("from ana.lopez@acme.es: IBAN GB82WEST12345698765432")
    'from [email]: IBAN [iban]'
    >>> Redactor(extra=[Pattern.of("Project Falcon", "project")]).redact("Project Falcon")
    '[project]'
    """

    def __init__(self, extra: Iterable[Pattern] = (), *, builtin: bool = True) -> None:
        extras = tuple(extra)
        self.patterns: tuple[Pattern, ...] = (*(BUILTIN if builtin else ()), *extras)
        self._passes = [(p, _replacer(p)) for p in self.patterns]
        # Every built-in kind holds a digit or an @: most log lines need no regex at all.
        self._plain = not extras

    def redact(self, text: str) -> str:
        """``text`` with every match masked."""
        if self._plain and "@" not in text and not _DIGIT.search(text):
            return text
        for pattern, replace in self._passes:
            if pattern.needs and pattern.needs not in text:
                continue
            text = pattern.regex.sub(replace, text)
        return text

    __call__ = redact


def _replacer(pattern: Pattern) -> Callable[[re.Match[str]], str]:
    check = pattern.check

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        if check is None or check(found):
            return pattern.mask
        # A spaced IBAN may have run into a word that follows it ("... 1332 OK").
        head, space, tail = found.rpartition(" ")
        if space and pattern.label == "iban" and check(head):
            return f"{pattern.mask} {tail}"
        return found

    return replace


SETTING = "MINUTA_LOG_REDACT"


def from_setting(value: str | None, read: Callable[[str], str]) -> Redactor:
    """The redactor :data:`SETTING` asks for: unset, empty or ``on``: the built-in kinds;
    ``off``: none (masks nothing); anything else is the path of a file of extra patterns
    (:func:`parse_patterns`), read with ``read``. ``ValueError`` says what is wrong.

    >>> from_setting("off", read=str).redact("ana@acme.es")
    'ana@acme.es'
    >>> from_setting(None, read=str).redact("ana@acme.es")
    '[email]'
    """
    setting = (value or "").strip()
    if setting.lower() in ("", "on"):
        return Redactor()
    if setting.lower() == "off":
        return Redactor(builtin=False)
    try:
        text = read(setting)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{SETTING}: cannot read the patterns file {setting}: {exc}") from None
    try:
        return Redactor(extra=parse_patterns(text))
    except ValueError as exc:
        raise ValueError(f"{SETTING}: {setting}, {exc}") from None


class RedactFilter(logging.Filter):
    """A handler filter that masks each record's final message, its traceback and stack
    text: install it on every handler that writes somewhere (it never drops a record).

    >>> record = logging.LogRecord("x", logging.INFO, "", 0, "to %s", ("ana@acme.es",), None)
    >>> RedactFilter(Redactor()).filter(record), record.getMessage()
    (True, 'to [email]')
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "minuta_redacted", False):  # another handler's filter did it
            return True
        try:
            message = record.getMessage()
        except Exception:  # logging would print the arguments in its error report
            message = f"{record.msg} (a log message whose arguments did not format)"
        record.msg, record.args = self.redactor.redact(str(message)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:  # a formatter uses exc_text when set
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        record.minuta_redacted = True
        return True

"""The snippet shown for a hit: a piece of the segment's text around what matched, with
the matched words' places in it.

Matching here mirrors the index loosely (case and accents folded, a query word matching
the start of a text word, or a stem of it, or, for three letters or more, any part of it):
it only decides what to highlight, the database already decided what matched.
"""

from __future__ import annotations

import re
import unicodedata

SNIPPET_CHARS = 200  # a longer segment is cut around its first match
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case without accents: what the index compares.

    Example:
        >>> fold("Reunión MAÑANA")
        'reunion manana'
    """
    return "".join(_fold_char(c) for c in text)


def _fold_char(c: str) -> str:
    if c.isascii():
        return c.lower()
    return "".join(
        x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)
    ).casefold()


def terms(q: str) -> list[str]:
    """The query's words, folded."""
    return [fold(w) for w in _WORD.findall(q)]


def _matches(word: str, query_terms: list[str]) -> bool:
    return any(
        word.startswith(t) or (len(word) >= 4 and t.startswith(word)) or (len(t) >= 3 and t in word)
        for t in query_terms
    )


def highlight(text: str, query_terms: list[str]) -> tuple[str, list[list[int]]]:
    """``(snippet, highlights)``: highlights are ``[start, end)`` in UTF-16 code units of
    the snippet, as JavaScript indexes a string.

    Example:
        >>> highlight("La reunión de mañana", ["reunion"])
        ('La reunión de mañana', [[3, 10]])
    """
    spans = []
    for m in _WORD.finditer(text):
        if _matches(fold(m.group()), query_terms):
            spans.append((m.start(), m.end()))
    start, end = 0, len(text)
    if len(text) > SNIPPET_CHARS:
        first = spans[0][0] if spans else 0
        start = max(0, first - SNIPPET_CHARS // 3)
        if start > 0:  # begin at a word
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < first else start
        end = min(len(text), start + SNIPPET_CHARS)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
    lead = "…" if start > 0 else ""
    snippet = lead + text[start:end].strip() + ("…" if end < len(text) else "")
    shift = start - len(lead) + (len(text[start:end]) - len(text[start:end].lstrip()))
    marks = []
    for s, e in spans:
        if s >= start and e <= end:
            a = _utf16(snippet, s - shift)
            marks.append([a, a + _utf16(text[s:e], e - s)])
    return snippet, marks


def _utf16(text: str, chars: int) -> int:
    """How many UTF-16 code units the first ``chars`` characters of ``text`` take."""
    return len(text[:chars].encode("utf-16-le")) // 2

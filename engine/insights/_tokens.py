"""Spoken text as words with their place, fillers and false starts left out, cut into
clauses.

ASR text of a meeting is rarely written prose: "um so I'll s- I'll send the the deck
and eh Laura can you book the room". The words keep their character offsets in the
segment (for the action's text and its time), fillers ("eh", "um", "o sea", "you know"),
cut-off words ("s-") and words said twice in a row are dropped, and a clause ends at a
sentence mark or where a conjunction starts a new one.

Example:
    >>> [" ".join(t.lower for t in c) for c in clauses("um so I'll s- I'll send the the deck and eh Laura can you book it")]
    ["i'll send the deck", 'laura can you book it']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._text import fold

_TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*-?|\d+(?:[:.,]\d+)*|[¿?¡!.,;:…]")
_FILLER_PAIRS = {("o", "sea"), ("you", "know"), ("i", "mean"), ("sort", "of"), ("kind", "of"),
                 ("a", "ver"), ("es", "decir")}  # fmt: skip
# Words that start a clause in a run-on segment, before the clause's own first word.
_JOINS = {"y", "pero", "entonces", "luego", "después", "despues", "and", "but", "so", "then",
          "además", "ademas", "porque", "because", "plus", "bueno", "vale", "okay", "ok",
          "anyway", "anyways"}  # fmt: skip
_ENDS = {".", "?", "!", ";", "…"}
# "este" is a filler only where no noun follows ("este… yo lo mando"), a demonstrative
# otherwise ("este informe"): only dropped before a comma, a pronoun or another filler.
_AMBIGUOUS = {"este", "like", "so", "well", "pues", "bueno", "entonces", "vamos", "mira",
              "right", "and", "y", "pero", "but", "claro", "sí", "yes", "yeah", "okay",
              "ok", "vale", "oye", "che", "sure", "perfect", "perfecto", "brilliant", "great",
              "cool", "lovely", "dale", "listo", "jaja", "haha", "nada", "also", "oh", "ah"}  # fmt: skip


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower().replace("\u2019", "'")

    @property
    def folded(self) -> str:
        return fold(self.text).replace("\u2019", "'")

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()


def tokens(text: str) -> list[Token]:
    """Every word and punctuation mark, cut-off words and repeats left out."""
    found = [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    kept: list[Token] = []
    for i, token in enumerate(found):
        if token.text.endswith("-") and len(token.text) <= 6:
            continue  # "s-", "wi-": a word cut off and started again
        if kept and kept[-1].lower == token.lower and token.is_word:
            continue  # "the the", "yo yo"
        nxt = found[i + 1].lower if i + 1 < len(found) else ""
        if kept and (kept[-1].lower, token.lower) in _FILLER_PAIRS:
            kept.pop()
            continue
        if token.lower in ("eh", "em", "ehm", "mm", "mmm", "hmm", "um", "uh", "er", "erm"):
            continue
        if token.lower == "este" and nxt in {",", "…", "eh", "yo", "o", "bueno", "pues", ""}:
            continue
        kept.append(token)
    return _repeat_restarts(kept)


def _repeat_restarts(found: list[Token]) -> list[Token]:
    """ "I'll I'll send", "voy a voy a mandar": a restart, kept once."""
    out: list[Token] = []
    for token in found:
        out.append(token)
        for n in (3, 2):
            if len(out) >= 2 * n and [t.lower for t in out[-n:]] == [
                t.lower for t in out[-2 * n : -n]
            ]:
                del out[-n:]
                break
    return out


def clauses(text: str) -> list[list[Token]]:
    """The words of ``text`` cut into clauses, without punctuation or leading fillers."""
    out: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens(text):
        if token.text in _ENDS:
            current.append(token)  # a clause keeps its "?" (read by the constructions)
            out.append(current)
            current = []
        elif token.text == ",":
            current.append(token)
        elif token.lower in _JOINS and _starts_clause(current):
            out.append(current)
            current = []
        else:
            current.append(token)
    out.append(current)
    return [c for c in (_trim(c) for c in out) if any(t.is_word for t in c)]


def _starts_clause(current: list[Token]) -> bool:
    words = [t for t in current if t.is_word]
    return len(words) >= 3


def _trim(clause: list[Token]) -> list[Token]:
    while clause and (
        clause[0].lower in _AMBIGUOUS
        or clause[0].text in {",", "¿", "¡"}
        or (clause[0].lower == "si" and len(clause) > 1 and clause[1].text == ",")
    ):
        if clause[0].text in {"¿", "¡"}:
            break
        clause = clause[1:]
    return clause

"""The constructions of a commitment in one clause, in Spanish and English.

A clause commits someone when its verb says a person will do something: a future
("enviará", "prepararemos", "Sam will send"), "ir a" / "going to", an obligation ("tengo
que", "hay que", "I need to"), a request or an imperative to a person ("¿podrías…?",
"can you…?", "Laura, revisa…"), volunteering ("yo me encargo", "leave it with me") or an
agreed next step ("acordamos que…", "the next step will be…"). Who is committed comes from
the verb's person or its subject: the speaker for the first person singular, a named
person, the person addressed, or nobody in particular ("we", "hay que").

What takes a clause back is read around its verb: a negation before it, a hypothesis or a
wish, a worry, the past, a habit, or a question nobody is asked.

Example:
    >>> from engine.insights._tokens import clauses
    >>> [c] = clauses("Marta enviará el presupuesto antes del martes")
    >>> found = commitment(c, speakers={"Marta"})
    >>> found.kind, found.name, found.verb
    ('named', 'Marta', 'enviar')
"""

from __future__ import annotations

import itertools

from . import _lexicon as lexicon
from . import _verbs as verbs
from ._commitment import Commitment
from ._forms import ENGLISH_ONLY, FORMS, SPANISH_ONLY
from ._names import is_name, is_speaker, spelled
from ._tokens import Token

__all__ = ["Commitment", "commitment"]


def commitment(
    clause: list[Token], *, speakers: set[str], language: str | None = None
) -> Commitment | None:
    """The commitment ``clause`` makes, if any, and nothing takes it back; ``language``
    ("es", "en", None for either) picks the constructions tried."""
    words = [t for t in clause if t.is_word]
    if not words:
        return None
    lows = [_norm(t) for t in words]
    question = any(t.text in ("?", "¿") for t in clause)
    start = _after_condition(lows)
    lows, words = lows[start:], words[start:]
    if not lows:
        return None
    name, skip = _vocative(clause, speakers)
    if name is None and len(words) > 2 and is_speaker(words[0], speakers):
        name, skip = spelled(words[0], speakers), 1  # "matías vos armá…": no comma
        if lows[1] in ("vos", "tu", "usted", "you"):
            skip = 2
    found = _find(lows, words, speakers, name, skip if start == 0 else 0, language)
    if found is None:
        return None
    if found.kind != "who" and _taken_back(lows, words, found, question):
        return None
    if found.kind == "addressed" and name is not None:
        found = Commitment("named", name, found.verb, found.conf, found.at, found.explicit_time)
    return Commitment(
        found.kind, found.name, found.verb, found.conf, found.at + start, found.explicit_time
    )


def _norm(token: Token) -> str:
    return token.folded.strip("'")


def _after_condition(lows: list[str]) -> int:
    """ "si me mandas el contrato, lo reviso": where the main clause starts (the comma
    was dropped: after the condition's verb and its object, at a clitic or pronoun)."""
    if not lows or lows[0] not in ("si", "if"):
        return 0
    for i in range(2, len(lows)):
        if lows[i] in {"lo", "la", "los", "las", "le", "yo", "i", "i'll", "we'll", "te", "se"}:
            return i
    return 0


def _vocative(clause: list[Token], speakers: set[str]) -> tuple[str | None, int]:
    """A person spoken to: "Laura, …", "…, Rocío?"; and how many words it takes."""
    words = [t for t in clause if t.text != "¡"]
    if len(words) >= 4 and words[0].folded in ("please", "porfa") and words[1].text == ",":
        words = words[2:]  # "Yes please, Destiny, pull them…"
    if len(words) >= 3 and words[1].text in {",", "¿"} and is_name(words[0], speakers):
        return spelled(words[0], speakers), 1
    trailing = len(words) >= 3 and words[-1].text == "?" and words[-3].text == ","
    if trailing and is_name(words[-2], speakers):  # "…, Rocío?"
        return spelled(words[-2], speakers), 0
    return None, 0


def _find(
    lows: list[str], words: list[Token], speakers: set[str], name: str | None, skip: int,
    language: str | None,
) -> Commitment | None:  # fmt: skip
    for form in FORMS:
        if (language == "es" and form in ENGLISH_ONLY) or (
            language == "en" and form in SPANISH_ONLY
        ):
            continue
        found = form(lows, words, speakers, name, skip, language)
        if found is not None:
            return found
    return None


def _taken_back(lows: list[str], words: list[Token], found: Commitment, question: bool) -> bool:
    at = found.at
    end = _scope_end(lows, at)
    scope, near = lows[:end], lows[max(0, at - 3) : at + 3]
    asked = found.kind in ("addressed", "named")
    if any(
        w in lexicon.NEGATIONS and not _reassurance(lows, at - 3 + k) for k, w in enumerate(near)
    ):
        return True
    if question and not asked:
        return True
    if set(itertools.pairwise(scope)) & lexicon.HYPOTHESIS_PAIRS and not asked:
        return True
    if any(w in lexicon.HYPOTHESES for w in scope[: at + 5]) and not (
        asked and "would" in lows[:3]
    ):
        return True
    if not asked and any(verbs.conditional(w) for w in scope[: at + 5]):
        return True
    if any(w in lexicon.WORRIES and (j == 0 or lows[j - 1] != "no") for j, w in enumerate(scope)):
        return True  # (not "no worries")
    habits = scope if found.kind == "we" else lows[max(0, at - 3) : at + 4]
    if any(w in lexicon.HABITS for w in habits):
        return True
    if any(_past_marker(lows, j) for j in range(max(0, at - 3), end)):
        return True
    if any(w in lexicon.ES_PAST_IR for w in scope[: at + 3]) or "dijo" in scope[:at]:
        return True
    if any(
        verbs.preterite(w.lower) or verbs.english_past(w.lower)
        for w in words[max(0, at - 2) : at + 2]
    ):
        return True
    if ("to", "order") in set(itertools.pairwise(lows)):
        return True  # "I'll call this session to order"
    return bool(lexicon.IN_THE_MEETING_WORDS & set(scope)) and found.kind in ("self", "we")


def _reassurance(lows: list[str], j: int) -> bool:
    """ "No worries, …", "no te preocupes": no negation of what follows."""
    nxt = lows[j + 1] if 0 <= j < len(lows) - 1 else ""
    return lows[j] == "no" and nxt in {"worries", "problem", "te", "pasa", "hay", "bronca", "prob"}


def _scope_end(lows: list[str], at: int) -> int:
    """Where a clause hanging on the task starts ("…, que siempre se queda pillada"):
    what it says does not take the task back."""
    for j in range(at + 3, len(lows)):
        if lows[j] in {"que", "porque", "because", "since", "cause", "so", "asi", "pero",
                       "but", "cuando", "when", "which", "who", "donde", "where"}:  # fmt: skip
            return j
    return len(lows)


def _past_marker(lows: list[str], j: int) -> bool:
    word, nxt = lows[j], lows[j + 1] if j + 1 < len(lows) else ""
    if word == "pasado":
        return nxt not in ("manana", "mañana")
    if word == "hace":
        return nxt.isdigit() or nxt in {"un", "una", "dos", "tres", "unos", "unas", "poco"}
    return word in lexicon.PAST

"""The English forms of a commitment: "I'll…", "Sam is going to…", "we need to…",
"someone has to…", "let me…"; the subject says who (``_lexicon.EN_SUBJECTS``).

Example:
    >>> from engine.insights._tokens import clauses
    >>> [c] = clauses("Kayla's going to call the bank")
    >>> words = [t for t in c if t.is_word]
    >>> english([t.folded for t in words], words, {"Kayla"}, None, 0, "en").name
    'Kayla'
"""

from __future__ import annotations

from . import _lexicon as lexicon
from ._commitment import Commitment
from ._names import is_name, spelled, subject_name
from ._tokens import Token


def english(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
             skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    for i, low in enumerate(lows):
        subject, verb_at = None, None
        if low in lexicon.EN_CONTRACTED and low.endswith("'ll"):
            subject, verb_at = lexicon.EN_CONTRACTED[low], i + 1
        elif low in lexicon.EN_WILL and i > 0:
            subject, verb_at = lows[i - 1], i + 1
        elif low in ("going", "gonna"):
            k = i + (2 if low == "going" and i + 1 < len(lows) and lows[i + 1] == "to" else 1)
            if low == "going" and (i + 1 >= len(lows) or lows[i + 1] != "to"):
                continue
            j = i - 1
            while j > 0 and lows[j] in lexicon.EN_SKIP:
                j -= 1
            prev = lows[j] if j >= 0 else ""
            if prev in ("was", "were"):
                return None  # reported past plans
            subject = lexicon.EN_CONTRACTED.get(prev) or (
                lows[j - 1] if j > 0 and prev in ("am", "is", "are", "'s", "'re") else prev
            )
            if subject.endswith("'s") and is_name(words[j], speakers):  # "Kayla's going to…"
                return Commitment(
                    "named",
                    spelled(words[j], speakers).removesuffix("'s"),
                    lows[k] if k < len(lows) else "",
                    0.85,
                    j,
                )
            verb_at = k
        elif low == "gotta" and i > 0:
            subject, verb_at = lows[i - 1], i + 1
        elif low in ("need", "needs", "have", "has", "must", "got") and i + 1 < len(lows):
            k = i + 1
            if (low in ("need", "needs", "have", "has") and lows[k] == "to") or (
                low == "got" and lows[k] == "to"
            ):
                k += 1
            elif low != "must":
                continue
            prev = lows[i - 1] if i > 0 else ""
            if prev in ("i've", "we've", "you've"):
                prev = prev[:-3]
            prev = lexicon.EN_CONTRACTED.get(prev, prev)  # "you'll need to…"
            subject, verb_at = prev, k
            if subject in ("you",) and k < len(lows) and lows[k] in lexicon.NOT_TASKS:
                return None  # "you have to love this team"
        elif low in ("let", "let's") and i + 1 < len(lows):
            if low == "let" and lows[i + 1] == "me" and i + 2 < len(lows):
                verb = lows[i + 2]
                if verb not in lexicon.NOT_TASKS | lexicon.IN_THE_MEETING | lexicon.EN_CLOSED | {
                    "know",
                    "just",
                }:
                    return Commitment("self", None, verb, 0.75, i)
            continue
        if subject is None or verb_at is None:
            continue
        while verb_at < len(lows) and lows[verb_at] in lexicon.EN_SKIP:
            verb_at += 1
        if verb_at >= len(lows):
            continue
        verb = lows[verb_at]
        no_task = (
            verb in lexicon.NOT_TASKS
            or (verb in lexicon.EN_CLOSED and verb not in ("have", "do"))
            or verb in lexicon.IN_THE_MEETING
        )
        # "get the log up to date" is a task; "get it", "get there" are not.
        get_done = verb == "get" and lows[verb_at + 1 : verb_at + 2] not in (
            ["it"],
            ["there"],
            ["to"],
            [],
        )
        if no_task and not get_done:
            continue
        conf = 0.8 if low in ("need", "needs", "have", "has", "must", "got") else 0.85
        start = max(0, i - 1) if low not in lexicon.EN_CONTRACTED else i
        if subject == "you" and start > 0 and is_name(words[start - 1], speakers):
            return Commitment("named", spelled(words[start - 1], speakers), verb, conf, start - 1)
        if subject in lexicon.EN_SUBJECTS:
            kind = lexicon.EN_SUBJECTS[subject]
            return Commitment(kind, None, verb, conf - (0.1 if kind == "we" else 0), start)
        if subject in (
            "he",
            "she",
        ):  # the person last named before: "I spoke to Hannah and she'll…"
            named = [w for w in words[:start] if is_name(w, speakers) and w.text[0].isupper()]
            who = spelled(named[-1], speakers) if named else None
            return Commitment("named", who, verb, conf - (0.05 if who else 0.1), start)
        who = subject_name(words, lows, i if low not in ("going", "gonna") else i - 1, speakers)
        if who is None and i > 1 and lows[i - 1] in ("is", "'s"):
            who = subject_name(words, lows, i - 1, speakers)
        if who is not None:
            return Commitment("named", who, verb, conf, start)
    return None

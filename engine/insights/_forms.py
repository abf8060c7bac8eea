"""The forms of a commitment, one function each: each reads a clause's words and says
who is committed to what, or None. ``_constructions.py`` tries them in order.

Every form takes the clause's folded words (``lows``), its tokens, the meeting's
speakers, the person it addresses (``name``, from a vocative, and ``skip``, the words the
vocative takes) and the language ("es", "en", or None for either).
"""

from __future__ import annotations

from dataclasses import replace

from . import _lexicon as lexicon
from . import _verbs as verbs
from ._commitment import Commitment
from ._forms_en import english
from ._names import is_name, spelled, subject_name
from ._text import fold
from ._tokens import Token


def _marker(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
            skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    text = " ".join(lows)
    for lead in ("action item", "action", "accion", "tarea", "to do", "todo", "pendiente"):
        if text.startswith(lead + " ") and len(lows) > len(lead.split()) + 1:
            at = len(lead.split())
            if lows[:2] == ["action", "on"] and len(lows) > 3 and is_name(words[2], speakers):
                return Commitment(
                    "named",
                    spelled(words[2], speakers),
                    lows[4:5][0] if len(lows) > 4 else "",
                    0.9,
                    3,
                )
            owner = next((spelled(w, speakers) for w in words[at:] if is_name(w, speakers)), None)
            return Commitment("named" if owner else "marker", owner, "", 0.9, at)
    for i in range(len(lows) - 2):
        if lows[i : i + 2] in (["acordamos", "que"], ["quedamos", "en"], ["agreed", "that"],
                               ["queda", "pendiente"], ["next", "step"], ["siguiente", "paso"],
                               ["proximo", "paso"], ["next", "steps"]):  # fmt: skip
            rest = i + 2
            while rest < len(lows) and lows[rest] in {"que", "is", "will", "be", "to", "es",
                                                       "sera", "seria", "are", "el", "la"}:  # fmt: skip
                rest += 1
            if rest >= len(lows):
                return None
            owner = spelled(words[rest], speakers) if is_name(words[rest], speakers) else None
            if owner:
                return Commitment(
                    "named", owner, lows[rest + 1] if rest + 1 < len(lows) else "", 0.8, rest
                )
            return Commitment("we", None, lows[rest], 0.75, rest)
    return None


def _volunteer(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
               skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    text = " " + " ".join(lows) + " "
    for phrase in (" me ocupo", " me encargo", " me hago cargo", " de mi cuenta", " lo hago yo",
                   " yo lo hago", " yo me pongo", " me apunto", " cuenta conmigo",
                   " me comprometo a", " quedo en ", " dejamelo", " dejalo a mi", " yo lo veo",
                   " leave it with me", " leave it to me", " leave that with me",
                   " i'm on it", " i can take", " i'll take care", " i'll handle",
                   " i can handle", " happy to take", " i'll take that", " i'll take it",
                   " i'll own", " i can own", " i'll look after", " i'll sort",
                   " i can sort", " i'll chase", " i'll pick that up", " i can pick"):  # fmt: skip
        if phrase in text:
            at = text.index(phrase)
            position = text[:at].count(" ")
            return Commitment("self", None, phrase.strip(), 0.85, max(0, position - 1))
    for i, low in enumerate(lows[:-2]):
        if low in ("se", "is") and lows[i + 1] in ("encarga", "ocupa", "on", "taking", "handling",
                                                   "owning"):  # fmt: skip
            who = subject_name(words, lows, i, speakers)
            if who is not None:
                return Commitment("named", who, lows[i + 1], 0.85, i - 1)
        if low == "te" and lows[i + 1] in ("encargo", "dejo"):
            return Commitment("addressed", None, "encargar", 0.85, i)
        if low in ("encargate", "ocupate"):
            return Commitment("addressed", None, "encargar", 0.85, i)
    return None


# "¿Quién se encarga…?", "who can…?": the second word says it asks for someone to act.
_TASKED = {"se", "puede", "podria", "va", "quiere", "can", "will", "could", "wants", "is",
           "'s", "'ll", "takes", "tiene", "needs", "should"}  # fmt: skip
_ANYONE = (["alguien", "puede"], ["can", "someone"], ["can", "somebody"],
           ["could", "someone"], ["anyone", "able"])  # fmt: skip


def _who(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
         skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    """ "¿Quién se encarga de…?", "who can take…?", "can someone…?": a task with no owner
    yet; the reply names one (``_actions.py``)."""
    first = lows[0]
    if len(lows) < 3:
        return None
    asks_who = first in ("quien", "who", "who's", "whos") and (
        (lows[1] in _TASKED and not (lows[1] == "tiene" and lows[2] != "que"))
        or (first == "who's" and (lows[1] in ("going", "gonna", "on") or lows[1].endswith("ing")))
    )
    if asks_who or lows[:2] in _ANYONE:
        return Commitment("who", None, lows[1], 0.8, 0)
    return None


def _request(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
             skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    for i, low in enumerate(lows):
        nxt = lows[i + 1] if i + 1 < len(lows) else ""
        if (
            low in lexicon.ES_CAN
            and verbs.infinitive(nxt)
            and verbs.infinitive(nxt) not in lexicon.IN_THE_MEETING
            and (i == 0 or lows[i - 1] != "yo")
        ):  # "yo podría…": an offer, hedged
            if low in ("puede", "pueden") and i > 0 and is_name(words[i - 1], speakers):
                return Commitment("named", spelled(words[i - 1], speakers), nxt, 0.8, i - 1)
            if low in ("puede", "pueden") and name is None:
                continue  # "puede que…", "se puede…": not asked of anyone
            return Commitment("addressed", None, verbs.infinitive(nxt) or nxt, 0.85, i)
        if low in ("can", "could", "would", "will") and nxt == "you":
            if i > 0 and is_name(words[i - 1], speakers):
                name = spelled(words[i - 1], speakers)  # "laura can you book…"
            k = i + 2
            while k < len(lows) and lows[k] in lexicon.EN_SKIP | {"please"}:
                k += 1
            if (
                k < len(lows)
                and (lows[k] not in lexicon.EN_CLOSED or lows[k] in ("have", "do"))
                and lows[k] not in {"hear", "see", "repeat"}
            ):
                if lows[k] == "mind" and k + 1 < len(lows):
                    k += 1
                if name is not None:
                    return Commitment("named", name, lows[k], 0.85, max(0, i - 1))
                return Commitment("addressed", None, lows[k], 0.85, i)
        if low in ("please", "porfa") or lows[i : i + 2] == ["por", "favor"]:
            k = i + (2 if low == "por" else 1)
            if name is not None and k < len(lows) and words[k].folded == fold(name.split()[0]):
                k += 1  # "please, Destiny, pull them"
            if (
                k < len(lows)
                and lows[k] not in lexicon.EN_CLOSED
                and lows[k] not in lexicon.IN_THE_MEETING | {"go", "mute"}
            ):
                if {"everybody", "everyone", "todos", "all", "y'all"} & set(
                    lows[max(0, i - 2) : i]
                ):
                    return Commitment("we", None, lows[k], 0.75, max(0, i - 1))
                return Commitment("addressed", None, lows[k], 0.8, i)
        if low == "need" and nxt == "you" and i + 3 < len(lows) and lows[i + 2] == "to":
            return Commitment("addressed", None, lows[i + 3], 0.85, i)
        let_have = lows[i : i + 2] in (["let's", "have"], ["let's", "get"], ["lets", "have"])
        if let_have and i + 2 < len(lows) and is_name(words[i + 2], speakers):
            return Commitment("named", spelled(words[i + 2], speakers), "", 0.85, i + 2)
    # "¿me pasas el informe?", "¿nos mandás…?": a present to "tú"/"vos" with a clitic.
    s = skip
    if len(lows) >= s + 3 and lows[s] in ("me", "nos") and lows[s + 1].endswith(("as", "es")):
        for ending in ("ar", "er", "ir"):
            guess = lows[s + 1][:-2] + ending
            if verbs.infinitive(guess) == guess:
                return Commitment("addressed", None, guess, 0.8, s)
    return None


def _imperative(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
                skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    if name is None or skip == 0 or skip >= len(lows):
        return None
    first = lows[skip]
    verb = verbs.imperative(first) if language != "en" else None
    if verb is not None and verb not in lexicon.NOT_TASKS | lexicon.IN_THE_MEETING:
        return Commitment("named", name, verb, 0.85, skip)
    # English: the word in the verb's place is no function word ("Tom, chase the…").
    if (
        language != "es"
        and first.isalpha()
        and first not in lexicon.EN_CLOSED
        and not first.endswith(("ing", "ed", "mos"))
        and verbs.lemma(first, "en") == first
        and first not in lexicon.NOT_TASKS - {"get", "keep"}
        and verbs.infinitive(first) is None
    ):
        return Commitment("named", name, first, 0.8, skip)
    return None


def _periphrastic(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
                  skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    for i in range(len(lows) - 2):
        low = lows[i]
        if low in lexicon.ES_IR and lows[i + 1] == "a":
            verb = verbs.infinitive(lows[i + 2], expected=True)
            if verb == "tener" and lows[i + 3 : i + 4] == ["que"] and i + 4 < len(lows):
                verb = verbs.infinitive(lows[i + 4])  # "vamos a tener que pedir…"
            if verb in lexicon.NEED_A_TIME:
                found = _by_person(lexicon.ES_IR[low], words, lows, i, speakers, verb, 0.8)
                return None if found is None else replace(found, explicit_time=True)
            if verb is None or verb in lexicon.NOT_TASKS or verb in lexicon.IN_THE_MEETING:
                continue
            return _by_person(lexicon.ES_IR[low], words, lows, i, speakers, verb, 0.85)
    return None


def _obligation(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
                skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    for i in range(len(lows) - 1):
        low, nxt = lows[i], lows[i + 1]
        if low in lexicon.ES_TENER and nxt == "que" and i + 2 < len(lows):
            verb = verbs.infinitive(lows[i + 2], expected=True)
            if verb and verb not in lexicon.NOT_TASKS:
                return _by_person(lexicon.ES_TENER[low], words, lows, i, speakers, verb, 0.8)
        if low == "hay" and nxt == "que" and i + 2 < len(lows):
            verb = verbs.infinitive(lows[i + 2], expected=True)
            if verb and verb not in lexicon.NOT_TASKS | {
                "reconocer",
                "decir",
                "admitir",
                "entender",
            }:
                return Commitment("we", None, verb, 0.75, i)
        if low in lexicon.ES_DEBER:
            verb = verbs.infinitive(nxt)
            if verb and verb not in lexicon.NOT_TASKS:
                return _by_person(lexicon.ES_DEBER[low], words, lows, i, speakers, verb, 0.75)
    return None


def _future(lows: list[str], words: list[Token], speakers: set[str], name: str | None,
            skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    for i, _low in enumerate(lows):
        found = verbs.future(words[i].lower)
        if found is None:
            continue
        verb, person = found
        if verb in lexicon.NOT_TASKS and not (
            verb == "tener" and i + 1 < len(lows) and lows[i + 1].startswith(("list", "prepar"))
        ):
            continue
        return _by_person(person, words, lows, i, speakers, verb, 0.85)
    return None


def _by_person(person: str, words: list[Token], lows: list[str], i: int, speakers: set[str],
               verb: str, conf: float) -> Commitment | None:  # fmt: skip
    if person == "1s":
        return Commitment("self", None, verb, conf, _subject_start(lows, i))
    if person == "1p":
        return Commitment("we", None, verb, conf - 0.1, _subject_start(lows, i))
    if person in ("2s", "2p"):
        return Commitment("addressed", None, verb, conf - 0.05, i)
    who = subject_name(words, lows, i, speakers)
    if who is not None:
        return Commitment("named", who, verb, conf, max(0, i - 1))
    if i > 0 and lows[i - 1] in ("alguien", "someone"):
        return Commitment("we", None, verb, conf - 0.1, i - 1)
    return None  # "lloverá", "el mercado va a crecer": no one to do it


def _subject_start(lows: list[str], i: int) -> int:
    j = i
    while j > 0 and lows[j - 1] in lexicon.ES_CLITICS | {"yo", "nosotros", "ya", "tambien"}:
        j -= 1
    return j


def _present_for_future(lows: list[str], words: list[Token], speakers: set[str],
                        name: str | None, skip: int, language: str | None) -> Commitment | None:  # fmt: skip
    """ "Yo lo reviso mañana", "te lo mando hoy": the present, committed only with a time
    (``explicit_time``; the caller checks there is one)."""
    for i, _low in enumerate(lows):
        if i > 0 and lows[i - 1] not in lexicon.ES_CLITICS | {"yo", "ya", "ahorita", "luego"}:
            continue
        verb = verbs.present_first_person(words[i].lower)  # accents kept: "mandó" is past
        if verb and verb not in lexicon.NOT_TASKS:
            return Commitment("self", None, verb, 0.75, _subject_start(lows, i), True)
    return None


# In order: the surest first.
FORMS = (_marker, _volunteer, _who, _request, _imperative, _periphrastic, _obligation,
         _future, english, _present_for_future)  # fmt: skip
SPANISH_ONLY = {_periphrastic, _obligation, _future, _present_for_future}
ENGLISH_ONLY = {english}

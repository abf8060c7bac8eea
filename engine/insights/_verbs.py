"""Verb forms, read from their endings and checked against simplemma's lexicon.

Spanish carries person, tense and mood in the verb: "enviará" is the future, third
person; "envié" the past, first person; "enviaría" the conditional. A form counts as the
future only when taking its ending off leaves a verb simplemma knows ("prepar-é" leaves
"prepar", no verb: the past of "preparar"; "preparar-é" is its future). English marks
them with auxiliaries, read by the constructions (``_constructions.py``); here only its
past forms.

Example:
    >>> future("enviará"), future("prepararemos"), future("haré"), future("preparé")
    (('enviar', '3s'), ('preparar', '1p'), ('hacer', '1s'), None)
    >>> infinitive("mandárselo"), infinitive("lugar") is None
    ('mandar', False)
"""

from __future__ import annotations

import functools
import re

import simplemma

from ._text import fold

Person = str  # "1s", "2s", "3s", "1p", "2p", "3p"

_FUTURE_ENDINGS = (
    ("emos", "1p"),
    ("éis", "2p"),
    ("ás", "2s"),
    ("án", "3p"),
    ("é", "1s"),
    ("á", "3s"),
)
_IRREGULAR_FUTURE = {
    "har": "hacer", "dir": "decir", "podr": "poder", "pondr": "poner", "tendr": "tener",
    "saldr": "salir", "vendr": "venir", "sabr": "saber", "querr": "querer", "habr": "haber",
    "cabr": "caber", "valdr": "valer",
}  # fmt: skip
_CLITICS = re.compile(r"(?:(?:me|te|se|nos|os)?(?:lo|la|los|las|le|les)|me|te|se|nos|os)$")
_PRETERITE = re.compile(r"(?:é|ó|aste|iste|asteis|isteis|aron|ieron|ió)$")
_IRREGULAR_PRETERITE = {
    "hice", "hizo", "hicimos", "hicieron", "fui", "fue", "fuimos", "fueron", "dije", "dijo",
    "dijimos", "dijeron", "puse", "puso", "pusimos", "tuve", "tuvo", "tuvimos", "estuve",
    "estuvo", "estuvimos", "pude", "pudo", "quise", "quiso", "vine", "vino", "traje", "trajo",
    "supe", "supo", "di", "dio", "dimos", "vi", "vio",
}  # fmt: skip
_EN_PAST = {
    "sent", "wrote", "did", "made", "took", "gave", "went", "spoke", "told", "said",
    "met", "found", "bought", "paid", "ran", "saw", "came", "left", "brought", "had",
    "was", "were", "forgot", "thought", "dealt", "rang", "built",
}  # fmt: skip


@functools.cache
def _known(word: str, lang: str) -> bool:
    return bool(simplemma.is_known(word, lang=lang))


@functools.cache
def lemma(word: str, lang: str) -> str:
    """simplemma's lemma of a lowercase word."""
    return str(simplemma.lemmatize(word, lang=lang))


def _is_infinitive(word: str) -> bool:
    short = word in ("dar", "ver", "oir", "oír")
    return (
        (len(word) >= 4 or short) and fold(word)[-2:] in ("ar", "er", "ir") and _known(word, "es")
    )


@functools.cache
def future(word: str) -> tuple[str, Person] | None:
    """The lemma and person of a Spanish simple future, else None."""
    lower = word.lower()
    for ending, person in _FUTURE_ENDINGS:
        if not lower.endswith(ending):
            continue
        stem = lower[: -len(ending)]
        if stem.endswith("r") and len(stem) >= 4 and _is_infinitive(stem):
            return fold(stem), person
        for irregular, verb in _IRREGULAR_FUTURE.items():
            if fold(stem).endswith(irregular) and len(stem) - len(irregular) <= 4:
                prefix = fold(stem)[: -len(irregular)]  # "propondr", "mantendr"
                return prefix + verb, person
        return None
    return None


@functools.cache
def conditional(word: str) -> bool:
    """A Spanish conditional ("enviaría", "haríamos"): a wish or a hypothesis."""
    lower = fold(word)
    for ending in ("riamos", "riais", "rias", "rian", "ria"):
        if lower.endswith(ending):
            stem = lower[: -len(ending) + 1]  # keep the r
            return _is_infinitive(stem) or fold(stem) in _IRREGULAR_FUTURE
    return False


@functools.cache
def infinitive(word: str, *, expected: bool = False) -> str | None:
    """The lemma of a Spanish infinitive, clitics allowed ("mandárselo" -> "mandar").
    ``expected``: where the grammar wants one ("vamos a agendar"), a word with an
    infinitive's ending is one even if the lexicon does not know it."""
    folded = fold(word)
    bare = _CLITICS.sub("", folded) if len(folded) > 6 else folded
    for candidate in (folded, bare):
        if candidate[-2:] in ("ar", "er", "ir") and _is_infinitive(candidate):
            return candidate
    if expected and bare[-2:] in ("ar", "er", "ir") and len(bare) >= 5 and bare.isalpha():
        return bare
    return None


@functools.cache
def preterite(word: str) -> bool:
    """A Spanish past (preterite) form: "envié", "mandó", "hicimos"."""
    lower = word.lower()
    if fold(lower) in _IRREGULAR_PRETERITE:
        return True
    if future(lower) is not None or not _PRETERITE.search(lower):
        return False
    found = lemma(lower, "es")
    return found != lower and fold(found)[-2:] in ("ar", "er", "ir")


@functools.cache
def present_first_person(word: str) -> str | None:
    """The lemma of a Spanish present in the first person singular ("reviso", "mando")."""
    lower = word.lower()
    if not lower.endswith("o") or len(lower) < 4:  # "mandó" (past) ends in "ó"
        return None
    found = lemma(lower, "es")
    if found != lower and fold(found)[-2:] in ("ar", "er", "ir"):
        return fold(found)
    for ending in ("ar", "er", "ir"):  # "mando" is also a noun to simplemma
        guess = fold(lower)[:-1] + ending
        if _is_infinitive(guess):
            return guess
    return None


@functools.cache
def imperative(word: str) -> str | None:
    """The lemma of a Spanish imperative to "tú", "vos" or "usted", clitics allowed:
    "revisa", "mandá", "revise", "mándame", "haz"."""
    if preterite(word):
        return None  # "leíste", "mandaste"
    folded = fold(word)
    irregular = {"haz": "hacer", "pon": "poner", "ven": "venir", "di": "decir", "sal": "salir",
                 "ten": "tener", "ve": "ir"}  # fmt: skip
    for candidate in (folded, _CLITICS.sub("", folded)):
        if candidate in irregular:
            return irregular[candidate]
        if len(candidate) < 4 or candidate[-1] not in "ae":
            continue
        found = fold(lemma(candidate, "es"))
        if found[-2:] in ("ar", "er", "ir") and found != candidate:
            return found  # "cierra" -> "cerrar"
        for infinitive_ending in ("ar", "er", "ir"):
            guess = candidate[:-1] + infinitive_ending
            if _is_infinitive(guess):
                return guess
    return None


def english_past(word: str) -> bool:
    """An English past form: "sent", "emailed"."""
    lower = word.lower()
    if lower in _EN_PAST:
        return True
    return lower.endswith("ed") and len(lower) > 4 and lemma(lower, "en") != lower

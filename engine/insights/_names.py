"""Who a word names: a speaker of the meeting (by first name, or its start: "Agus" for
Agustina), or a capitalised word that is no common opener ("Marta enviará…")."""

from __future__ import annotations

from . import _lexicon as lexicon
from ._text import fold
from ._tokens import Token


def is_speaker(token: Token, speakers: set[str]) -> bool:
    return token.is_word and speaker_for(token, speakers) is not None


def speaker_for(token: Token, speakers: set[str]) -> str | None:
    """The speaker a word names: their first name, or its start ("Agus" for Agustina)."""
    folded = token.folded
    for speaker in speakers:
        first = fold(speaker.split()[0])
        if folded == first or (
            len(folded) >= 3 and first.startswith(folded) and token.text[0].isupper()
        ):
            return speaker
    return None


def is_name(token: Token, speakers: set[str]) -> bool:
    if not token.is_word or token.folded in lexicon.NOT_NAMES:
        return False
    if any(token.folded == fold(s.split()[0]) for s in speakers):
        return True
    return token.text[0].isupper() and len(token.text) > 1


def spelled(token: Token, speakers: set[str]) -> str:
    return speaker_for(token, speakers) or token.text


def subject_name(words: list[Token], lows: list[str], i: int, speakers: set[str]) -> str | None:
    """A name just before position ``i`` (skipping clitics and adverbs)."""
    j = i - 1
    while j >= 0 and (
        lows[j] in lexicon.ES_CLITICS
        or lows[j] in lexicon.EN_SKIP
        or lows[j] in {"ya", "también", "tambien"}
    ):
        j -= 1
    if j >= 0 and is_name(words[j], speakers):
        return spelled(words[j], speakers)
    return None

"""Text helpers shared by the heuristics: folding, sentences, words."""

from __future__ import annotations

import re
import unicodedata

_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile("[^\\W\\d_]+(?:['\u2019][^\\W\\d_]+)?", re.UNICODE)


def fold(text: str) -> str:
    """Lowercase without accents, for matching.

    Example:
        >>> fold("Miércoles, ¿MAÑANA?")
        'miercoles, ¿manana?'
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def sentences(text: str) -> list[str]:
    """Split at sentence ends.

    Example:
        >>> sentences("Vale. Yo lo envío mañana. ¿Y tú?")
        ['Vale.', 'Yo lo envío mañana.', '¿Y tú?']
    """
    return [s for s in (part.strip() for part in _SENTENCE.split(text.strip())) if s]


def words(text: str) -> list[str]:
    """Folded words.

    Example:
        >>> words("I'll send Ana's deck, ¿vale?")
        ["i'll", 'send', "ana's", 'deck', 'vale']
    """
    return [w.replace("\u2019", "'") for w in _WORD.findall(fold(text))]

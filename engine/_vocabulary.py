"""Custom vocabulary: names and jargon the ASR should expect in a transcript.

Kept in the transcript's ``meta`` as a list of terms, so that anyone who can edit the
transcript can correct it while the ASR is still listening.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._errors import InvalidTranscriptError

# Whisper takes at most 223 prompt tokens; these bounds keep a vocabulary well inside
# that (about 2 tokens a term) and keep one editor from bloating every doc.
MAX_TERMS = 100
MAX_TERM_CHARS = 60


def clean_vocabulary(terms: Iterable[object]) -> list[str]:
    """Terms trimmed, blanks and repeats (ignoring case) dropped, in their first order.

    Raises:
        InvalidTranscriptError: a term is not a string, or too long, or there are too many.

    Example:
        >>> clean_vocabulary([" Siobhan ", "", "Kubeflow", "siobhan"])
        ['Siobhan', 'Kubeflow']
    """
    if isinstance(terms, str | bytes):
        raise InvalidTranscriptError("vocabulary must be a list of terms, not one string")
    out: list[str] = []
    seen: set[str] = set()
    for term in terms:
        if not isinstance(term, str):
            raise InvalidTranscriptError(f"vocabulary terms must be strings, got {term!r}")
        term = " ".join(term.split())
        if not term or term.casefold() in seen:
            continue
        if len(term) > MAX_TERM_CHARS:
            raise InvalidTranscriptError(
                f"vocabulary term longer than {MAX_TERM_CHARS} characters: {term[:20]!r}..."
            )
        seen.add(term.casefold())
        out.append(term)
    if len(out) > MAX_TERMS:
        raise InvalidTranscriptError(f"vocabulary has {len(out)} terms; at most {MAX_TERMS}")
    return out


def read_vocabulary(value: object) -> list[str]:
    """The terms stored in a doc, whatever a client wrote there: never raises.

    Example:
        >>> read_vocabulary(["Aoife", 3, "Aoife"]), read_vocabulary("oops")
        (['Aoife'], [])
    """
    if not isinstance(value, list | tuple):
        return []
    terms = [t for t in value if isinstance(t, str) and len(t) <= MAX_TERM_CHARS]
    return clean_vocabulary(terms)[:MAX_TERMS] if len(terms) <= 4 * MAX_TERMS else []

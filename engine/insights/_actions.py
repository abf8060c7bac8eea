"""Action items from what people say: commitments, read from the grammar of each clause.

Each segment is cut into clauses (``_tokens.py``) and each clause read for the
constructions of a commitment (``_constructions.py``): a future, "ir a" / "going to",
an obligation, a request or an imperative to someone, volunteering, an agreed next step.
Around that, the meeting decides the rest:

- **owner**: the speaker for the first person; a named person; for a request to "you",
  the person named in it, or the one who answers it ("Sí, yo lo hago"), or the other
  person when only two speak; nobody for "we" and "hay que". A question with no owner
  ("¿Quién se encarga de…?") is an action once someone takes it in the next turns, owned
  by them; the answer itself is not another action, nor is "Vale, lo hago" after a
  request to its speaker.
- **text**: the clause, not the whole run-on segment; **due**: from the clause and the
  rest of its sentence (``_dates.py``); **source_span**: the seconds it was said.
- **conf**: by how explicit the form is (a named request or "I'll…" above "we'll…", the
  present for the future only with a time), less for hedges; under 0.65 is dropped.

Example:
    >>> from datetime import date
    >>> [(a.owner, a.due) for a in extract_actions(
    ...     [{"segment_id": "s1", "speaker": "Carmen", "text": "Marta enviará el presupuesto antes del martes."},
    ...      {"segment_id": "s2", "speaker": "Jorge", "text": "¿Quién se encarga de llamar al proveedor?"},
    ...      {"segment_id": "s3", "speaker": "Ana", "text": "Yo."}],
    ...     language="es", today=date(2025, 6, 16))]
    [('Marta', '2025-06-17'), ('Ana', None)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from ._constructions import Commitment, commitment
from ._dates import resolve_due
from ._span import span_seconds
from ._text import fold
from ._tokens import Token, clauses

MIN_CONF = 0.65
_HEDGES = ("creo que", "supongo", "igual ", "probablemente", "intentare", "intentaremos",
           "i think", "i guess", "probably", "try to", "i'll try", "hopefully")  # fmt: skip
_TIME_WORDS = ("ahorita", "luego", "en un rato", "al rato", "esta tarde", "despues",
               "later", "this afternoon", "right after", "tonight", "esta noche")  # fmt: skip
_YES = {"si", "sí", "vale", "claro", "ok", "okay", "sure", "yes", "yeah", "yep", "dale",
        "listo", "perfecto", "of", "no", "bueno", "va", "fine", "absolutely", "will", "on",
        "de", "hecho", "consider", "done", "cool"}  # fmt: skip
_TAKERS = ("i'll", "i will", "i can", "i could", "dejamelo", "lo hago", "yo me", "yo lo",
           "yo la", "yo puedo", "me encargo", "me ocupo", "i'm on", "leave it", "happy to",
           "me apunto", "yo te", "yo le", "i've got", "i got")  # fmt: skip
_ALONE = {"yo", "me", "mine", "i", "yo.", "me."}  # "¿Quién…?" — "Yo."
_PRONOUN_TASKS = {"lo", "la", "it", "that", "this", "eso", "esto", "los", "las", "le", "them"}
REPLY_TURNS = 3  # how far an owner's answer may come after the question


@dataclass(frozen=True)
class ActionItem:
    """An action found in one segment."""

    segment_id: str
    owner: str | None
    text: str
    due: str | None
    conf: float
    # Seconds of the recording in which the clause was said (None: the segment has no
    # times), the seed's ``{"from": s, "to": s}``.
    source_span: tuple[float, float] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "owner": self.owner,
            "text": self.text,
            "due": self.due,
            "conf": round(self.conf, 2),
            "source_span": None
            if self.source_span is None
            else {"from": self.source_span[0], "to": self.source_span[1]},
        }


@dataclass(frozen=True)
class _Found:
    index: int  # of the segment
    commitment: Commitment
    clause: list[Token]
    item: ActionItem


def extract_actions(
    segments: Iterable[Mapping[str, Any]], *, language: str | None, today: date
) -> list[ActionItem]:
    """The actions in ``segments`` (dicts with segment_id, speaker, text; t0, t1 and words
    for the time), at most one per segment, in order."""
    segments = list(segments)
    speakers = {str(s.get("speaker")) for s in segments if s.get("speaker")}
    found: dict[int, _Found] = {}
    taken: set[int] = set()  # answers that gave an earlier action its owner
    for i, segment in enumerate(segments):
        best = _best(segment, i, speakers, language, today)
        if best is None:
            continue
        kind = best.commitment.kind
        if kind in ("who", "addressed"):
            best, answer = _owner_from_reply(best, segments, i, speakers)
            if answer is not None:
                taken.add(answer)
            if best is None:
                continue
        found[i] = best
    for i in sorted(found):
        if i in taken or _acknowledges(found, i, segments):
            del found[i]
    return [f.item for _, f in sorted(found.items()) if f.item.conf >= MIN_CONF]


def _best(
    segment: Mapping[str, Any], index: int, speakers: set[str], language: str | None,
    today: date,
) -> _Found | None:  # fmt: skip
    text = str(segment.get("text") or "")
    speaker = str(segment.get("speaker") or "") or None
    best: _Found | None = None
    for clause in clauses(text):
        found = commitment(
            clause,
            speakers=speakers - {speaker} if speaker else speakers,
            language=_language(segment, language),
        )
        if found is None:
            continue
        start = clause[min(found.at, len(clause) - 1)].start
        rest = text[start:]
        end = clause[-1].end
        due = resolve_due(text[clause[0].start : end], language, today)
        if due is None:
            due = resolve_due(rest[: _sentence_end(rest)], language, today)
        if due is None and found.kind in ("who", "addressed", "named"):
            due = resolve_due(rest, language, today)  # "Who's…? It has to be done by Friday."
        if due is None:
            due = resolve_due(text[:start], language, today)  # a first task's date
        folded = fold(text[start:end])
        if found.explicit_time and due is None and not any(w in folded for w in _TIME_WORDS):
            continue
        conf = found.conf
        if any(h in fold(text) for h in _HEDGES):
            conf -= 0.1
        if due is not None:
            conf += 0.05
        owner = speaker if found.kind == "self" else found.name
        item = ActionItem(
            segment_id=str(segment.get("segment_id")),
            owner=owner,
            text=_clean(text[start:end]),
            due=due.isoformat() if due else None,
            conf=min(conf, 0.99),
            source_span=span_seconds(segment, start, end),
        )
        if found.kind == "named" and item.owner is None:
            item = replace(item, owner=_last_named(text[:start], speakers, speaker))
        candidate = _Found(index, found, clause, item)
        # The first task of a segment is its action (the rest often hangs on it: "…and
        # I'll review it"), unless it is too unsure to keep.
        if best is None or best.item.conf < MIN_CONF <= item.conf:
            best = candidate
    return best


def _last_named(before: str, speakers: set[str], speaker: str | None) -> str | None:
    """ "I spoke to Hannah this morning and she'll call…": the person named last."""
    named = [
        t.text for c in clauses(before) for t in c
        if t.is_word and t.text[0].isupper() and t.folded not in ("i", "yo") and t.text != speaker
    ]  # fmt: skip
    return named[-1] if named else None


def _language(segment: Mapping[str, Any], language: str | None) -> str | None:
    lang = segment.get("lang") or (segment.get("meta") or {}).get("lang") or language
    return str(lang)[:2].lower() if lang else None


def _sentence_end(rest: str) -> int:
    for mark in (". ", "? ", "! "):
        at = rest.find(mark)
        if at >= 0:
            return at + 1
    return len(rest)


def _owner_from_reply(
    found: _Found, segments: list[Mapping[str, Any]], i: int, speakers: set[str]
) -> tuple[_Found | None, int | None]:
    """Who takes an open question or a request to "you": the next turns' answer."""
    asker = segments[i].get("speaker")
    for j in range(i + 1, min(i + 1 + REPLY_TURNS, len(segments))):
        reply = segments[j]
        who = reply.get("speaker")
        if not who or who == asker:
            continue
        words = fold(str(reply.get("text") or "")).replace("¿", " ").replace(",", " ").split()
        if not words:
            continue
        head = " ".join(words[:6])
        if words[0].strip(".!") in ("no", "nope") and "yo" not in words[:3]:
            break
        if len(words) <= 12 and (
            any(head.startswith(t) or f" {t} " in f" {head} " for t in _TAKERS)
            or (len(words) <= 3 and words[0].strip(".!") in _ALONE)
            or (len(words) <= 6 and words[-1].strip(".!") in ("yo", "me"))  # "Me lo quedo yo."
            or (words[0].strip(".!") in _YES and found.commitment.kind == "addressed")
        ):
            return _with_owner(found, str(who)), j
        break  # the next person spoke of something else
    if found.commitment.kind == "who":
        return None, None  # nobody took it
    others = speakers - {str(asker)}
    if len(others) == 1:
        return _with_owner(found, next(iter(others))), None
    return _with_owner(found, None), None


def _with_owner(found: _Found, owner: str | None) -> _Found:
    return replace(found, item=replace(found.item, owner=owner))


def _acknowledges(found: dict[int, _Found], i: int, segments: list[Mapping[str, Any]]) -> bool:
    """ "Vale, lo hago" after "Jorge, llama al arquitecto": the same action again."""
    this = found[i]
    if this.commitment.kind != "self":
        return False
    words = [t.folded for t in this.clause if t.is_word]
    after = words[this.commitment.at :]
    if len(after) > 6 or (not (_PRONOUN_TASKS & set(after)) and len(after) > 3):
        return False
    speaker = segments[i].get("speaker")
    for j in range(max(0, i - REPLY_TURNS), i):
        earlier = found.get(j)
        if earlier is not None and earlier.item.owner == speaker and j != i:
            return True
    return False


def _clean(text: str) -> str:
    text = text.strip().lstrip("¿¡,").rstrip("?!.…, ").strip()
    return text[:1].upper() + text[1:] if text else text

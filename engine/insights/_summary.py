"""An extractive summary: the meeting's own sentences, chosen and ordered.

Bullets are the five sentences that carry the most: decisions ("acordamos", "we agreed",
"aprobado"), figures and dates, and the words the meeting keeps coming back to; greetings,
questions and small talk are never chosen, nor two sentences that say the same thing.
Risks and dependencies are the sentences that name one ("riesgo", "depende de",
"retraso", "risk", "blocked by"). Topics are the content words and pairs of words said
most often. Everything stays in the transcript's language because it is its own text.

Example:
    >>> segs = [
    ...     {"speaker": "Ana", "text": "Acordamos lanzar la campaña de verano el 3 de junio."},
    ...     {"speaker": "Luis", "text": "Hay riesgo de que la imprenta se retrase con los carteles."},
    ...     {"speaker": "Ana", "text": "Hola a todos."},
    ... ]
    >>> result = summarize(segs, language="es")
    >>> result.bullets
    ['Acordamos lanzar la campaña de verano el 3 de junio.']
    >>> result.risks
    ['Hay riesgo de que la imprenta se retrase con los carteles.']
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._text import fold, sentences, words

MAX_BULLETS = 5
MIN_ASR_CONF = 0.6  # segments the ASR heard with less confidence are not quoted
MAX_RISKS = 3
MAX_TOPICS = 5

_DECISION = re.compile(
    r"\b(decidimos|decidido|acordamos|acordado|aprobad[oa]s?|se aprueba|queda(mos)? en|"
    r"elegimos|confirmad[oa]|cerramos|cerrado|vamos con|nos quedamos con|we decided|"
    r"decided|agreed|agree on|approved|signed off|confirmed|we'?ll go with|going with|"
    r"chose|settled on|final answer|decision)\b"
)
_FACT = re.compile(
    r"\d|\b(mill[oó]n|mil|por ciento|euros?|d[oó]lares|percent|thousand|million|hundred|"
    r"budget|presupuesto|deadline|plazo|fecha|date|launch|lanzamiento)\b"
)
_RISK = re.compile(
    r"\b(riesgos?|peligro|depende(mos)? de|dependencia|retras\w*|bloque\w*|preocupa\w*|"
    r"problema|incidencia|sin confirmar|falta(n)? (la|el|los|las)|no llega|puede que no|"
    r"risks?|depends on|dependent on|dependency|dependencies|delay\w*|slip\w*|blocked|"
    r"blocker|concern\w*|worried|issue|unless|waiting on|waiting for|not yet confirmed|"
    r"might not|may not|ojo|sin eso|sin esto|si no|todavia no|aun no|no podemos|no podremos|"
    r"can't|cannot|without|only if|worry|fail\w*|at risk|hinges on|contingent on|"
    r"bottleneck|behind schedule)\b"
)
_SMALL_TALK = re.compile(
    r"^(hola|buenos dias|buenas|gracias|vale|perfecto|genial|de acuerdo|ok|okay|bien|si|"
    r"hi|hello|morning|good morning|thanks|thank you|great|sounds good|will do|sure|"
    r"perfect|right|yes|yeah|bye|adios|hasta luego|see you|nos vemos)\b"
)
_OPENERS = re.compile(
    r"^(?:(?:si|vale|bueno|pues|ok|okay|yeah|yes|right|well|so|and|y|pero|but|claro|mira|"
    r"oye|entonces|perfecto|genial|great|sure|otra cosa|one more thing)\b[,:.]?\s*)+"
)
# Words that say nothing of a meeting's subject, folded.
_STOP = set(
    """
    a al algo algun alguna algunas alguno algunos ante antes aqui asi aun bien cada casi
    como con contra cual cuales cuando de del desde donde dos el ella ellas ellos en
    entre era eramos eran es esa esas ese eso esos esta estaba estamos estan estar este
    esto estos fue fueron ha habia han hasta hay hoy la las le les lo los mas me mi mis
    mucho muy nada ni no nos nosotros o os otra otro para pero poco por porque que quien
    se sea ser si sin sobre solo son su sus tambien te tenemos tener tiene todo todos tu
    un una uno unos vamos ya yo voy va puede puedes creo vale bueno pues entonces manana
    semana viernes lunes martes miercoles jueves sabado domingo gracias hola favor hacer
    hace the and for that this with from have has had was were are is be been being will
    would could should can about into over than then them they their there these those
    what when where which while who whom why how all any both each few more most other
    some such only own same very just also our ours you your yours its it's i'll we'll
    let's we i me my he she him her his hers not no yes okay ok so well now get got
    going gonna need think really thing things lot next week today tomorrow friday
    monday tuesday wednesday thursday thanks please quick sync morning meeting reunion
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


@dataclass(frozen=True)
class SummaryResult:
    bullets: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"bullets": self.bullets, "risks": self.risks, "topics": self.topics}


def summarize(segments: Iterable[Mapping[str, Any]], *, language: str | None) -> SummaryResult:
    """Bullets, risks and topics of ``segments`` (dicts with at least ``text``; ``conf``,
    the ASR's confidence, when known)."""
    said: list[str] = []
    confs: list[float] = []
    for segment in segments:
        conf = _conf(segment)
        for sentence in sentences(str(segment.get("text") or "")):
            said.append(sentence)
            confs.append(conf)
    content = [[w for w in words(s) if _is_content(w)] for s in said]
    frequency = Counter(w for ws in content for w in set(ws))
    # What the ASR was unsure of is often what it got wrong: never quoted.
    heard = [conf >= MIN_ASR_CONF for conf in confs]
    risks = _dedupe(
        [s for s, ok in zip(said, heard, strict=True) if ok and _RISK.search(fold(s)) and _worth(s)]
    )[:MAX_RISKS]
    scored: list[tuple[float, int, str]] = []
    for i, (sentence, ws) in enumerate(zip(said, content, strict=True)):
        if not heard[i] or not _worth(sentence) or sentence in risks:
            continue
        folded = fold(sentence)
        score = sum(frequency[w] - 1 for w in ws) / (len(ws) + 2)  # recurring words
        score += 3.0 if _DECISION.search(folded) else 0.0
        score += 1.0 if _FACT.search(folded) else 0.0
        scored.append((score * confs[i], i, sentence))
    chosen: list[tuple[int, str]] = []
    for _score, i, sentence in sorted(scored, key=lambda t: (-t[0], t[1])):
        if len(chosen) == MAX_BULLETS:
            break
        if all(_overlap(sentence, other) < 0.6 for _, other in chosen):
            chosen.append((i, sentence))
    return SummaryResult(
        bullets=[s for _, s in sorted(chosen)],
        risks=risks,
        topics=_topics(content),
    )


def _conf(segment: Mapping[str, Any]) -> float:
    conf = segment.get("conf")
    if isinstance(conf, int | float) and not isinstance(conf, bool) and 0.0 <= conf <= 1.0:
        return float(conf)
    return 1.0  # a person's text, or unknown


def _is_content(word: str) -> bool:
    return len(word) >= 4 and word not in _STOP and "'" not in word


def _worth(sentence: str) -> bool:
    """Five words or more, no question, and not small talk once the "Sí," or "Okay, and"
    it opens with is left aside."""
    folded = _OPENERS.sub("", fold(sentence).strip("¿¡ "))
    return (
        len(words(folded)) >= 5
        and not sentence.rstrip().endswith("?")
        and not _SMALL_TALK.match(folded)
    )


def _overlap(a: str, b: str) -> float:
    wa, wb = set(words(a)), set(words(b))
    return len(wa & wb) / max(1, min(len(wa), len(wb)))


def _dedupe(items: list[str]) -> list[str]:
    kept: list[str] = []
    for item in items:
        if all(_overlap(item, other) < 0.6 for other in kept):
            kept.append(item)
    return kept


def _topics(content: list[list[str]]) -> list[str]:
    """Pairs of content words said together at least twice, then single words."""
    pairs = Counter(f"{a} {b}" for ws in content for a, b in itertools.pairwise(ws) if a != b)
    singles = Counter(w for ws in content for w in ws)
    topics = [pair for pair, n in pairs.most_common() if n >= 2][:MAX_TOPICS]
    for word, n in singles.most_common():
        if len(topics) == MAX_TOPICS or n < 2:
            break
        if not any(word in topic.split() for topic in topics):
            topics.append(word)
    return topics

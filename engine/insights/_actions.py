"""Action items from what people say: explicit commitments and assignments only.

A sentence is an action when it has one of the *forms* of a commitment, in Spanish or
English, and nothing that takes it back:

- an assignment to a named person: "Jorge, llama al arquitecto", "Ana, ¿puedes
  revisar…?", "Lee is going to review…", "Marta va a preparar…", "Ana, please write…";
- a first-person commitment: "Yo prepararé…", "Me encargo de…", "Voy a enviar…",
  "I'll ping…", "I will send…" (owner: the speaker), or a plural one: "Programaremos…",
  "We'll schedule…" (owner: nobody in particular);
- a marker: "Action item: …", "Acción: …", "Queda pendiente que…".

What takes it back: a question with no one asked ("¿Quién puede…?"), a hypothetical or
a wish ("si…", "sería bueno", "algún día", "ojalá", "someday", "would"), a statement of
risk ("hay riesgo", "depends on"), the past ("ya", "ayer", "last week") and a negation
("no voy a", "I won't"). Confidence starts from the form (a named assignment is the
surest) and loses for hedges; nothing under 0.65 is kept.

Example:
    >>> from datetime import date
    >>> [a.owner for a in extract_actions(
    ...     [{"segment_id": "s1", "speaker": "Carmen", "text": "Jorge, llama al arquitecto mañana."},
    ...      {"segment_id": "s2", "speaker": "Jorge", "text": "Vale, lo hago."}],
    ...     language="es", today=date(2025, 6, 16))]
    ['Jorge']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ._dates import resolve_due
from ._text import fold, sentences

MIN_CONF = 0.65

# Task verbs (folded), as infinitive / imperative / 1st-person future stems.
_ES_TASKS = (
    "envi|mand|prepar|program|revis|llam|actualiz|organiz|redact|reserv|confirm|escrib|"
    "contact|habl|comprob|agend|cerr|coordin|hac|busc|pas|sub|compart|gestion|verific|"
    "avis|convoc|pregunt|solicit|pid|ped|termin|acab|resolv|arregl|instal|configur|"
    "present|entreg|factur|pag|firm|negoci|diseñ|disen|document|prob|migr|limpi|"
    "ocup|encarg|mir|traduc|corrig|correg|valid|aprob|plante|estudi|analiz|calcul|"
    "report|notific|recog|llev|compr|cotiz|publi|lanz|planific|"
)
_EN_TASKS = (
    "send|prepare|schedule|review|update|email|e-mail|set up|setup|write|call|book|ping|"
    "draft|fix|check|follow up|reach out|contact|share|upload|organi[sz]e|confirm|"
    "finish|finali[sz]e|create|build|deploy|test|draft|document|investigate|look into|"
    "take care|handle|talk to|ask|invite|order|buy|pay|sign|submit|file|clean up|merge|"
    "release|ship|migrate|install|configure|run|present|summari[sz]e|circulate|"
    "coordinate|arrange|plan|post|publish|translate|validate|analy[sz]e|calculate|"
    "report|notify|collect|pick up|get|put together|compile|record|escalate|renew|"
    "update|add|remove|move|reply|respond|remind|double-check|verify|audit|"
)
_ES_TASK = re.compile(r"\b(?:" + _ES_TASKS.rstrip("|") + r")\w*")
_EN_TASK = re.compile(r"\b(?:" + _EN_TASKS.rstrip("|") + r")\b")

# Names are capitalised words that are not sentence openers.
_NOT_NAMES = {
    "vale", "bueno", "bien", "pues", "entonces", "perfecto", "vamos", "ok", "okay", "si",
    "sí", "no", "gracias", "hola", "oye", "mira", "claro", "genial", "venga", "so", "well",
    "yes", "yeah", "right", "great", "thanks", "hi", "hello", "alright", "sure", "now",
    "then", "also", "and", "but", "please", "team", "everyone", "todos", "equipo", "chicos",
    "guys", "folks", "action", "acción", "accion", "tarea", "item", "nota", "note", "i", "yo",
    "we", "nosotros", "let's", "lets", "hey", "the", "this", "that", "it", "he", "she",
    "they", "you", "someone", "somebody", "everybody", "nobody", "el", "la", "los", "las",
    "esto", "eso", "alguien", "ellos", "ella", "él", "usted", "ustedes", "nadie", "there",
    "buenas", "buenos", "good", "morning", "welcome", "bienvenidos", "bienvenidas", "here", "who", "what", "quién", "quien", "qué", "que", "if", "when", "cuando",
}  # fmt: skip
# "Yes please, Destiny, pull them…": an interjection may come before the name.
_OPENER = r"^(?:(?:yes|ok|okay|so|right|vale|bueno|pues|entonces|venga)(?:,?\s+(?:please|por favor))?,?\s+)?"
_NAME = r"(?P<name>[A-ZÁÉÍÓÚÑ][\w'-]+(?: [A-ZÁÉÍÓÚÑ][\w'-]+)?)"

# Forms, tried in order: (regex on the original sentence, kind, confidence).
# kind: "named" (owner = the name), "self" (owner = the speaker), "we" (no owner),
# "marker" (owner = a name in the rest, if any).
_FORMS: list[tuple[re.Pattern[str], str, float]] = [
    # Markers.
    (re.compile(r"^(?:action item|action|to ?do|acci[oó]n|tarea|pendiente)\s*:\s*(?P<rest>.+)", re.I), "marker", 0.9),
    (re.compile(r"\b[Aa]ction on\s+" + _NAME + r"\s+to\s+(?P<rest>.+)"), "named!", 0.85),
    (re.compile(r"\b[Qq]ueda pendiente que\s+" + _NAME + r"\s+(?P<rest>.+)"), "named!", 0.85),
    # Requests and imperatives to a named person, at the start of the sentence.
    (re.compile(r"^" + _NAME + r",\s*¿?\s*(?:por favor,?\s*)?(?:puedes|podr[ií]as|puede|podr[ií]a|te encargas de|te ocupas de|me haces el favor de)\s+(?P<rest>.+)", re.I), "named!", 0.85),
    (re.compile(r"^¿\s*(?P<rest>(?:me|nos)\s+\w+s\b.*?),\s*" + _NAME + r"\s*\?"), "named!", 0.8),
    (re.compile(r"^" + _NAME + r",\s*(?:ahí\s+|ahi\s+)?te encargo\s+(?P<rest>.+)"), "named!", 0.85),
    (re.compile(r"^" + _NAME + r",\s*(?:please\s+)?(?:can|could|would|will) you\s+(?P<rest>.+)", re.I), "named!", 0.85),
    (re.compile(r"^" + _NAME + r",\s*(?:please|por favor),?\s+(?P<rest>.+)", re.I), "named!", 0.85),
    (re.compile(r"^" + _NAME + r",\s*(?P<rest>(?:encárgate|encargate|ocúpate|ocupate)\b.+)", re.I), "named!", 0.85),
    (re.compile(_OPENER + _NAME + r",\s*(?P<rest>\w+(?:le|lo|la|les|los|las|me|nos)?\b.*)"), "named-imperative", 0.8),
    # Someone named will do it.
    (re.compile(_NAME + r"\s+(?:va a|se va a encargar de|se encarga de|se ocupa de|queda en)\s+(?P<rest>.+)"), "named", 0.8),
    (re.compile(_NAME + r"\s+(?:is going to|is gonna|'s going to|'s gonna|will|'ll|is taking|takes care of|is on)\s+(?P<rest>.+)"), "named", 0.8),
    # The speaker will do it.
    (re.compile(r"\b(?:yo\s+)?(?:me encargo de|me ocupo de|me encargar[eé] de|me ocupar[eé] de|me comprometo a|quedo en)\s+(?P<rest>.+)", re.I), "self!", 0.85),
    (re.compile(r"\b(?:yo\s+)?voy a\s+(?P<rest>.+)", re.I), "self", 0.75),
    # "Yo reservo… mañana": the present for the future, only with a time for it.
    (re.compile(r"\b[Yy]o\s+(?:(?:lo|la|los|las|le|les|me|te|se)\s+)?(?P<rest>\w+o\b.*)"), "self@!", 0.75),
    (re.compile(r"\byo\s+(?P<rest>\w+r[eé]\b.*)", re.I), "self", 0.8),
    (re.compile(r"^(?P<rest>(?:" + _ES_TASKS.rstrip("|") + r")\w*r[eé]\b.*)", re.I), "self", 0.75),
    (re.compile(r"\b(?P<rest>\w+(?:ar|er|ir)é\b.*)"), "self", 0.75),
    (re.compile(r"\bI(?:'ll| will| am going to|'m going to| am gonna|'m gonna| can take| will take| take)\s+(?P<rest>.+)"), "self!", 0.8),
    (re.compile(r"\b(?:let me|leave it (?:to|with) me|i'?m on it)\b\s*(?P<rest>.*)", re.I), "self!", 0.7),
    # We will do it (no owner).
    (re.compile(r"\b(?:vamos a|tenemos que|hay que)\s+(?P<rest>.+)", re.I), "we", 0.7),
    (re.compile(r"^(?P<rest>\w+remos\b.*)", re.I), "we", 0.75),
    (re.compile(r"\b(?:nosotros\s+)?(?P<rest>\w+remos\b.*)", re.I), "we", 0.7),
    (re.compile(r"\b(?:we'll|we will|we are going to|we're going to)\s+(?P<rest>.+)", re.I), "we", 0.7),
    (re.compile(r"\b(?:we'll|we will|we are going to|we're going to)\s+(?P<rest>.+)", re.I), "we@!", 0.7),
]  # fmt: skip

# What takes a form back (folded text).
_QUESTION_WORDS = re.compile(
    r"^(¿\s*)?(quien|quienes|que|cuando|donde|como|cual|por que|who|what|when|where|how|"
    r"which|why|should|could we|can we|do we|does|is there|are there|any)\b"
)
_HYPOTHETICAL = re.compile(
    r"(^|\W)(si\s|if\s|ojala|seria (bueno|genial|ideal|mejor)|estaria bien|algun dia|"
    r"quizas?|tal vez|a lo mejor|convendria|deberiamos|podriamos|habria que|me gustaria|"
    r"nos gustaria|in theory|someday|some day|one day|maybe|perhaps|would be (nice|good|great)|"
    r"it would|we would|i would|we could|could we|we should|should really|might|wish|"
    r"in an ideal world|eventually|at some point|en algun momento)"
)
_RISK = re.compile(
    r"\b(riesgo|riesgos|peligro|depende de|dependemos|dependencia|puede que|podria retrasar|"
    r"se puede retrasar|bloquead|bloqueo|risk|risks|depends on|dependent on|dependency|"
    r"blocked|blocker|might slip|could slip|concern|worried|preocupa)\w*"
)
_PAST = re.compile(
    r"\b(ya\s+\w+|ayer|anteayer|la semana pasada|el (lunes|martes|miercoles|jueves|viernes) "
    r"pasado|pasado|hace (un|una|dos|tres|\d+)|hemos|he\s+\w+do|ha\s+\w+do|han\s+\w+do|"
    r"yesterday|last (week|month|monday|tuesday|wednesday|thursday|friday)|already|ago|"
    r"we did|i did|was|were|had)\b"
)
_PAST_VERB_EN = re.compile(r"\b(?:sent|wrote|called|booked|fixed|did|made|finished|shipped)\b")
_NEGATION = re.compile(
    r"\b(no voy a|no vamos a|no va a|no pienso|no hace falta|no hay que|nunca|won't|wont|"
    r"will not|not going to|don't|do not|never|no need|can't|cannot)\b"
)
_HEDGE = re.compile(
    r"\b(creo que|supongo|igual|probablemente|intentare|intentaremos|i think|i guess|"
    r"probably|try to|i'll try|hopefully)\b"
)
_NOT_TASK_EN = re.compile(
    r"^(call (this|the) (session|meeting)|be|have|think|see|guess|need|miss|say|mention|admit|remember|keep that in mind|"
    r"let you know|get back|leave|stay|wait|sit|join|start with|go with|take a look at the "
    r"agenda)\b"
)
_OBJECT_STARTS = {
    "el", "la", "los", "las", "un", "una", "unos", "unas", "al", "hoy", "manana", "esta",
    "este", "the", "an", "them", "it", "this", "that", "these", "those", "our", "your",
    "some", "all", "today", "tomorrow", "tonight",
}  # fmt: skip
_NOT_VERBS = {
    "is", "are", "was", "were", "did", "does", "have", "has", "had", "can", "could", "would",
    "will", "should", "shall", "may", "might", "must", "thanks", "thank", "great", "nice",
    "good", "welcome", "also", "what", "where", "when", "how", "why", "who", "gracias",
    "para", "sobre", "con", "por", "que", "como", "donde", "cuando", "esa", "ese", "eso",
    "esta", "este", "esto", "todo", "toda", "bien", "muy", "sin", "and", "but", "not",
    "about", "with", "from", "for", "just", "only", "still", "even", "hay", "tiene",
    "tienes", "eres", "estas", "fue", "era",
}  # fmt: skip
_IMMEDIATE = re.compile(r"\b(ahorita|ahora mismo|ya mismo|enseguida|right away|asap|right now)\b")
_NOT_REQUEST = re.compile(
    r"^(hear|repeat|speak up|oir|oirme|escuchar|repetir|hablar mas alto|explain again|"
    r"believe|imagine|creer|imaginar)\b"
)
_NOT_TASK_ES = re.compile(
    r"^(ver|ser|estar|tener|pensar|decir|empezar por|quedar|esperar|seguir|intentar|dejar|"
    r"comenzar|repasar la agenda|continuar|queremos|quisieramos|podremos|veremos|estaremos|"
    r"seremos|sabremos)\b"
)


@dataclass(frozen=True)
class ActionItem:
    """An action found in one segment."""

    segment_id: str
    owner: str | None
    text: str
    due: str | None
    conf: float
    source_span: tuple[int, int]  # character offsets of the sentence in the segment

    def as_json(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "owner": self.owner,
            "text": self.text,
            "due": self.due,
            "conf": round(self.conf, 2),
            "source_span": list(self.source_span),
        }


def extract_actions(
    segments: Iterable[Mapping[str, Any]], *, language: str | None, today: date
) -> list[ActionItem]:
    """The actions in ``segments`` (dicts with segment_id, speaker, text), at most one per
    segment, in order."""
    found: list[ActionItem] = []
    segments = list(segments)
    speakers = {str(s.get("speaker")) for s in segments if s.get("speaker")}
    for segment in segments:
        text = str(segment.get("text") or "")
        best: ActionItem | None = None
        offset = 0
        for sentence in sentences(text):
            start = text.find(sentence, offset)
            offset = max(offset, start + len(sentence))
            item = _classify(sentence, segment, speakers, language, today, start)
            if item is not None and (best is None or item.conf > best.conf):
                best = item
        if best is not None:
            found.append(best)
    return found


def _classify(
    said: str,
    segment: Mapping[str, Any],
    speakers: set[str],
    language: str | None,
    today: date,
    start: int,
) -> ActionItem | None:
    sentence = said.replace("\u2019", "'")  # typographic apostrophes
    folded = fold(sentence)
    for form, kind, conf in _FORMS:
        match = form.search(sentence)
        if match is None:
            continue
        rest = match.group("rest").strip()
        name = match.groupdict().get("name")
        if name is not None and not _is_name(name, speakers):
            continue
        strong = "!" in kind or kind == "marker"  # the form alone says "a task"
        if kind == "named-imperative" and not _is_task(rest, imperative=True):
            continue
        if not strong and kind != "named-imperative" and not _is_task(rest):
            continue
        if strong and _not_a_task(rest):
            continue
        due = resolve_due(sentence, language, today)
        if "@" in kind and due is None and not _IMMEDIATE.search(folded):
            continue  # the present or a plain "we'll" commit only with a time
        if _taken_back(folded, asked=kind.startswith("named")):
            return None
        owner: str | None
        if kind.startswith("named"):
            owner = name
        elif kind.startswith("self"):
            owner = str(segment.get("speaker") or "") or None
        elif kind == "marker":
            owner = _named_in(rest, speakers)
        else:
            owner = None
        if _HEDGE.search(folded):
            conf -= 0.1
        if due is not None:
            conf += 0.05
        conf = min(conf, 0.99)
        if conf < MIN_CONF:
            return None
        return ActionItem(
            segment_id=str(segment["segment_id"]),
            owner=owner,
            text=_clean(rest if kind.startswith(("marker", "named")) else sentence),
            due=due.isoformat() if due else None,
            conf=conf,
            source_span=(start, start + len(sentence)),
        )
    return None


def _is_name(name: str, speakers: set[str]) -> bool:
    first = name.split()[0]
    if fold(first) in _NOT_NAMES:
        return False
    return name in speakers or first in speakers or first[0].isupper()


def _named_in(text: str, speakers: set[str]) -> str | None:
    for speaker in sorted(speakers, key=len, reverse=True):
        if re.search(r"\b" + re.escape(speaker) + r"\b", text):
            return speaker
    return None


def _is_task(rest: str, *, imperative: bool = False) -> bool:
    folded = fold(rest)
    if imperative:
        # "Jorge, llama al…", "Owen, restock the packs": a task verb, or a word in the
        # verb's place followed by what an imperative's object starts with.
        tokens = folded.split()
        first = tokens[0] if tokens else ""
        if _ES_TASK.match(first) or _EN_TASK.match(folded):
            return True
        return (
            len(tokens) > 1
            and tokens[1] in _OBJECT_STARTS
            and first.isalpha()
            and len(first) >= 3
            and first not in _NOT_VERBS
            and not first.endswith(("mos", "ing", "ed"))  # we…, -ing, -ed: not an imperative
        )
    if _NOT_TASK_EN.match(folded) or _NOT_TASK_ES.match(folded):
        return False
    return bool(_ES_TASK.search(folded) or _EN_TASK.search(folded))


def _not_a_task(rest: str) -> bool:
    folded = fold(rest)
    return bool(
        _NOT_TASK_EN.match(folded) or _NOT_TASK_ES.match(folded) or _NOT_REQUEST.match(folded)
    )


def _taken_back(folded: str, *, asked: bool) -> bool:
    stripped = folded.strip()
    if stripped.endswith("?") and not asked:
        return True  # a question with no one asked
    if _QUESTION_WORDS.match(stripped) and not asked:
        return True
    if _NEGATION.search(folded) or _RISK.search(folded):
        return True
    if _HYPOTHETICAL.search(folded):
        return True
    return bool(_PAST.search(folded) or _PAST_VERB_EN.search(folded))


def _clean(text: str) -> str:
    text = text.strip().lstrip("¿¡").rstrip("?!.… ").strip()
    return text[:1].upper() + text[1:] if text else text

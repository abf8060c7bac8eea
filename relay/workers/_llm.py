"""Action items, a summary and a CRM note from an LLM behind an OpenAI-compatible API.

llama.cpp's server, vLLM and Ollama all serve ``POST {base_url}/chat/completions``, so
one small synchronous client covers them (the workers call it from a thread). The
transcript goes as lines ``[segment_id] Speaker: text``, in chunks of at most
``max_chunk_tokens`` tokens, estimated as a quarter of the characters (no tokenizer to
install, nor to keep in step with the server's). Each chunk repeats the last ~10% of the
lines of the one before, so that a request and its answer ("Ana, can you...?" / "Sure,
tomorrow") are seen together at least once.

A model is not trusted: a reply is JSON checked field by field, and anything wrong with
it (not JSON, a missing or extra field, a wrong type, a date that is not ``YYYY-MM-DD``),
or with getting it (an HTTP error, a timeout, no server), makes the whole call fall back
to the heuristics of :mod:`engine.insights`. Why is kept in
``backend.last_fallback_reason`` and logged as a warning on ``minuta.workers``.

Example (the chunking alone; each line here is 10 tokens):
    >>> lines = render_lines(
    ...     [{"segment_id": f"s{i}", "speaker": "Ana", "text": "x" * 30} for i in range(6)])
    >>> lines[0]
    '[s0] Ana: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
    >>> [[line[:4] for line in chunk] for chunk in chunk_lines(lines, 30, 0.10)]
    [['[s0]', '[s1]', '[s2]'], ['[s2]', '[s3]', '[s4]'], ['[s4]', '[s5]']]
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from engine.insights import (
    MIN_CONF,
    ActionItem,
    SummaryResult,
    extract_actions,
    span_seconds,
    summarize,
)

from ._prompts import CRM_NOTE, EXTRACT_ACTIONS, MERGE_SUMMARIES, SUMMARIZE

log = logging.getLogger("minuta.workers")
MAX_BULLETS = 5

_LANGUAGES = {"es": "Spanish", "en": "English"}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ACTION_FIELDS = frozenset({"segment_id", "owner", "text", "due", "conf"})
_SUMMARY_FIELDS = frozenset({"bullets", "risks", "topics"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FENCE = re.compile(r"\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class LlmConfig:
    """Where the model is and how to feed it.

    ``base_url`` includes the API prefix, e.g. ``http://127.0.0.1:8080/v1`` (llama.cpp,
    vLLM) or ``http://127.0.0.1:11434/v1`` (Ollama). ``timeout_s`` bounds each network
    operation (connecting, each read). ``max_chunk_tokens`` counts the transcript only,
    not the prompt: leave room for both in the model's context.
    """

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 30.0
    max_chunk_tokens: int = 2500
    overlap: float = 0.10

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.max_chunk_tokens <= 0 or not 0 <= self.overlap < 1:
            raise ValueError(f"invalid LLM configuration: {self}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LlmConfig | None:
        """The configuration in ``MINUTA_LLM_URL``, ``MINUTA_LLM_MODEL`` and
        ``MINUTA_LLM_API_KEY``, or None without a URL (no LLM: heuristics only).

        >>> LlmConfig.from_env({"MINUTA_LLM_URL": "http://h:8080/v1", "MINUTA_LLM_MODEL": "q"})
        LlmConfig(base_url='http://h:8080/v1', model='q', api_key=None, timeout_s=30.0, max_chunk_tokens=2500, overlap=0.1)
        >>> LlmConfig.from_env({}) is None
        True
        """
        env = os.environ if environ is None else environ
        url = env.get("MINUTA_LLM_URL", "").strip()
        if not url:
            return None
        # llama.cpp serves its one model whatever the name; Ollama and vLLM need the name.
        model = env.get("MINUTA_LLM_MODEL", "").strip() or "default"
        return cls(base_url=url, model=model, api_key=env.get("MINUTA_LLM_API_KEY") or None)


def estimate_tokens(text: str) -> int:
    """About four characters a token, in English as in Spanish; cheap and tokenizer-free."""
    return math.ceil(len(text) / 4)


def render_lines(segments: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line ``[segment_id] Speaker: text`` a segment (empty ones left out)."""
    lines = []
    for segment in segments:
        text = " ".join(str(segment.get("text") or "").split())  # one segment, one line
        if text:
            speaker = str(segment.get("speaker") or "") or "Unknown"
            lines.append(f"[{segment['segment_id']}] {speaker}: {text}")
    return lines


def chunk_lines(lines: Sequence[str], max_tokens: int, overlap: float) -> list[list[str]]:
    """Windows of ``lines`` of at most ``max_tokens`` (a line longer than that goes alone),
    each starting with the last ``ceil(overlap * n)`` of the ``n`` lines of the one before;
    every window has at least one line the one before did not."""
    costs = [estimate_tokens(line) for line in lines]
    chunks: list[list[str]] = []
    start = fresh = 0  # the window's first line; its first line not sent before
    while fresh < len(lines):
        # Repeated lines give way to the first new one, so that a window stays in budget.
        while start < fresh and sum(costs[start : fresh + 1]) > max_tokens:
            start += 1
        end, used = fresh + 1, sum(costs[start : fresh + 1])
        while end < len(lines) and used + costs[end] <= max_tokens:
            used += costs[end]
            end += 1
        chunks.append(list(lines[start:end]))
        repeat = min(math.ceil(overlap * (end - start)), end - start - 1)
        start, fresh = end - repeat, end
    return chunks


class LlmBackend:
    """The LLM's action items, summary and CRM note, or the heuristics' when it fails.

    Not for concurrent use: ``last_fallback_reason`` is about the latest call (None
    when it used the model). Close it (or use it in a ``with``) to free its connections.
    """

    def __init__(self, config: LlmConfig) -> None:
        self.config = config
        self.name = f"llm:{config.model}"
        self.last_fallback_reason: str | None = None
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._http = httpx.Client(timeout=config.timeout_s, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LlmBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def actions(
        self, segments: Iterable[Mapping[str, Any]], *, language: str | None, today: date
    ) -> list[ActionItem]:
        """The action items, at most one a segment, in the transcript's order."""
        segments = list(segments)
        self.last_fallback_reason = None
        try:
            return self._actions(segments, language, today)
        except _Failure as failure:
            self._fell_back("actions", failure)
            return extract_actions(segments, language=language, today=today)

    def summary(
        self, segments: Iterable[Mapping[str, Any]], *, language: str | None
    ) -> SummaryResult:
        """Up to five bullets, the risks and the topics."""
        segments = list(segments)
        self.last_fallback_reason = None
        try:
            return self._summary(render_lines(segments), language)
        except _Failure as failure:
            self._fell_back("summary", failure)
            return summarize(segments, language=language)

    def crm_note(
        self, segments: Iterable[Mapping[str, Any]], *, language: str | None
    ) -> str | None:
        """A short CRM note, or None (there is no heuristic one to fall back to).

        A transcript too long for one request is summarized first and the note written
        from the summary.
        """
        lines = render_lines(segments)
        self.last_fallback_reason = None
        if not lines:
            return None
        try:
            if len(chunk_lines(lines, self.config.max_chunk_tokens, self.config.overlap)) == 1:
                source = "\n".join(lines)
            else:
                source = json.dumps(self._summary(lines, language).as_json(), ensure_ascii=False)
            reply = self._complete(_prompt(CRM_NOTE, language), source)
            _fields(reply, {"note"}, "reply")
            return _string(reply["note"], "note")
        except _Failure as failure:
            self._fell_back("CRM note", failure)
            return None

    def _actions(
        self, segments: list[Mapping[str, Any]], language: str | None, today: date
    ) -> list[ActionItem]:
        by_id = {str(s["segment_id"]): s for s in segments}
        order = {segment_id: i for i, segment_id in enumerate(by_id)}
        system = _prompt(EXTRACT_ACTIONS, language, today)
        best: dict[str, ActionItem] = {}
        for chunk in self._chunks(render_lines(segments)):
            for item in _parse_actions(self._complete(system, "\n".join(chunk)), by_id):
                # The same segment can come twice (in the overlap): keep the surer reading.
                if item.conf >= MIN_CONF and (
                    item.segment_id not in best or item.conf > best[item.segment_id].conf
                ):
                    best[item.segment_id] = item
        return sorted(best.values(), key=lambda item: order[item.segment_id])

    def _summary(self, lines: list[str], language: str | None) -> SummaryResult:
        system = _prompt(SUMMARIZE, language)
        partials = [
            _parse_summary(self._complete(system, "\n".join(c))) for c in self._chunks(lines)
        ]
        if len(partials) > 1:
            merge = json.dumps({"partials": [p.as_json() for p in partials]}, ensure_ascii=False)
            partials = [_parse_summary(self._complete(_prompt(MERGE_SUMMARIES, language), merge))]
        if not partials:
            return SummaryResult()
        result = partials[0]
        return SummaryResult(result.bullets[:MAX_BULLETS], result.risks, result.topics)

    def _chunks(self, lines: list[str]) -> list[list[str]]:
        return chunk_lines(lines, self.config.max_chunk_tokens, self.config.overlap)

    def _complete(self, system: str, user: str) -> dict[str, Any]:
        """The model's reply to one exchange, as a JSON object."""
        body = {
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }
        try:
            response = self._http.post(self._url, json=body)
            response.raise_for_status()
            envelope = response.json()
        except httpx.TimeoutException as exc:
            raise _Failure(f"timed out ({self.config.timeout_s} s): {exc!r}") from exc
        except httpx.HTTPStatusError as exc:
            raise _Failure(f"HTTP {exc.response.status_code} from {self._url}") from exc
        except httpx.HTTPError as exc:
            raise _Failure(f"request failed: {exc!r}") from exc
        except ValueError as exc:
            raise _Failure("the response is not JSON") from exc
        try:
            content = envelope["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise _Failure("the response has no choices[0].message.content") from exc
        if not isinstance(content, str):
            raise _Failure("the message content is not a string")
        fenced = _FENCE.fullmatch(content)  # some models fence JSON even when asked not to
        try:
            reply = json.loads(fenced.group(1) if fenced else content)
        except ValueError as exc:
            # Its size, not its content: the reply quotes the transcript, and this is logged.
            raise _Failure(f"the reply is not JSON ({len(content)} characters)") from exc
        if not isinstance(reply, dict):
            raise _Failure("the reply is not a JSON object")
        return reply

    def _fell_back(self, what: str, failure: _Failure) -> None:
        self.last_fallback_reason = str(failure)
        log.warning("%s: %s by the LLM failed, using the heuristics: %s", self.name, what, failure)


class _Failure(Exception):
    """The model could not be asked, or its reply was not what was asked for."""


def _prompt(template: str, language: str | None, today: date | None = None) -> str:
    name = _LANGUAGES.get(language or "", language or "the transcript's own language")
    if today is None:
        return template.format(language=name)
    return template.format(
        language=name, today=today.isoformat(), weekday=_WEEKDAYS[today.weekday()]
    )


def _fields(value: object, fields: frozenset[str] | set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Failure(f"{where} is not an object")
    if set(value) != fields:
        raise _Failure(f"{where} has fields {sorted(value)}, not {sorted(fields)}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Failure(f"{where} is not a non-empty string: {value!r}")
    return value.strip()


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list):
        raise _Failure(f"{where} is not a list")
    return [_string(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _parse_actions(
    reply: dict[str, Any], segments: Mapping[str, Mapping[str, Any]]
) -> list[ActionItem]:
    """The reply's actions on segments of the transcript (others are made up: dropped)."""
    _fields(reply, {"actions"}, "reply")
    if not isinstance(reply["actions"], list):
        raise _Failure("actions is not a list")
    found = []
    for i, item in enumerate(reply["actions"]):
        where = f"actions[{i}]"
        _fields(item, _ACTION_FIELDS, where)
        segment_id = _string(item["segment_id"], f"{where}.segment_id")
        owner = item["owner"]
        if owner is not None:
            owner = _string(owner, f"{where}.owner")
        due = item["due"]
        if due is not None and not (isinstance(due, str) and _is_iso_date(due)):
            raise _Failure(f"{where}.due is not null nor YYYY-MM-DD: {due!r}")
        conf = item["conf"]
        # bool is an int to Python, not a number to anyone else.
        if isinstance(conf, bool) or not isinstance(conf, int | float) or not 0 <= conf <= 1:
            raise _Failure(f"{where}.conf is not a number from 0 to 1: {conf!r}")
        text = _string(item["text"], f"{where}.text")
        segment = segments.get(segment_id)
        if segment is not None:  # the model names the segment: its whole time is the span
            span = span_seconds(segment, 0, len(str(segment.get("text") or "")))
            found.append(ActionItem(segment_id, owner, text, due, float(conf), span))
    return found


def _parse_summary(reply: dict[str, Any]) -> SummaryResult:
    _fields(reply, _SUMMARY_FIELDS, "reply")
    return SummaryResult(
        bullets=_strings(reply["bullets"], "bullets"),
        risks=_strings(reply["risks"], "risks"),
        topics=_strings(reply["topics"], "topics"),
    )


def _is_iso_date(text: str) -> bool:
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False  # e.g. 2026-02-30
    return True

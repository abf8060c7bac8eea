"""What every connector target implements, and how vendor answers become errors.

A target turns a :class:`Note` or a :class:`Task` into the vendor's objects, over the
vendor's documented HTTP API. It keeps no state: where things go (``destination``), the
credential and the id of what it made earlier (``external_id``) are passed in each call,
and the outbox remembers the ids it returns.

Every object a target creates carries ``marker`` (a short token such as
``minuta:3f2a9c0d1e5b``) somewhere the vendor lets it be found again: after a dispatcher
died between the vendor's answer and our commit, :meth:`Target.find` adopts the object the
first try made instead of making a second one.

Example:
    >>> classify(429, {"Retry-After": "7"}, "slow down")
    RetryableError('HTTP 429: slow down', 7.0)
    >>> classify(401, {}, '{"message": "bad token"}')
    PermanentError('HTTP 401: {"message": "bad token"}')
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx

TargetName = Literal["hubspot", "pipedrive", "notion", "trello", "webhook"]
TARGETS: tuple[TargetName, ...] = ("hubspot", "pipedrive", "notion", "trello", "webhook")

# What a vendor's error body may contribute to a reason we keep and show.
MAX_REASON = 300


class TargetError(Exception):
    """A call to the vendor did not do what was asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class PermanentError(TargetError):
    """Trying again cannot help (bad token, missing scope, unknown list, invalid field):
    the push is marked failed with this reason."""


class RetryableError(TargetError):
    """The vendor is down, slow or rate-limiting: try again later, after ``retry_after``
    seconds when the vendor said how long (``429 Retry-After``)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {self.retry_after!r})"


@dataclass(frozen=True)
class Note:
    """The meeting's note, in the ``crm_note`` form: context, needs, next steps.

    Only text and metadata: the transcript's text is in ``transcript`` only when the
    connector asked for it (``include_transcript``), and audio never is.
    """

    transcript_id: str
    title: str
    started_at: str | None
    language: str | None
    context: list[str]  # what was discussed and decided (the summary's bullets)
    needs: list[str]  # risks, blockers, dependencies
    next_steps: list[str]  # "Owner: text (due)" for each open action
    participants: list[str] = field(default_factory=list)
    transcript: str | None = None

    def heading(self) -> str:
        """The title, with the meeting's date."""
        title = self.title.strip() or self.transcript_id
        return f"{title} ({self.started_at[:10]})" if self.started_at else title

    def sections(self) -> list[tuple[str, list[str]]]:
        """(heading, lines) of the sections that have lines: context, needs, next steps."""
        named = (("Context", self.context), ("Needs", self.needs), ("Next steps", self.next_steps))
        return [(heading, lines) for heading, lines in named if lines]

    def plain_text(self) -> str:
        """The note as plain text with headed sections (what most targets store)."""
        parts = [self.heading()]
        if self.participants:
            parts.append("Participants: " + ", ".join(self.participants))
        for heading, lines in self.sections():
            parts.append(heading + ":\n" + "\n".join(f"- {line}" for line in lines))
        if self.transcript:
            parts.append("Transcript:\n" + self.transcript)
        return "\n\n".join(parts)


@dataclass(frozen=True)
class Task:
    """One action item of the meeting."""

    transcript_id: str
    action_id: str
    text: str
    owner: str | None
    due: str | None  # ISO date (YYYY-MM-DD) or None
    status: Literal["open", "done", "dismissed"]
    meeting_title: str


class Target(Protocol):
    """A vendor. ``credential`` and ``destination`` are the connector's own dicts, checked
    by :meth:`check_config` when the connector is added."""

    name: TargetName
    needs_note: bool  # tasks live inside the note (Notion): the note is always sent

    def check_config(self, credential: Mapping[str, Any], destination: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming the missing or malformed field; no network."""

    async def test(
        self, http: httpx.AsyncClient, credential: Mapping[str, Any], destination: Mapping[str, Any]
    ) -> str:
        """One harmless call (read the destination); returns what was found, in a few
        words, or raises :class:`TargetError` saying plainly what is wrong."""

    async def push_note(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        note: Note,
        *,
        external_id: str | None,
        marker: str,
    ) -> str:
        """Create the note (``external_id`` None) or update it; returns its vendor id."""

    async def push_task(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        task: Task,
        *,
        external_id: str | None,
        marker: str,
        note_id: str | None,
    ) -> str:
        """Create or update a task; a ``done`` or ``dismissed`` task is completed, closed
        or archived as the vendor allows. Returns its vendor id.

        ``note_id`` is the vendor id of this transcript's note on this connector, when it
        was pushed (the outbox sends a transcript's note before its tasks): Notion puts
        the tasks in the note's page as ``to_do`` blocks."""

    async def find(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        *,
        kind: Literal["note", "task"],
        marker: str,
    ) -> str | None:
        """The vendor id of an object this connector made with ``marker``, if any."""


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def base_url(value: Any, default: str, *, example: str = "") -> str:
    """A destination's ``base_url``: ``https://`` (plain ``http://`` only to this machine,
    for tests and local fakes), or ``default`` when unset.

    Example:
        >>> base_url(None, "https://api.hubapi.com")
        'https://api.hubapi.com'
        >>> base_url("http://example.com", "https://api.hubapi.com")
        Traceback (most recent call last):
        ...
        ValueError: destination.base_url must be an https:// URL
    """
    if value is None:
        return default
    parts = urlsplit(str(value))
    local = parts.scheme == "http" and parts.hostname in LOOPBACK
    if not (parts.scheme == "https" or local) or not parts.hostname or parts.query:
        raise ValueError("destination.base_url must be an https:// URL" + example)
    return str(value).rstrip("/")


def classify(status: int, headers: Mapping[str, str], body: str) -> TargetError:
    """The error for a vendor's non-2xx answer: 429, 408 and 5xx are worth a retry,
    any other 4xx is permanent."""
    reason = f"HTTP {status}: {body.strip()[:MAX_REASON]}"
    if status == 429 or status == 408 or status >= 500:
        return RetryableError(reason, _retry_after(headers.get("Retry-After")))
    return PermanentError(reason)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare from APIs; the backoff decides
    return seconds if 0 <= seconds <= 3600 else None


async def request(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request; a network failure or timeout is a :class:`RetryableError`, a
    non-2xx answer the error :func:`classify` gives."""
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise RetryableError(f"{method} {url}: timed out") from None
    except httpx.HTTPError as exc:
        raise RetryableError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
    if response.is_success:
        return response
    raise classify(response.status_code, response.headers, response.text)


def json_of(response: httpx.Response) -> Any:
    """The JSON body of a vendor's 2xx answer; a body that is not JSON is retryable (a
    proxy's error page, say)."""
    try:
        return response.json()
    except ValueError:
        raise RetryableError(
            f"HTTP {response.status_code}: the answer is not JSON: {response.text[:80]!r}"
        ) from None


MAX_ANSWER_BYTES = 4 * 2**20


class AnswerTooLargeError(httpx.HTTPError):
    """A vendor's answer over :data:`MAX_ANSWER_BYTES`: read no further."""


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self.inner, self.limit = inner, limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self.inner:
            seen += len(chunk)
            if seen > self.limit:
                raise AnswerTooLargeError(f"the answer is over {self.limit // 2**20} MiB")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _CappedTransport(httpx.AsyncBaseTransport):
    """Answers are read into memory (``response.json()``): a vendor, or an admin's
    webhook URL, that answers without end must not grow the relay without bound."""

    def __init__(self, limit: int) -> None:
        self.inner, self.limit = httpx.AsyncHTTPTransport(), limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self.limit)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def vendor_client(timeout_s: float, *, limit: int = MAX_ANSWER_BYTES) -> httpx.AsyncClient:
    """The HTTP client for vendor calls: a timeout, no redirects, answers capped.

    Example:
        >>> import anyio
        >>> anyio.run(vendor_client(5).aclose)
    """
    return httpx.AsyncClient(
        timeout=timeout_s, follow_redirects=False, transport=_CappedTransport(limit)
    )

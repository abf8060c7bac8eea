"""Pipedrive API v1: the meeting's note becomes a note on a deal, and each action item a
``task`` activity on it.

What this relies on, from Pipedrive's documentation:

- Auth: the user's personal API token in the ``x-api-token`` header (also accepted as an
  ``api_token`` query parameter, which would put it in every proxy's access log, so it is
  never used here). A token belongs to one user in one company; ``https://api.pipedrive.com``
  and the company's own ``https://<company>.pipedrive.com`` both serve the API.
- Every answer is ``{"success": true|false, "data": ..., "error": ...}``; lists carry
  ``additional_data.pagination`` (``more_items_in_collection``, ``next_start``) and
  ``data: null`` when empty.
- Notes: ``POST /v1/notes`` ``{content (HTML, sanitized by Pipedrive), deal_id}``;
  ``PUT /v1/notes/{id}``; ``GET /v1/notes?deal_id=&start=&limit=`` lists a deal's notes.
- Activities: ``POST /v1/activities`` ``{subject, type, due_date (YYYY-MM-DD), deal_id,
  note (HTML), done (0|1)}``, ``type`` being an activity type's key (``task`` is one of the
  defaults); ``PUT /v1/activities/{id}``; ``GET /v1/deals/{id}/activities`` lists a
  deal's activities, done or not. (``GET /v1/activities`` lists only one user's, and has
  no deal filter.)
- ``GET /v1/deals/{id}`` reads the deal (``title``).

Example:
    >>> TARGET.check_config({"api_token": "0123abcd"}, {"deal_id": "forty-two"})
    Traceback (most recent call last):
    ...
    ValueError: destination.deal_id must be the deal's numeric Pipedrive id
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final, Literal
from urllib.parse import quote

import httpx

from ._base import (
    Note,
    PermanentError,
    RetryableError,
    TargetName,
    Task,
    base_url,
    classify,
    json_of,
)

DEFAULT_BASE_URL: Final = "https://api.pipedrive.com"
SUBJECT_LIMIT: Final = 200
PAGE: Final = 100  # items asked per page when looking for a marker
MAX_PAGES: Final = 50  # a deal with more than 5,000 notes or activities is not searched further


class Pipedrive:
    name: TargetName = "pipedrive"
    needs_note = False

    def check_config(self, credential: Mapping[str, Any], destination: Mapping[str, Any]) -> None:
        _settings(credential, destination)

    async def test(
        self, http: httpx.AsyncClient, credential: Mapping[str, Any], destination: Mapping[str, Any]
    ) -> str:
        token, base, deal_id = _settings(credential, destination)
        deal = await _send(
            http,
            "GET",
            f"{base}/v1/deals/{deal_id}",
            token,
            gone=f"deal {deal_id} does not exist in this Pipedrive company (or was deleted)",
        )
        title = deal.get("title") if isinstance(deal, dict) else None
        return f"deal {deal_id} {str(title or '')!r}"

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
        token, base, deal_id = _settings(credential, destination)
        fields = {"content": note_html(note, marker), "deal_id": deal_id}
        return await _save(http, base, token, "notes", fields, external_id)

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
        token, base, deal_id = _settings(credential, destination)
        subject = task.text.strip().splitlines()[0] if task.text.strip() else task.action_id
        if task.status == "dismissed":
            subject = "(dismissed) " + subject
        if len(subject) > SUBJECT_LIMIT:
            subject = subject[: SUBJECT_LIMIT - 3] + "..."
        fields: dict[str, Any] = {
            "subject": subject,
            "type": "task",
            "deal_id": deal_id,
            "note": task_html(task, marker),
            "done": 0 if task.status == "open" else 1,
        }
        due = _due(task.due)
        if due is not None:  # without one, an update leaves the date set in Pipedrive alone
            fields["due_date"] = due
        return await _save(http, base, token, "activities", fields, external_id)

    async def find(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        *,
        kind: Literal["note", "task"],
        marker: str,
    ) -> str | None:
        """Page through the deal's notes (``content``) or activities (``note``): Pipedrive
        has no documented full-text search over either."""
        token, base, deal_id = _settings(credential, destination)
        if kind == "note":
            url, params, field = f"{base}/v1/notes", {"deal_id": deal_id}, "content"
        else:
            url, params, field = f"{base}/v1/deals/{deal_id}/activities", {}, "note"
        start = 0
        for _ in range(MAX_PAGES):
            body = await _send(
                http,
                "GET",
                url,
                token,
                whole=True,
                params={**params, "start": start, "limit": PAGE},
            )
            items = body.get("data") or []
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and marker in str(item.get(field) or ""):
                    return str(item["id"])
            more = (body.get("additional_data") or {}).get("pagination") or {}
            if not more.get("more_items_in_collection") or not isinstance(
                more.get("next_start"), int
            ):
                return None
            start = more["next_start"]
        return None


def note_html(note: Note, marker: str) -> str:
    """The note as the HTML Pipedrive shows on the deal, the marker last."""
    parts = [f"<p><b>{_esc(note.heading())}</b></p>"]
    if note.participants:
        parts.append(f"<p>Participants: {_esc(', '.join(note.participants))}</p>")
    for heading, lines in note.sections():
        items = "".join(f"<li>{_esc(line)}</li>" for line in lines)
        parts.append(f"<p><b>{heading}</b></p><ul>{items}</ul>")
    if note.transcript:
        transcript = _esc(note.transcript).replace("\n", "<br>")
        parts.append(f"<p><b>Transcript</b></p><p>{transcript}</p>")
    return "".join(parts) + f"<p>[{_esc(marker)}]</p>"


def task_html(task: Task, marker: str) -> str:
    parts = [f"<p>{_esc(task.text)}</p>"]
    if task.owner:
        parts.append(f"<p>Owner: {_esc(task.owner)}</p>")
    if task.status == "dismissed":
        parts.append("<p>Dismissed in the meeting's notes.</p>")
    parts.append(f"<p>From the meeting: {_esc(task.meeting_title or task.transcript_id)}</p>")
    return "".join(parts) + f"<p>[{_esc(marker)}]</p>"


async def _save(
    http: httpx.AsyncClient,
    base: str,
    token: str,
    objects: Literal["notes", "activities"],
    fields: dict[str, Any],
    external_id: str | None,
) -> str:
    """Add the object (POST) or replace its fields in place (PUT)."""
    if external_id is None:
        data = await _send(http, "POST", f"{base}/v1/{objects}", token, json=fields)
    else:
        what = "note" if objects == "notes" else "activity"
        data = await _send(
            http,
            "PUT",
            f"{base}/v1/{objects}/{quote(external_id, safe='')}",
            token,
            gone=f"{what} {external_id} no longer exists in Pipedrive (deleted there?)",
            json=fields,
        )
    if not isinstance(data, dict) or not isinstance(data.get("id"), int | str):
        raise RetryableError(f"Pipedrive answered without an id: {str(data)[:80]!r}")
    return str(data["id"])


async def _send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    token: str,
    *,
    gone: str | None = None,
    whole: bool = False,
    **kwargs: Any,
) -> Any:
    """One call; returns its ``data`` (the whole body with ``whole``). Like
    :func:`~._base.request`, but 401 and 403 get plain reasons, a 404 becomes ``gone``
    when given, and a 2xx with ``success: false`` is permanent with Pipedrive's error."""
    headers = {"x-api-token": token, "Accept": "application/json"}
    try:
        response = await http.request(method, url, headers=headers, **kwargs)
    except httpx.TimeoutException:
        raise RetryableError(f"{method} {url}: timed out") from None
    except httpx.HTTPError as exc:
        raise RetryableError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
    status = response.status_code
    if status == 401:
        raise PermanentError(
            "HTTP 401: Pipedrive refused the API token: it is wrong, was regenerated, "
            "or belongs to another company"
        )
    if status == 403:
        raise PermanentError(
            f"HTTP 403: the token's Pipedrive user may not do this: {_error(response)}"
        )
    if status == 404 and gone is not None:
        raise PermanentError(f"HTTP 404: {gone}")
    if not response.is_success:
        raise classify(status, response.headers, response.text)
    body = json_of(response)
    if not isinstance(body, dict) or "success" not in body:
        raise RetryableError(f"HTTP {status}: not a Pipedrive answer: {response.text[:80]!r}")
    if body["success"] is not True:
        raise PermanentError(f"HTTP {status}: Pipedrive refused: {_error(response)}")
    return body if whole else body.get("data")


def _error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict) and body.get("error"):
        info = body.get("error_info")
        return str(body["error"]) + (f" ({info})" if info else "")
    return response.text.strip()[:200]


def _settings(
    credential: Mapping[str, Any], destination: Mapping[str, Any]
) -> tuple[str, str, int]:
    """(token, base URL, deal id), or ``ValueError`` naming the field."""
    token = credential.get("api_token")
    if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
        raise ValueError("credential.api_token must be the Pipedrive user's API token")
    deal_id = destination.get("deal_id")
    if isinstance(deal_id, bool) or not re.fullmatch(r"[1-9][0-9]{0,18}", str(deal_id)):
        raise ValueError("destination.deal_id must be the deal's numeric Pipedrive id")
    return (
        token,
        base_url(
            destination.get("base_url"),
            DEFAULT_BASE_URL,
            example=", such as https://<company>.pipedrive.com",
        ),
        int(str(deal_id)),
    )


def _due(value: str | None) -> str | None:
    try:
        return date.fromisoformat(value or "").isoformat()
    except ValueError:
        return None


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


TARGET = Pipedrive()

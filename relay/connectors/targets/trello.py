"""Trello: the meeting's note and each action item become cards on one list.

What this relies on, from Trello's REST API (version 1) documentation:

- Auth: an API key (its Power-Up's "API key" tab) and a user token authorized for it with
  ``read,write`` scope. Both may travel in the header ``Authorization: OAuth
  oauth_consumer_key="<key>", oauth_token="<token>"`` instead of ``?key=&token=``: used
  here, so secrets never land in URLs, proxies' logs or error reasons.
- ``POST /1/cards`` takes ``idList`` (required), ``name``, ``desc`` (Markdown), ``due``
  (a date, or null) and ``dueComplete``; ``PUT /1/cards/{id}`` changes those and
  ``closed`` (archived: off the board but kept, and restorable). Names and descriptions
  hold 16,384 characters. Parameters may be sent as a JSON body.
- ``GET /1/lists/{id}`` (with ``board=true&board_fields=name``) reads the list and its
  board; ``GET /1/lists/{id}/cards?filter=all`` lists its cards, archived ones too.
- Errors are plain text: 401 ``invalid key``, ``invalid token`` or ``unauthorized
  permission requested``; 400 ``invalid id`` / ``invalid value for idList``; 404 for a
  list or card that is not there. 429 past 100 requests per 10 s per token.

Updates never send ``idList``: a card a person moved on (To do, Doing, Done) stays there.

Example:
    >>> TARGET.check_config({"key": "k", "token": "t"}, {"list_id": "To do"})
    Traceback (most recent call last):
    ...
    ValueError: destination.list_id must be the list's 24-hex-digit id (see a card's idList)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final, Literal

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

DEFAULT_BASE_URL: Final = "https://api.trello.com"
TEXT_LIMIT: Final = 16_384  # a card's name or desc
DUE_TIME: Final = "T17:00:00.000Z"  # due dates land at 17:00 UTC: end of a European day
CUT: Final = "\n\n[…cut: a Trello description holds 16,384 characters]"

Config = Mapping[str, Any]
_ID = re.compile(r"[0-9a-fA-F]{24}")


class Trello:
    name: TargetName = "trello"
    needs_note = False

    def check_config(self, credential: Mapping[str, Any], destination: Mapping[str, Any]) -> None:
        _settings(credential, destination)

    async def test(
        self, http: httpx.AsyncClient, credential: Mapping[str, Any], destination: Mapping[str, Any]
    ) -> str:
        """Read the list and the name of its board."""
        auth, base, list_id = _settings(credential, destination)
        params = {"fields": "name,closed,idBoard", "board": "true", "board_fields": "name"}
        found = await _send(http, "GET", f"{base}/1/lists/{list_id}", auth, params=params)
        board = (found.get("board") or {}).get("name")
        what = f"list {found.get('name')!r}" + (f" on board {board!r}" if board else "")
        return what + (" (archived)" if found.get("closed") else "")

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
        """A card "Notes: <title> (<date>)", the note's text as its description."""
        auth, base, list_id = _settings(credential, destination)
        title = note.title.strip() or note.transcript_id
        if note.started_at:
            title += f" ({note.started_at[:10]})"
        text = note.plain_text().partition("\n\n")[2]  # its first paragraph is the title
        card = {"name": _clip("Notes: " + title, TEXT_LIMIT), "desc": _desc(text, marker)}
        return await _save(http, base, auth, list_id, card, external_id)

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
        """A card named after the action, due at 17:00 UTC on its day, ``dueComplete``
        when done; a dismissed task's card is archived (``closed``), and reopening the
        task brings it back. Trello's create takes no ``closed``: a task dismissed before
        its first push is created, then archived."""
        auth, base, list_id = _settings(credential, destination)
        lines = [f"Owner: {task.owner}"] if task.owner else []
        lines.append(f"From the meeting: {task.meeting_title or task.transcript_id}")
        if task.status == "dismissed":
            lines.append("Dismissed in the meeting's notes.")
        card: dict[str, Any] = {
            "name": _clip(task.text.strip() or task.action_id, TEXT_LIMIT),
            "desc": _desc("\n\n".join(lines), marker),
            "due": _due(task.due),
            "dueComplete": task.status == "done",
        }
        if external_id is None and card["due"] is None:
            del card["due"]
        closed = task.status == "dismissed"
        if external_id is not None:
            card["closed"] = closed
        card_id = await _save(http, base, auth, list_id, card, external_id)
        if external_id is None and closed:
            await _send(http, "PUT", f"{base}/1/cards/{card_id}", auth, json={"closed": True})
        return card_id

    async def find(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        *,
        kind: Literal["note", "task"],
        marker: str,
    ) -> str | None:
        """The list's card (archived ones included) whose description carries the marker.
        A card a person already moved to another list is not found, but a lost answer
        is seconds old."""
        auth, base, list_id = _settings(credential, destination)
        params = {"filter": "all", "fields": "name,desc,closed"}
        cards = await _send(http, "GET", f"{base}/1/lists/{list_id}/cards", auth, params=params)
        token = re.compile(rf"(?<![\w:]){re.escape(marker)}(?!\w)")
        for card in cards if isinstance(cards, list) else []:
            if isinstance(card, dict) and token.search(str(card.get("desc") or "")):
                return str(card["id"])
        return None


def _desc(text: str, marker: str) -> str:
    """``text``, then the marker in a last line of its own; only ``text`` is cut."""
    tail = f"\n\n---\n`{marker}`"
    room = TEXT_LIMIT - len(tail)
    return (text if len(text) <= room else _clip(text, room - len(CUT)) + CUT) + tail


async def _save(
    http: httpx.AsyncClient,
    base: str,
    auth: str,
    list_id: str,
    card: dict[str, Any],
    external_id: str | None,
) -> str:
    if external_id is None:
        made = await _send(http, "POST", f"{base}/1/cards", auth, json=card | {"idList": list_id})
    else:
        gone = f"the card {external_id} was deleted in Trello"
        url = f"{base}/1/cards/{external_id}"
        made = await _send(http, "PUT", url, auth, json=card, gone=gone)
    if not isinstance(made, dict) or not isinstance(made.get("id"), str):
        raise RetryableError(f"Trello answered without the card's id: {str(made)[:80]!r}")
    return str(made["id"])


async def _send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    auth: str,
    *,
    gone: str | None = None,
    **kwargs: Any,
) -> Any:
    """One call; returns the JSON body. Like :func:`~._base.request`, but Trello's
    plain-text 401s say which secret is wrong, and a 400/404 for the list (or ``gone``,
    for a card) says what is missing."""
    headers = {"Authorization": auth, "Accept": "application/json"}
    try:
        response = await http.request(method, url, headers=headers, **kwargs)
    except httpx.TimeoutException:
        raise RetryableError(f"{method} {url}: timed out") from None
    except httpx.HTTPError as exc:
        raise RetryableError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
    status = response.status_code
    if response.is_success:
        return json_of(response)
    said = response.text.strip().strip('"')  # plain text; JSON-quoted from tests' fake
    if status == 401 and "invalid key" in said:
        raise PermanentError("HTTP 401: Trello refused the API key (invalid key): copy it again")
    if status == 401 and "invalid token" in said:
        raise PermanentError(
            "HTTP 401: Trello refused the token (invalid token): wrong, expired or revoked"
        )
    if status == 401:
        raise PermanentError(f"HTTP 401: the token's member may not use this list ({said[:80]})")
    if status == 404 and gone:
        raise PermanentError(f"HTTP 404: {gone}")
    if status in (400, 404) and ("invalid value for idList" in said or "/1/lists/" in url):
        raise PermanentError(
            f"HTTP {status}: the list does not exist, or the token's member cannot see it"
        )
    raise classify(status, response.headers, said)


def _settings(credential: Config, destination: Config) -> tuple[str, str, str]:
    """(Authorization header, base URL, list id), or ``ValueError`` naming the field."""
    secrets = []
    for field in ("key", "token"):
        value = credential.get(field)
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", value):
            raise ValueError(f"credential.{field} must be the Trello API {field}")
        secrets.append(value)
    list_id = destination.get("list_id")
    if not isinstance(list_id, str) or not _ID.fullmatch(list_id):
        raise ValueError(
            "destination.list_id must be the list's 24-hex-digit id (see a card's idList)"
        )
    auth = f'OAuth oauth_consumer_key="{secrets[0]}", oauth_token="{secrets[1]}"'
    return auth, base_url(destination.get("base_url"), DEFAULT_BASE_URL), list_id


def _due(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise PermanentError(f"the due date {value!r} is not YYYY-MM-DD") from None
    return day.isoformat() + DUE_TIME


def _clip(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


TARGET = Trello()

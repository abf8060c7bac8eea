"""HubSpot CRM v3: the meeting's note becomes a note, and each action item a task, on a
deal, contact or company.

What this relies on, from HubSpot's documentation:

- Auth: a private app's access token, sent as ``Authorization: Bearer``. Notes and tasks
  are engagements and need ``crm.objects.contacts.write`` (and ``.read`` to search them)
  whatever record they sit on; :meth:`HubSpot.test` reads the record, which needs
  ``crm.objects.{deals|contacts|companies}.read``.
- Notes: ``POST /crm/v3/objects/notes`` with ``properties.hs_timestamp`` (required: where
  the note sits on the timeline; ISO 8601 UTC or epoch milliseconds) and
  ``hs_note_body`` (HTML, at most 65,536 characters), and ``associations``:
  ``[{"to": {"id"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
  "associationTypeId"}]}]``, note to contact 202, to company 190, to deal 214.
- Tasks: ``POST /crm/v3/objects/tasks``; ``hs_timestamp`` is the task's due date
  (required), ``hs_task_subject``, ``hs_task_body``, ``hs_task_status`` (``NOT_STARTED`` or
  ``COMPLETED``), ``hs_task_type`` (``TODO``); task to contact 204, to company 192, to
  deal 216.
- Updates: ``PATCH /crm/v3/objects/{notes|tasks}/{id}`` with the properties that change.
- Search: ``POST /crm/v3/objects/{notes|tasks}/search``: ``filterGroups`` are OR-ed, the
  filters in a group AND-ed; ``CONTAINS_TOKEN`` matches a word of a text property. New
  objects take a few seconds to become searchable.
- A 403 ``MISSING_SCOPES`` answer lists what is needed under
  ``errors[].context.requiredGranularScopes`` (older apps: ``requiredScopes``).

Example:
    >>> TARGET.check_config({"token": "pat-na1-x"}, {"object_type": "tickets", "object_id": "1"})
    Traceback (most recent call last):
    ...
    ValueError: destination.object_type must be one of deals, contacts, companies
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final, Literal, NamedTuple
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

DEFAULT_BASE_URL: Final = "https://api.hubapi.com"
OBJECT_TYPES: Final = ("deals", "contacts", "companies")
# HUBSPOT_DEFINED association type ids, from the engagement to the record.
NOTE_ASSOCIATION: Final = {"contacts": 202, "companies": 190, "deals": 214}
TASK_ASSOCIATION: Final = {"contacts": 204, "companies": 192, "deals": 216}
WRITE_SCOPE: Final = "crm.objects.contacts.write"
READ_SCOPE: Final = "crm.objects.contacts.read"
BODY_LIMIT: Final = 65_536  # hs_note_body, as documented; used for task bodies too
SUBJECT_LIMIT: Final = 200

_SINGULAR = {"deals": "deal", "contacts": "contact", "companies": "company"}
_NAMES = {
    "deals": ("dealname",),
    "contacts": ("firstname", "lastname", "email"),
    "companies": ("name", "domain"),
}


class HubSpot:
    name: TargetName = "hubspot"
    needs_note = False

    def check_config(self, credential: Mapping[str, Any], destination: Mapping[str, Any]) -> None:
        _settings(credential, destination)

    async def test(
        self, http: httpx.AsyncClient, credential: Mapping[str, Any], destination: Mapping[str, Any]
    ) -> str:
        token, base, object_type, object_id = _settings(credential, destination)
        what = f"{_SINGULAR[object_type]} {object_id}"
        record = await _send(
            http,
            "GET",
            f"{base}/crm/v3/objects/{object_type}/{object_id}",
            token,
            scope=f"crm.objects.{object_type}.read",
            gone=f"{what} does not exist in this HubSpot account",
            params={"properties": ",".join(_NAMES[object_type])},
        )
        properties = record.get("properties") if isinstance(record, dict) else None
        return f"{what} {_display_name(object_type, properties or {})!r}"

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
        config = _settings(credential, destination)
        properties = {"hs_note_body": note_html(note, marker)}
        started = _moment(note.started_at)
        if started is not None or external_id is None:  # an update keeps its timeline place
            properties["hs_timestamp"] = _iso(started or datetime.now(UTC))
        return await _save(http, config, "notes", properties, external_id)

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
        config = _settings(credential, destination)
        subject = task.text.strip().splitlines()[0] if task.text.strip() else task.action_id
        if task.status == "dismissed":
            subject = "(dismissed) " + subject
        properties = {
            "hs_task_subject": _clip(subject, SUBJECT_LIMIT),
            "hs_task_body": task_html(task, marker),
            "hs_task_status": "NOT_STARTED" if task.status == "open" else "COMPLETED",
            "hs_task_type": "TODO",
        }
        due = _due(task.due)
        if due is not None or external_id is None:  # no due date: "now", once, at creation
            properties["hs_timestamp"] = due or _iso(datetime.now(UTC))
        return await _save(http, config, "tasks", properties, external_id)

    async def find(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        *,
        kind: Literal["note", "task"],
        marker: str,
    ) -> str | None:
        """Search the body for the marker. How HubSpot splits ``minuta:<hex>`` into tokens
        is not documented, so the whole marker and its hex part are OR-ed, and a hit
        counts only when its body really contains the marker."""
        token, base, _, _ = _settings(credential, destination)
        objects, body = ("notes", "hs_note_body") if kind == "note" else ("tasks", "hs_task_body")
        values = dict.fromkeys((marker, marker.rsplit(":", 1)[-1]))
        query = {
            "filterGroups": [
                {"filters": [{"propertyName": body, "operator": "CONTAINS_TOKEN", "value": v}]}
                for v in values
            ],
            "properties": [body],
            "limit": 20,
        }
        answer = await _send(
            http,
            "POST",
            f"{base}/crm/v3/objects/{objects}/search",
            token,
            scope=READ_SCOPE,
            json=query,
        )
        results = answer.get("results") if isinstance(answer, dict) else None
        for result in results if isinstance(results, list) else []:
            properties = result.get("properties") if isinstance(result, dict) else None
            if isinstance(properties, dict) and marker in str(properties.get(body) or ""):
                return str(result["id"])
        return None


def note_html(note: Note, marker: str) -> str:
    """The note as the HTML HubSpot shows on the timeline, the marker last; only the
    transcript is shortened to keep within the documented 65,536 characters."""
    parts = [f"<p><strong>{_esc(note.heading())}</strong></p>"]
    if note.participants:
        parts.append(f"<p>Participants: {_esc(', '.join(note.participants))}</p>")
    for heading, lines in note.sections():
        items = "".join(f"<li>{_esc(line)}</li>" for line in lines)
        parts.append(f"<p><strong>{heading}</strong></p><ul>{items}</ul>")
    tail = f"<p>[{_esc(marker)}]</p>"
    if note.transcript:
        head = "<p><strong>Transcript</strong></p><p>"
        room = BODY_LIMIT - sum(map(len, parts)) - len(head) - len("</p>") - len(tail)
        text = _esc(note.transcript).replace("\n", "<br>")
        parts.append(head + _clip(text, room) + "</p>")
    return "".join(parts) + tail


def task_html(task: Task, marker: str) -> str:
    parts = [f"<p>{_esc(task.text)}</p>"]
    if task.owner:
        parts.append(f"<p>Owner: {_esc(task.owner)}</p>")
    if task.due:
        parts.append(f"<p>Due: {_esc(task.due)}</p>")
    if task.status == "dismissed":
        parts.append("<p>Dismissed in the meeting's notes.</p>")
    parts.append(f"<p>From the meeting: {_esc(task.meeting_title or task.transcript_id)}</p>")
    tail = f"<p>[{_esc(marker)}]</p>"
    return _clip("".join(parts), BODY_LIMIT - len(tail)) + tail


async def _save(
    http: httpx.AsyncClient,
    config: _Config,
    objects: Literal["notes", "tasks"],
    properties: dict[str, str],
    external_id: str | None,
) -> str:
    """Create the engagement associated with the record, or update it in place."""
    token, base, object_type, object_id = config
    association_type = (NOTE_ASSOCIATION if objects == "notes" else TASK_ASSOCIATION)[object_type]
    if external_id is None:
        association = {
            "to": {"id": object_id},
            "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": association_type}
            ],
        }
        payload: dict[str, Any] = {"properties": properties, "associations": [association]}
        answer = await _send(
            http, "POST", f"{base}/crm/v3/objects/{objects}", token, scope=WRITE_SCOPE, json=payload
        )
    else:
        answer = await _send(
            http,
            "PATCH",
            f"{base}/crm/v3/objects/{objects}/{quote(external_id, safe='')}",
            token,
            scope=WRITE_SCOPE,
            gone=f"{objects[:-1]} {external_id} no longer exists in HubSpot (deleted there?)",
            json={"properties": properties},
        )
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str | int):
        raise RetryableError(f"HubSpot answered without an id: {str(answer)[:80]!r}")
    return str(answer["id"])


async def _send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    token: str,
    *,
    scope: str,
    gone: str | None = None,
    **kwargs: Any,
) -> Any:
    """One call; returns the JSON body. Like :func:`~._base.request`, but 401 and 403 get
    plain reasons (403 names the scopes HubSpot asked for, which lie past what
    ``classify`` keeps of a body), and a 404 becomes ``gone`` when given."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        response = await http.request(method, url, headers=headers, **kwargs)
    except httpx.TimeoutException:
        raise RetryableError(f"{method} {url}: timed out") from None
    except httpx.HTTPError as exc:
        raise RetryableError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
    status = response.status_code
    if response.is_success:
        return json_of(response)
    if status == 401:
        raise PermanentError(
            "HTTP 401: HubSpot refused the access token: it is wrong, was rotated, "
            "or belongs to another account"
        )
    if status == 403:
        scopes = _scopes_asked(response) or [scope]
        raise PermanentError(
            f"HTTP 403: the HubSpot private app lacks the scope {' or '.join(scopes)}: "
            "add it in the app's settings"
        )
    if status == 404 and gone is not None:
        raise PermanentError(f"HTTP 404: {gone}")
    raise classify(status, response.headers, response.text)


def _scopes_asked(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    scopes: dict[str, None] = {}
    for error in errors if isinstance(errors, list) else []:
        context = error.get("context") if isinstance(error, dict) else None
        if isinstance(context, dict):
            for key in ("requiredGranularScopes", "requiredScopes"):
                listed = context.get(key)
                for value in listed if isinstance(listed, list) else []:
                    scopes[str(value)] = None
    return list(scopes)


class _Config(NamedTuple):
    token: str
    base: str  # the API's URL, without a trailing slash
    object_type: str
    object_id: str


def _settings(credential: Mapping[str, Any], destination: Mapping[str, Any]) -> _Config:
    """The connector's settings, or ``ValueError`` naming the field that is wrong."""
    token = credential.get("token")
    if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
        raise ValueError("credential.token must be the HubSpot private app's access token")
    object_type = destination.get("object_type")
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"destination.object_type must be one of {', '.join(OBJECT_TYPES)}")
    object_id = destination.get("object_id")
    if isinstance(object_id, bool) or not re.fullmatch(r"[1-9][0-9]{0,19}", str(object_id)):
        raise ValueError("destination.object_id must be the record's numeric HubSpot id")
    return _Config(
        token,
        base_url(destination.get("base_url"), DEFAULT_BASE_URL),
        str(object_type),
        str(object_id),
    )


def _display_name(object_type: str, properties: Mapping[str, Any]) -> str:
    if object_type == "contacts":
        full = " ".join(str(properties.get(k) or "") for k in ("firstname", "lastname")).strip()
        return full or str(properties.get("email") or "")
    return str(next((properties[k] for k in _NAMES[object_type] if properties.get(k)), ""))


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _due(value: str | None) -> str | None:
    """Noon UTC of the due day: the same calendar day in every zone from UTC-11 to
    UTC+11, where midnight would show as the day before all over the Americas."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return f"{day.isoformat()}T12:00:00.000Z"


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _clip(text: str, room: int) -> str:
    if len(text) <= room:
        return text
    cut = re.sub(r"(&[a-z#0-9]*|<[^>]*)$", "", text[: max(room - 3, 0)])  # no half entity or tag
    return cut + "..."


TARGET = HubSpot()

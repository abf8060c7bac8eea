"""Pipedrive API v1 as far as the connector uses it: deals to read, notes and activities to
add, update and list.

It checks what Pipedrive checks: the API token on every request (the ``x-api-token``
header or the ``api_token`` query parameter, as Pipedrive accepts both), the required
fields, the activity type and date format, and that the deal exists. Every answer has
Pipedrive's envelope: ``{"success": true, "data": ...}`` or ``{"success": false, "error",
"error_info", "data": null}``; lists page with ``additional_data.pagination`` and give
``data: null`` when empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._server import Answer, FakeVendor, Request

TOKEN = "0123456789abcdef0123456789abcdef01234567"
ACTIVITY_TYPES = ("call", "meeting", "task", "deadline", "email", "lunch")
INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
Handler = Callable[[Request], Answer]


def error(status: int, message: str) -> Answer:
    return (status, {"success": False, "error": message, "error_info": INFO, "data": None})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")  # Pipedrive v1: UTC, no zone


@dataclass
class FakePipedrive(FakeVendor):
    api_token: str = TOKEN
    deals: dict[int, dict[str, Any]] = field(
        default_factory=lambda: {42: {"id": 42, "title": "Acme renewal", "status": "open"}}
    )
    notes: dict[int, dict[str, Any]] = field(default_factory=dict)
    activities: dict[int, dict[str, Any]] = field(default_factory=dict)

    def fail(
        self, status: int, *, times: int = 1, retry_after: float | None = None, body: Any = None
    ) -> None:
        """As the base class, with Pipedrive's error envelope unless ``body`` is given."""
        shape = body or error(status, f"fake {status}")[1]
        super().fail(status, times=times, retry_after=retry_after, body=shape)

    def routes(self) -> list[tuple[str, str, Handler]]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/v1/deals/(?P<id>\d+)", self._deal),
            ("GET", r"/v1/deals/(?P<id>\d+)/activities", self._deal_activities),
            ("GET", r"/v1/notes", self._list_notes),
            ("POST", r"/v1/notes", self._add_note),
            ("PUT", r"/v1/notes/(?P<id>\d+)", self._update_note),
            ("POST", r"/v1/activities", self._add_activity),
            ("PUT", r"/v1/activities/(?P<id>\d+)", self._update_activity),
        ]
        return [(m, p, self._guard(h)) for m, p, h in table]

    def _guard(self, handler: Handler) -> Handler:
        def guarded(request: Request) -> Answer:
            given = request.headers.get("x-api-token") or request.arg("api_token")
            if given != self.api_token:
                return (
                    401,
                    {
                        "success": False,
                        "error": "unauthorized access",
                        "errorCode": 401,
                        "error_info": INFO,
                    },
                )
            return handler(request)

        return guarded

    # ----------------------------------------------------------------- deals

    def _deal(self, request: Request) -> Answer:
        deal = self._deal_of(request)
        return error(404, "Deal not found") if deal is None else (200, _ok(deal))

    def _deal_activities(self, request: Request) -> Answer:
        if self._deal_of(request) is None:
            return error(404, "Deal not found")
        assert request.match is not None
        deal_id = int(request.match["id"])
        done = request.arg("done")
        items = [
            a
            for a in self.activities.values()
            if a["deal_id"] == deal_id and (done is None or int(a["done"]) == int(done))
        ]
        return (200, _page(items, request))

    def _deal_of(self, request: Request) -> dict[str, Any] | None:
        assert request.match is not None
        return self.deals.get(int(request.match["id"]))

    # ----------------------------------------------------------------- notes

    def _list_notes(self, request: Request) -> Answer:
        deal_id = request.arg("deal_id")
        items = [n for n in self.notes.values() if deal_id is None or str(n["deal_id"]) == deal_id]
        return (200, _page(items, request))

    def _add_note(self, request: Request) -> Answer:
        body = request.json() or {}
        problem = self._check_note(body)
        if problem is not None:
            return problem
        note_id = int(self.new_id())
        note = {"id": note_id, "user_id": 1, "add_time": _now(), "active_flag": True}
        note.update(content=body["content"], deal_id=body["deal_id"], update_time=_now())
        self.notes[note_id] = note
        return (201, _ok(note))

    def _update_note(self, request: Request) -> Answer:
        assert request.match is not None
        note = self.notes.get(int(request.match["id"]))
        if note is None:
            return error(404, "Note not found")
        body = {**note, **(request.json() or {})}
        problem = self._check_note(body)
        if problem is not None:
            return problem
        note.update(content=body["content"], deal_id=body["deal_id"], update_time=_now())
        return (200, _ok(note))

    def _check_note(self, body: dict[str, Any]) -> Answer | None:
        if not str(body.get("content") or "").strip():
            return error(400, "Content is required")
        if body.get("deal_id") is None:
            return error(400, "One of deal_id, person_id, org_id or lead_id is required")
        if self.deals.get(int(body["deal_id"])) is None:
            return error(400, "Deal not found")
        return None

    # ----------------------------------------------------------------- activities

    def _add_activity(self, request: Request) -> Answer:
        body = request.json() or {}
        problem = self._check_activity({"type": "task", **body})
        if problem is not None:
            return problem
        activity_id = int(self.new_id())
        activity = {"id": activity_id, "user_id": 1, "add_time": _now(), "active_flag": True}
        activity.update(due_date=None, due_time="", marked_as_done_time="")
        self._apply(activity, {"type": "task", **body})
        self.activities[activity_id] = activity
        return (201, _ok(activity))

    def _update_activity(self, request: Request) -> Answer:
        assert request.match is not None
        activity = self.activities.get(int(request.match["id"]))
        if activity is None:
            return error(404, "Activity not found")
        body = request.json() or {}
        problem = self._check_activity({**activity, **body})
        if problem is not None:
            return problem
        self._apply(activity, body)
        return (200, _ok(activity))

    def _check_activity(self, body: dict[str, Any]) -> Answer | None:
        if body["type"] not in ACTIVITY_TYPES:
            return error(400, f"Activity type {body['type']!r} is not valid")
        due = body.get("due_date")
        if due is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(due)):
            return error(400, "Invalid due_date format. Expected: YYYY-MM-DD")
        if body.get("done") not in (None, 0, 1, True, False):
            return error(400, "done must be 0 or 1")
        if body.get("deal_id") is not None and int(body["deal_id"]) not in self.deals:
            return error(400, "Deal not found")
        return None

    @staticmethod
    def _apply(activity: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("subject", "type", "due_date", "deal_id", "note"):
            if key in body:
                activity[key] = body[key]
        if "done" in body:
            activity["done"] = bool(body["done"])
            activity["marked_as_done_time"] = _now() if activity["done"] else ""
        activity.setdefault("done", False)
        activity.setdefault("subject", str(activity["type"]).capitalize())
        activity["update_time"] = _now()


def _ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": dict(data), "additional_data": None}


def _page(items: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    start, limit = int(request.arg("start") or 0), min(int(request.arg("limit") or 100), 500)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    return {
        "success": True,
        "data": [dict(i) for i in chunk] or None,
        "additional_data": {"pagination": pagination},
    }

"""Trello's REST API 1 as far as the Trello target uses it: one board, its lists, cards.

It checks the key and token, from the ``Authorization: OAuth oauth_consumer_key="…",
oauth_token="…"`` header or from ``?key=&token=`` as Trello takes either (401 ``invalid
key`` / ``invalid token``), ids (400 ``invalid id``), ``idList`` (400 ``invalid value for
idList``) and dates (400 ``invalid date``); parameters come from the query or a JSON body.
Trello answers errors in plain text; :class:`FakeVendor` sends every body as JSON, so
these arrive as JSON strings (``"invalid key"``), which the target reads either way.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ._server import Answer, FakeVendor, Request

Json = dict[str, Any]
Route = Callable[[Request], Answer]
_OAUTH = re.compile(r'(\w+)="([^"]*)"')
_ID = re.compile(r"[0-9a-f]{24}")


class FakeTrello(FakeVendor):
    def __init__(self, key: str = "k" * 32, token: str = "t" * 64) -> None:
        super().__init__()
        self.key, self.token = key, token
        self._serial = 0x5F21EEA50F40E30520C6C000
        self.board = {"id": self._oid(), "name": "Team"}
        self.lists: dict[str, Json] = {}
        self.cards: dict[str, Json] = {}
        self._state = threading.RLock()
        self.list_id = self.add_list("To do")

    def add_list(self, name: str, *, closed: bool = False) -> str:
        list_id = self._oid()
        self.lists[list_id] = {
            "id": list_id,
            "name": name,
            "closed": closed,
            "idBoard": self.board["id"],
        }
        return list_id

    def routes(self) -> list[tuple[str, str, Route]]:
        one = "(?P<id>[^/]+)"
        return [
            ("GET", f"/1/lists/{one}", self._guarded(self._list)),
            ("GET", f"/1/lists/{one}/cards(?:/(?P<filter>[a-z]+))?", self._guarded(self._cards)),
            ("POST", "/1/cards", self._guarded(self._create)),
            ("PUT", f"/1/cards/{one}", self._guarded(self._update)),
        ]

    def _guarded(self, handler: Callable[[Request, Json], Answer]) -> Route:
        def run(request: Request) -> Answer:
            given = dict(_OAUTH.findall(request.headers.get("authorization", "")))
            key = given.get("oauth_consumer_key") or request.arg("key")
            token = given.get("oauth_token") or request.arg("token")
            if key != self.key:
                return (401, "invalid key")
            if token != self.token:
                return (401, "invalid token")
            params = {k: v[0] for k, v in request.query.items()}
            if request.body:
                try:
                    params |= json.loads(request.body)
                except ValueError:
                    return (400, "Invalid JSON body")
            raw = (
                request.match["id"] if request.match and "id" in request.match.groupdict() else None
            )
            if raw is not None and not _ID.fullmatch(raw):
                return (400, "invalid id")
            with self._state:
                return handler(request, params)

        return run

    def _list(self, request: Request, params: Json) -> Answer:
        found = self.lists.get(request.match["id"] if request.match else "")
        if found is None:
            return (404, "The requested resource was not found.")
        fields = str(params.get("fields") or "all")
        answer = pick(found, fields.split(","), every=fields == "all")
        if str(params.get("board")).lower() == "true":
            board_fields = str(params.get("board_fields") or "all")
            answer["board"] = pick(self.board, board_fields.split(","), every=board_fields == "all")
        return (200, answer)

    def _cards(self, request: Request, params: Json) -> Answer:
        list_id = request.match["id"] if request.match else ""
        if list_id not in self.lists:
            return (404, "The requested resource was not found.")
        which = (
            (request.match["filter"] if request.match else None) or params.get("filter") or "open"
        )
        if which not in ("all", "open", "closed", "none"):
            return (400, "invalid value for filter")
        cards = [c for c in self.cards.values() if c["idList"] == list_id]
        cards = [c for c in cards if which == "all" or (which == "closed") == c["closed"]]
        fields = str(params.get("fields") or "all")
        return (
            200,
            [pick(c, fields.split(","), every=fields == "all") for c in cards if which != "none"],
        )

    def _create(self, request: Request, params: Json) -> Answer:
        if params.get("idList") not in self.lists:
            return (400, "invalid value for idList")
        problem = check(params)
        if problem:
            return (400, problem)
        card_id = self._oid()
        short = card_id[-8:]
        card = {
            "id": card_id,
            "name": "",
            "desc": "",
            "due": None,
            "dueComplete": False,
            "closed": False,
        }
        card |= {
            "idBoard": self.board["id"],
            "shortLink": short,
            "shortUrl": f"https://trello.com/c/{short}",
        }
        self.cards[card_id] = card
        apply(card, params)
        return (200, card)

    def _update(self, request: Request, params: Json) -> Answer:
        card = self.cards.get(request.match["id"] if request.match else "")
        if card is None:
            return (404, "The requested resource was not found.")
        if "idList" in params and params["idList"] not in self.lists:
            return (400, "invalid value for idList")
        problem = check(params)
        if problem:
            return (400, problem)
        apply(card, params)
        return (200, card)

    def _oid(self) -> str:
        """A new 24-hex-digit id, like Trello's (MongoDB ObjectIds)."""
        self._serial += 1
        return f"{self._serial:024x}"


def check(params: Json) -> str | None:
    for field in ("name", "desc"):
        if len(str(params.get(field) or "")) > 16_384:
            return f"invalid value for {field}"
    due = params.get("due")
    if due not in (None, ""):
        try:
            datetime.fromisoformat(str(due).replace("Z", "+00:00"))
        except ValueError:
            return "invalid date"
    for flag in ("closed", "dueComplete"):
        if flag in params and str(params[flag]).lower() not in ("true", "false"):
            return f"invalid value for {flag}"
    return None


def apply(card: Json, params: Json) -> None:
    for field in ("name", "desc", "idList"):
        if field in params:
            card[field] = str(params[field])
    if "due" in params:
        card["due"] = params["due"] or None
    for flag in ("closed", "dueComplete"):
        if flag in params:
            card[flag] = str(params[flag]).lower() == "true"


def pick(thing: Json, fields: list[str], *, every: bool) -> Json:
    """The fields asked for (``id`` always), as Trello's ``fields=`` does."""
    return dict(thing) if every else {k: v for k, v in thing.items() if k == "id" or k in fields}

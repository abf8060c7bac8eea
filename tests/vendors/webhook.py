"""A webhook receiver as the README tells one to write: it checks the signature and the
timestamp, and keeps each ``event_id`` once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from relay.connectors.targets.webhook import SIGNATURE_HEADER, verify

from ._server import Answer, FakeVendor, Request


class FakeWebhook(FakeVendor):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret.encode()
        self.events: dict[str, dict[str, Any]] = {}  # event_id -> event, first copy kept
        self.deliveries: list[str] = []  # event ids in arrival order, repeats included

    def routes(self) -> list[tuple[str, str, Callable[[Request], Answer]]]:
        return [("POST", r"/hook", self._hook)]

    def _hook(self, request: Request) -> Answer:
        header = request.headers.get(SIGNATURE_HEADER.lower(), "")
        if not verify(self.secret, request.body, header):
            return (401, {"error": "bad signature"})
        event = json.loads(request.body)
        if request.headers.get("idempotency-key") != event.get("event_id"):
            return (400, {"error": "Idempotency-Key is not the event_id"})
        self.deliveries.append(event["event_id"])
        self.events.setdefault(event["event_id"], event)
        return (200, {"received": event["event_id"]})

    def by_item(self) -> dict[str, list[dict[str, Any]]]:
        """Distinct events per item, in arrival order."""
        items: dict[str, list[dict[str, Any]]] = {}
        for event in self.events.values():
            items.setdefault(str(event.get("item_id")), []).append(event)
        return items

"""HubSpot CRM v3 as far as the connector uses it: records to read, notes and tasks to
create (with HUBSPOT_DEFINED associations), patch and search.

It checks what HubSpot checks: the bearer token on every request, the scopes a private
app was given (``missing_scopes`` takes some away: 403 ``MISSING_SCOPES``), the required
``hs_timestamp``, the task status values and each association's type id against the
record it points at (400 ``VALIDATION_ERROR``). Errors have HubSpot's shape:
``{"status": "error", "message", "correlationId", "category"}``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._server import Answer, FakeVendor, Request, bearer

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
ASSOCIATION_IDS = {
    ("notes", "contacts"): 202,
    ("notes", "companies"): 190,
    ("notes", "deals"): 214,
    ("tasks", "contacts"): 204,
    ("tasks", "companies"): 192,
    ("tasks", "deals"): 216,
}
TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")
UNAUTHENTICATED = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication."
)
MISSING_SCOPES = (
    "This app hasn't been granted all required scopes to make this call. "
    "Read more about required scopes here: https://developers.hubspot.com/scopes."
)
SCOPES_REQUIRED = "One or more of the following scopes are required."
Handler = Callable[[Request], Answer]


def error(status: int, message: str, category: str, **extra: Any) -> Answer:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4())}
    return (status, {**body, **extra, "category": category})


def missing_scope(scope: str) -> Answer:
    required = {"message": SCOPES_REQUIRED, "context": {"requiredGranularScopes": [scope]}}
    links = {"scopes": "https://developers.hubspot.com/scopes"}
    return error(403, MISSING_SCOPES, "MISSING_SCOPES", errors=[required], links=links)


def invalid(name: str, message: str, code: str = "INVALID_OPTION") -> Answer:
    problem = {"isValid": False, "message": message, "error": code, "name": name}
    return error(
        400, f"Property values were not valid: {json.dumps([problem])}", "VALIDATION_ERROR"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", re.sub(r"<[^>]*>", " ", text).lower())


@dataclass
class FakeHubSpot(FakeVendor):
    token: str = TOKEN
    records: dict[str, dict[str, dict[str, str]]] = field(
        default_factory=lambda: {
            "deals": {"123": {"dealname": "Acme renewal"}},
            "contacts": {"501": {"firstname": "Ada", "lastname": "Lovelace"}},
            "companies": {"77": {"name": "Acme", "domain": "acme.example"}},
        }
    )
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"notes": {}, "tasks": {}}
    )
    missing_scopes: set[str] = field(default_factory=set)

    def fail(
        self, status: int, *, times: int = 1, retry_after: float | None = None, body: Any = None
    ) -> None:
        """As the base class, with HubSpot's error shape unless ``body`` is given."""
        category = "RATE_LIMITS" if status == 429 else "ERROR"
        shape = body or error(status, f"fake {status}", category)[1]
        super().fail(status, times=times, retry_after=retry_after, body=shape)

    def routes(self) -> list[tuple[str, str, Handler]]:
        records = r"/crm/v3/objects/(?P<type>deals|contacts|companies)/(?P<id>\d+)"
        engagements = r"/crm/v3/objects/(?P<kind>notes|tasks)"
        write, read = "crm.objects.contacts.write", "crm.objects.contacts.read"
        table: list[tuple[str, str, Handler, str]] = [
            ("GET", records, self._read, ""),  # the record type's own read scope
            ("POST", engagements, self._create, write),
            ("PATCH", engagements + r"/(?P<id>\d+)", self._patch, write),
            ("POST", engagements + "/search", self._search, read),
        ]
        return [(m, p, self._guard(h, scope)) for m, p, h, scope in table]

    def _guard(self, handler: Handler, scope: str) -> Handler:
        def guarded(request: Request) -> Answer:
            if bearer(request, self.token) is not None:
                return error(401, UNAUTHENTICATED, "INVALID_AUTHENTICATION")
            assert request.match is not None
            needed = scope or f"crm.objects.{request.match['type']}.read"
            if needed in self.missing_scopes:
                return missing_scope(needed)
            return handler(request)

        return guarded

    def _read(self, request: Request) -> Answer:
        assert request.match is not None
        kind, record_id = request.match["type"], request.match["id"]
        record = self.records[kind].get(record_id)
        if record is None:
            return (404, None)  # HubSpot answers an unknown record id with an empty 404
        wanted = (request.arg("properties") or "").split(",")
        properties = {k: v for k, v in record.items() if k in wanted}
        return (200, self._shape(record_id, {**properties, "hs_object_id": record_id}, {}))

    def _create(self, request: Request) -> Answer:
        assert request.match is not None
        kind = request.match["kind"]
        body = request.json()
        properties: Any = body.get("properties") if isinstance(body, dict) else None
        problem = self._check(kind, properties) or self._check_associations(kind, body)
        if problem is not None:
            return problem
        object_id = self.new_id()
        stored: dict[str, Any] = {"properties": dict(properties)}
        stored["associations"] = body.get("associations") or []
        stored["createdAt"] = stored["updatedAt"] = _now()
        self.objects[kind][object_id] = stored
        return (201, self._shape(object_id, stored["properties"], stored))

    def _patch(self, request: Request) -> Answer:
        assert request.match is not None
        kind, object_id = request.match["kind"], request.match["id"]
        stored = self.objects[kind].get(object_id)
        if stored is None:
            return error(404, "resource not found", "OBJECT_NOT_FOUND")
        properties = request.json().get("properties")
        problem = self._check(kind, properties, stored["properties"])
        if problem is not None:
            return problem
        stored["properties"].update(properties)
        stored["updatedAt"] = _now()
        return (200, self._shape(object_id, stored["properties"], stored))

    def _search(self, request: Request) -> Answer:
        assert request.match is not None
        kind = request.match["kind"]
        query = request.json()
        groups = query.get("filterGroups") or [{"filters": []}]
        hits = [
            (object_id, stored)
            for object_id, stored in self.objects[kind].items()
            if any(all(self._matches(stored, f) for f in g["filters"]) for g in groups)
        ]
        wanted = query.get("properties") or []
        results = [
            self._shape(i, {k: v for k, v in s["properties"].items() if k in wanted}, s)
            for i, s in hits[: int(query.get("limit") or 10)]
        ]
        return (200, {"total": len(hits), "results": results})

    def _matches(self, stored: dict[str, Any], spec: dict[str, Any]) -> bool:
        value = str(stored["properties"].get(spec["propertyName"]) or "")
        if spec["operator"] == "CONTAINS_TOKEN":
            wanted = _tokens(str(spec["value"]))
            return bool(wanted) and all(t in _tokens(value) for t in wanted)
        if spec["operator"] == "EQ":
            return value == str(spec["value"])
        raise ValueError(f"the fake does not know the operator {spec['operator']}")

    def _check(
        self, kind: str, properties: Any, before: dict[str, Any] | None = None
    ) -> Answer | None:
        if not isinstance(properties, dict):
            return error(400, "Invalid input JSON: properties is required", "VALIDATION_ERROR")
        properties = {**(before or {}), **properties}
        if not properties.get("hs_timestamp"):
            return invalid("hs_timestamp", "hs_timestamp is required", "REQUIRED_FIELD")
        status = properties.get("hs_task_status")
        if kind == "tasks" and status is not None and status not in TASK_STATUSES:
            return invalid("hs_task_status", f"{status} was not one of the allowed options")
        return None

    def _check_associations(self, kind: str, body: dict[str, Any]) -> Answer | None:
        for association in body.get("associations") or []:
            to_id = str(association.get("to", {}).get("id"))
            record_type = next((t for t, ids in self.records.items() if to_id in ids), None)
            if record_type is None:
                return error(400, f"No object with id {to_id} to associate", "VALIDATION_ERROR")
            for spec in association.get("types") or [{}]:
                expected = ASSOCIATION_IDS[(kind, record_type)]
                if (
                    spec.get("associationCategory") != "HUBSPOT_DEFINED"
                    or spec.get("associationTypeId") != expected
                ):
                    return error(
                        400,
                        f"{spec.get('associationCategory')} {spec.get('associationTypeId')} is "
                        f"not a valid association type between {kind} and {record_type}",
                        "VALIDATION_ERROR",
                    )
        return None

    @staticmethod
    def _shape(
        object_id: str, properties: dict[str, Any], stored: dict[str, Any]
    ) -> dict[str, Any]:
        times = {k: stored.get(k, "2024-01-02T03:04:05.000Z") for k in ("createdAt", "updatedAt")}
        return {"id": object_id, "properties": properties, **times, "archived": False}

    def associations_of(self, kind: str, object_id: str) -> list[tuple[str, int]]:
        """(record id, association type id) pairs the object was created with."""
        return [
            (str(a["to"]["id"]), int(t["associationTypeId"]))
            for a in self.objects[kind][object_id]["associations"]
            for t in a["types"]
        ]

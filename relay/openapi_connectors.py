"""The connectors' part of the OpenAPI document (``relay/openapi.py`` merges it in)."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import error_responses

_JSON = "application/json"
_AUTH: list[dict[str, list[str]]] = [{"bearer": []}]
_REASONS = {
    400: "Bad request: the error says which field",
    401: "Missing, bad or expired token",
    403: "Not allowed for this role",
    404: "No such connector or transcript in your organization",
    409: "The connector's credential does not open with this relay's key",
    503: "Connectors are off: the relay has no MINUTA_CONNECTOR_KEY",
}


def _errors(*codes: int) -> dict[str, Any]:
    return error_responses(_REASONS, *codes)


def _ok(status: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {status: {"description": description, "content": {_JSON: {"schema": schema}}}}


def _path(name: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema}


_STR = {"type": "string"}
CONNECTOR: dict[str, Any] = {
    "type": "object",
    "required": ["connector_id", "target", "name", "destination", "send"],
    "properties": {
        "connector_id": _STR,
        "target": {
            "type": "string",
            "enum": ["hubspot", "pipedrive", "notion", "trello", "webhook"],
        },
        "name": _STR,
        "destination": {"type": "object"},
        "send": {"type": "string", "enum": ["note", "actions", "both"]},
        "include_transcript": {"type": "boolean"},
        "created_by": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
PUSH: dict[str, Any] = {
    "type": "object",
    "required": ["push_id", "connector_id", "transcript_id", "item", "state", "attempts"],
    "properties": {
        "push_id": {"type": "integer"},
        "connector_id": _STR,
        "transcript_id": _STR,
        "item": {"type": "string", "description": "note, or action:<action_id>"},
        "state": {"type": "string", "enum": ["queued", "sending", "sent", "failed", "dead"]},
        "attempts": {"type": "integer"},
        "last_error": {"type": ["string", "null"]},
        "external_id": {"type": ["string", "null"], "description": "the vendor's id"},
        "created_at": {"type": ["string", "null"]},
        "next_at": {"type": ["string", "null"]},
        "sent_at": {"type": ["string", "null"]},
    },
}

_NO_NUL = "^[^\\u0000]*$"
# Vendors' tokens are printable ASCII: a schema that allowed more would be no clearer.
_SECRET = {"type": "string", "pattern": "^[!-~]+$", "maxLength": 2000}
_HEX = "[0-9a-fA-F]"
# What each target's credential and destination must hold (its check_config, as a schema).
_SHAPES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "hubspot": (
        {"token": _SECRET},
        {
            "object_type": {"type": "string", "enum": ["deals", "contacts", "companies"]},
            "object_id": {"type": "string", "pattern": "^[1-9][0-9]{0,19}$"},
        },
    ),
    "pipedrive": (
        {"api_token": _SECRET},
        {"deal_id": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}},
    ),
    "notion": (
        {"token": _SECRET},
        {
            "database_id": {
                "type": "string",
                "pattern": f"^{_HEX}{{8}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{12}}$",
            },
            "title_property": {
                "type": "string",
                "maxLength": 200,
                "pattern": "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
            },
        },
    ),
    "trello": (
        {
            "key": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 2000},
            "token": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 2000},
        },
        {"list_id": {"type": "string", "pattern": f"^{_HEX}{{24}}$"}},
    ),
    "webhook": (
        {
            "url": {"type": "string", "pattern": "^https?://[^\\s\\u0000]+$", "maxLength": 2000},
            "secret": {"type": "string", "pattern": "^[^\\u0000]{16,2000}$"},
        },
        {},
    ),
}
_OPTIONAL = {"title_property"}


def _add(target: str) -> dict[str, Any]:
    credential, destination = _SHAPES[target]

    def fields(properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": [k for k in properties if k not in _OPTIONAL],
            "properties": properties,
            "additionalProperties": False,
        }

    return {
        "type": "object",
        "required": ["target", "credential"] + (["destination"] if destination else []),
        "properties": {
            "target": {"const": target},
            "name": {"type": "string", "maxLength": 200, "pattern": _NO_NUL},
            "credential": fields(credential),
            "destination": fields(destination),
            "send": CONNECTOR["properties"]["send"],
            "include_transcript": {"type": "boolean"},
        },
    }


_EXTERNAL_ID = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": _NO_NUL}
_DELAY = {"type": "number", "minimum": 0, "maximum": 86400}


def _done(outcome: str, **required: dict[str, Any]) -> dict[str, Any]:
    """The body of a claimed row's result: ``outcome`` and what it needs."""
    return {
        "type": "object",
        "required": ["attempt", "outcome", *required],
        "properties": {
            "attempt": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "outcome": {"const": outcome},
            "reason": {"type": "string", "maxLength": 2000, "pattern": _NO_NUL},
            **required,
        },
    }


PATHS: dict[str, Any] = {
    "/connectors": {
        "get": {
            "summary": "The organization's connectors (never their credentials); editors too",
            "security": _AUTH,
            "responses": {
                **_ok(
                    "200",
                    "The connectors",
                    {
                        "type": "object",
                        "required": ["connectors"],
                        "properties": {"connectors": {"type": "array", "items": CONNECTOR}},
                    },
                ),
                **_errors(401, 403),
            },
        },
        "post": {
            "summary": "Add a connector (admins); the credential is sealed with AES-GCM",
            "description": "The body's shape depends on the target; `destination` may also "
            "hold `base_url` (an https:// URL: a Pipedrive company domain, say).",
            "security": _AUTH,
            "requestBody": {
                "required": True,
                "content": {_JSON: {"schema": {"oneOf": [_add(t) for t in _SHAPES]}}},
            },
            "responses": {**_ok("201", "Added", CONNECTOR), **_errors(400, 401, 403, 503)},
        },
    },
    "/connectors/{connector_id}": {
        "delete": {
            "summary": "Remove a connector and its queued pushes (admins)",
            "security": _AUTH,
            "parameters": [_path("connector_id")],
            "responses": {"204": {"description": "Removed"}, **_errors(401, 403, 404)},
        }
    },
    "/connectors/{connector_id}/test": {
        "post": {
            "summary": "One harmless call to the vendor (admins): what is wrong, in plain words",
            "security": _AUTH,
            "parameters": [_path("connector_id")],
            "responses": {
                **_ok(
                    "200",
                    "ok, with what was found, or the vendor's refusal",
                    {
                        "type": "object",
                        "required": ["ok"],
                        "properties": {"ok": {"type": "boolean"}, "detail": _STR, "error": _STR},
                    },
                ),
                **_errors(401, 403, 404, 409, 503),
            },
        }
    },
    "/connectors/{target}/push": {
        "post": {
            "summary": "Queue a transcript's note and actions for a target (editors, admins)",
            "description": "202 once the outbox rows are committed; pushing again sends only "
            "what changed, and never duplicates at the vendor.",
            "security": _AUTH,
            "parameters": [_path("target")],
            "requestBody": {
                "required": True,
                "content": {
                    _JSON: {
                        "schema": {
                            "type": "object",
                            "required": ["transcript_id"],
                            "properties": {
                                "transcript_id": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": 128,
                                    "pattern": _NO_NUL,
                                },
                                "connector_id": {
                                    "type": "string",
                                    "maxLength": 64,
                                    "pattern": _NO_NUL,
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                **_ok(
                    "202",
                    "Queued",
                    {
                        "type": "object",
                        "required": ["connector_id", "pushes"],
                        "properties": {
                            "connector_id": _STR,
                            "pushes": {"type": "array", "items": PUSH},
                        },
                    },
                ),
                **_errors(400, 401, 403, 404, 503),
            },
        }
    },
    "/connectors/outbox/claim": {
        "post": {
            "summary": "Claim the organization's due pushes (admins: `minuta worker --dispatch`)",
            "description": "Each row is leased for `lease_s`; its credential is sealed "
            "(base64 AES-GCM), opened only by a dispatcher holding MINUTA_CONNECTOR_KEY.",
            "security": _AUTH,
            "requestBody": {
                "required": True,
                "content": {
                    _JSON: {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "limit": {"type": "integer", "minimum": 0, "maximum": 32},
                                "lease_s": {"type": "number", "minimum": 10, "maximum": 3600},
                            },
                        }
                    }
                },
            },
            "responses": {
                **_ok(
                    "200",
                    "The claimed rows",
                    {
                        "type": "object",
                        "required": ["claimed"],
                        "properties": {"claimed": {"type": "array", "items": {"type": "object"}}},
                    },
                ),
                **_errors(400, 401, 403),
            },
        }
    },
    "/connectors/outbox/{push_id}/done": {
        "post": {
            "summary": "What became of a claimed push (admins: `minuta worker --dispatch`)",
            "security": _AUTH,
            "parameters": [
                {
                    "name": "push_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    _JSON: {
                        "schema": {
                            "oneOf": [
                                _done("sent", external_id=_EXTERNAL_ID),
                                _done("retry", delay_s=_DELAY),
                                _done("failed"),
                                _done("dead"),
                            ]
                        }
                    }
                },
            },
            "responses": {
                **_ok(
                    "200",
                    "Whether the claim still held the row (false: its lease had run out)",
                    {
                        "type": "object",
                        "required": ["stored"],
                        "properties": {"stored": {"type": "boolean"}},
                    },
                ),
                **_errors(400, 401, 403, 404),
            },
        }
    },
    "/connectors/pushes": {
        "get": {
            "summary": "Each push's state: queued, sending, sent, failed (with the reason), dead",
            "security": _AUTH,
            "parameters": [
                {
                    "name": "transcript_id",
                    "in": "query",
                    "schema": {"type": "string", "pattern": _NO_NUL},
                }
            ],
            "responses": {
                **_ok(
                    "200",
                    "The pushes",
                    {
                        "type": "object",
                        "required": ["pushes"],
                        "properties": {"pushes": {"type": "array", "items": PUSH}},
                    },
                ),
                **_errors(400, 401, 403, 404),
            },
        }
    },
}

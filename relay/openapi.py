"""The relay's REST API as an OpenAPI 3.1 document, served at ``/openapi.json``.

Written by hand next to the routes it describes; a test checks that every route of the
app is here and nothing else is.

Example:
    >>> sorted(OPENAPI["paths"])[:3]
    ['/', '/auth/login', '/auth/refresh']
"""

from __future__ import annotations

from typing import Any

from engine import FORMATS

from .openapi_connectors import PATHS as CONNECTOR_PATHS
from .openapi_find import PATHS as FIND_PATHS
from .openapi_schemas import COMPONENTS, error_responses, ref

_JSON = "application/json"


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any] | None = None, status: str = "200") -> Any:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {_JSON: {"schema": schema}}
    return {status: response}


# Text fields hold no NUL: PostgreSQL cannot store one.
_NO_NUL = "^[^\\u0000]*$"


_REASONS = {
    400: "Bad request",
    401: "Missing, bad or expired token",
    403: "Not allowed for this role",
    404: "No such transcript in your organization",
    409: "The transcript_id is taken (here, elsewhere or by a deleted transcript)",
    413: "The body is too large",
    429: "Too many login attempts: wait for Retry-After seconds",
    503: "Too many logins at once: wait for Retry-After seconds",
}


def _errors(*codes: int) -> dict[str, Any]:
    return error_responses(_REASONS, *codes)


_ID = {
    "name": "transcript_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"},
}
_AUTH: list[dict[str, list[str]]] = [{"bearer": []}]

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Minuta relay",
        "version": "1",
        "description": (
            "REST API of the Minuta relay. Every call but login, refresh, health, metrics "
            "and this document takes `Authorization: Bearer <access_token>` and sees only "
            "its organization's transcripts. Live sync is a websocket at "
            "`/sync/{transcript_id}?token=<access_token>` (a recording agent adds "
            "`&client=agent`: its transcript is then `live`) speaking the y-websocket protocol, "
            "plus message type 100 (ACK: the relay's state vector once the sender's update "
            "is committed) and 101 (NOTICE: a UTF-8 line). Close codes: 4400 malformed or "
            "oversized frame, 4401 bad token, 4404 unknown, deleted or another "
            "organization's transcript, 1011 the relay could not store an update (retry later)."
        ),
    },
    "components": COMPONENTS,
    "paths": {
        "/": {
            "get": {
                "summary": "The web page",
                "responses": {
                    "200": {
                        "description": "HTML",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/static/{name}": {
            "get": {
                "summary": "The web page's script and styles",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "The file"},
                    "404": {"description": "No such file"},
                },
            }
        },
        "/healthz": {
            "get": {"summary": "Liveness", "responses": _ok("The relay is up", {"type": "object"})}
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (counts and latencies only, no content)",
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {"summary": "This document", "responses": _ok("OpenAPI 3.1", {"type": "object"})}
        },
        "/auth/login": {
            "post": {
                "summary": "Log in",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {
                            "username": {"type": "string", "maxLength": 128},
                            "password": {"type": "string", "maxLength": 1024},
                        },
                    }
                ),
                "responses": {
                    **_ok("Tokens", ref("Tokens")),
                    **_errors(400, 401, 413, 429, 503),
                },
            }
        },
        "/auth/refresh": {
            "post": {
                "summary": "New tokens from a refresh token",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["refresh_token"],
                        "properties": {"refresh_token": {"type": "string", "maxLength": 4096}},
                    }
                ),
                "responses": {**_ok("Tokens", ref("Tokens")), **_errors(400, 401, 413)},
            }
        },
        "/transcripts": {
            "post": {
                "summary": "Create a transcript (editors and admins)",
                "security": _AUTH,
                "requestBody": _body(
                    {
                        "type": "object",
                        "properties": {
                            "title": {"type": "string", "maxLength": 500, "pattern": _NO_NUL},
                            "language": {
                                "type": ["string", "null"],
                                "maxLength": 16,
                                "pattern": _NO_NUL,
                            },
                            "transcript_id": {
                                "type": "string",
                                "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
                                "description": "optional; an id never used before, here or "
                                "elsewhere",
                            },
                            "client_doc": {
                                "type": "boolean",
                                "description": "the client brings the doc, meta included "
                                "(an agent that started offline): the relay writes none",
                            },
                        },
                    }
                ),
                "responses": {
                    **_ok("Created", ref("Transcript"), "201"),
                    **_errors(400, 401, 403, 409),
                },
            },
            "get": {
                "summary": "The organization's transcripts, newest first",
                "security": _AUTH,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 2**31 - 1,
                            "default": 0,
                        },
                    },
                    {
                        "name": "q",
                        "in": "query",
                        "description": "Only titles that contain this (case-insensitive)",
                        "schema": {"type": "string", "maxLength": 200},
                    },
                ],
                "responses": {**_ok("A page", ref("TranscriptPage")), **_errors(400, 401)},
            },
        },
        "/transcripts/{transcript_id}": {
            "get": {
                "summary": "One transcript's metadata (from the SQL snapshot)",
                "security": _AUTH,
                "parameters": [_ID],
                "responses": {**_ok("The transcript", ref("Transcript")), **_errors(401, 404)},
            },
            "patch": {
                "summary": "Set the vocabulary: names and jargon the ASR should expect (editors "
                "and admins; at most 100 terms of 60 characters), and how long the transcript "
                "is kept (admins; null: its org's period)",
                "security": _AUTH,
                "parameters": [_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "minProperties": 1,
                                "additionalProperties": False,
                                "properties": {
                                    "vocabulary": {"type": "array", "items": {"type": "string"}},
                                    "retention_days": {
                                        "type": ["integer", "null"],
                                        "minimum": 0,
                                        "maximum": 36500,
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    **_ok(
                        "What was set (the vocabulary trimmed, without repeats)",
                        {
                            "type": "object",
                            "properties": {
                                "transcript_id": {"type": "string"},
                                "vocabulary": {"type": "array", "items": {"type": "string"}},
                                "retention_days": {"type": ["integer", "null"]},
                            },
                        },
                    ),
                    **_errors(400, 401, 403, 404),
                },
            },
            "delete": {
                "summary": "Delete a transcript, its stored updates, search entries and audio (admins)",
                "security": _AUTH,
                "parameters": [_ID],
                "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)},
            },
        },
        "/transcripts/{transcript_id}/summary": {
            "get": {
                "summary": "The summary, from the merged doc",
                "security": _AUTH,
                "parameters": [_ID],
                "responses": {**_ok("The summary", ref("Summary")), **_errors(401, 404)},
            },
            "post": {
                "summary": "Run the summary and action workers now (editors and admins)",
                "security": _AUTH,
                "parameters": [_ID],
                "responses": {
                    **_ok("The new summary", ref("Summary")),
                    **_errors(401, 403, 404),
                },
            },
        },
        "/transcripts/{transcript_id}/actions": {
            "get": {
                "summary": "The action items, from the merged doc",
                "security": _AUTH,
                "parameters": [_ID],
                "responses": {
                    **_ok("The actions", {"type": "array", "items": ref("Action")}),
                    **_errors(401, 404),
                },
            }
        },
        "/transcripts/{transcript_id}/export": {
            "get": {
                "summary": "Export the merged doc",
                "security": _AUTH,
                "parameters": [
                    _ID,
                    {
                        "name": "fmt",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(FORMATS), "default": "md"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The file (Content-Disposition: attachment)",
                        "content": {
                            media: {"schema": {"type": "string"}}
                            for media in (
                                "text/markdown",
                                "application/x-subrip",
                                "text/vtt",
                                "application/json",
                            )
                        },
                    },
                    **_errors(400, 401, 404),
                },
            }
        },
    },
}
OPENAPI["paths"].update(CONNECTOR_PATHS)
OPENAPI["paths"].update(FIND_PATHS)
OPENAPI["paths"]["/transcripts/{transcript_id}/lease"] = {
    "post": {
        "summary": "Take or renew a job's lease on a transcript (`minuta worker`)",
        "description": "One process at a time runs a job on a transcript, however many "
        "relays and worker processes share the database; a lapsed lease is anyone's.",
        "security": _AUTH,
        "parameters": [_ID],
        "requestBody": _body(
            {
                "type": "object",
                "required": ["job", "holder"],
                "properties": {
                    "job": {"type": "string", "enum": ["workers"]},
                    "holder": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 64,
                        "pattern": _NO_NUL,
                    },
                    "ttl_s": {"type": "number", "minimum": 5, "maximum": 600},
                },
            }
        ),
        "responses": {
            **_ok(
                "Whether the caller holds the lease now",
                {
                    "type": "object",
                    "required": ["granted"],
                    "properties": {"granted": {"type": "boolean"}},
                },
            ),
            **_errors(400, 401, 403, 404),
        },
    }
}

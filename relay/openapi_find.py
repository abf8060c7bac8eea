"""The OpenAPI part for search, uploaded audio and retention (``relay/openapi.py`` merges
it in)."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import error_responses

_JSON = "application/json"
_AUTH: list[dict[str, list[str]]] = [{"bearer": []}]
_REASONS = {
    400: "Bad request: the error says which field",
    401: "Missing, bad or expired token",
    403: "Not allowed for this role",
    404: "No such transcript in your organization (or it has no audio)",
    409: "Not where the upload stands, or another upload: `received` says where it is",
    413: "Over the size limit",
    503: "This relay keeps no audio",
}
_ID = {"name": "transcript_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _errors(*codes: int) -> dict[str, Any]:
    return error_responses(_REASONS, *codes)


def _query(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> Any:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema}  # fmt: skip


_NULLABLE_STR = {"type": ["string", "null"]}
HIT: dict[str, Any] = {
    "type": "object",
    "required": ["transcript_id", "segment_id", "t0", "snippet", "highlights", "rank"],
    "properties": {
        "transcript_id": {"type": "string"},
        "title": {"type": "string"},
        "started_at": _NULLABLE_STR,
        "segment_id": {"type": "string"},
        "t0": {"type": "number"},
        "t1": {"type": "number"},
        "speaker": _NULLABLE_STR,
        "snippet": {"type": "string", "description": "plain text, never HTML"},
        "highlights": {
            "type": "array",
            "description": "[start, end) of each match in snippet, in UTF-16 code units",
            "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        },
        "rank": {"type": "number"},
    },
}
UPLOAD: dict[str, Any] = {
    "type": "object",
    "required": ["received", "size", "sha256", "complete"],
    "properties": {
        "received": {"type": "integer"},
        "size": {"type": ["integer", "null"]},
        "sha256": _NULLABLE_STR,
        "complete": {"type": "boolean"},
    },
}
_DATE = {
    "type": "string",
    "format": "date",
    "description": "YYYY-MM-DD (to: the whole day); an ISO 8601 time is taken too",
}
# Some letter or digit to find, and no NUL (which no database stores).
_QUERY = {"type": "string", "maxLength": 200, "pattern": "^[^\\u0000]*[0-9A-Za-z][^\\u0000]*$"}
_NO_NUL = {"type": "string", "maxLength": 200, "pattern": "^[^\\u0000]*$"}

PATHS: dict[str, Any] = {
    "/search": {
        "get": {
            "summary": "Search the text of every transcript of your organization",
            "description": "Every word must match, as a word or its start, case and accents "
            "folded; best first. Up to 1,000 matches are ranked.",
            "security": _AUTH,
            "parameters": [
                _query("q", "the words to find", _QUERY, required=True),
                _query("speaker", "only this speaker (any case)", _NO_NUL),
                _query("from", "transcripts created from", _DATE),
                _query("to", "transcripts created up to", _DATE),
                _query("limit", "hits per page", {"type": "integer", "minimum": 1, "maximum": 100}),
                _query(
                    "offset",
                    "hits to skip",
                    {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                ),
            ],
            "responses": {
                "200": {
                    "description": "One page of hits",
                    "content": {
                        _JSON: {
                            "schema": {
                                "type": "object",
                                "required": ["items", "limit", "offset", "next_offset"],
                                "properties": {
                                    "items": {"type": "array", "items": HIT},
                                    "limit": {"type": "integer"},
                                    "offset": {"type": "integer"},
                                    "next_offset": {"type": ["integer", "null"]},
                                },
                            }
                        }
                    },
                },
                **_errors(400, 401),
            },
        }
    },
    "/transcripts/{transcript_id}/audio": {
        "get": {
            "summary": "The transcript's uploaded audio (Ogg/Opus; Range requests for seeking)",
            "security": _AUTH,
            "parameters": [_ID],
            "responses": {
                "200": {"description": "The file", "content": {"audio/ogg": {}}},
                "206": {"description": "The range asked for", "content": {"audio/ogg": {}}},
                **_errors(401, 404, 503),
            },
        }
    },
    "/transcripts/{transcript_id}/audio/upload": {
        "get": {
            "summary": "Where the audio's upload stands",
            "security": _AUTH,
            "parameters": [_ID],
            "responses": {
                "200": {"description": "The upload", "content": {_JSON: {"schema": UPLOAD}}},
                **_errors(401, 404, 503),
            },
        },
        "put": {
            "summary": "Send the next piece of the audio (at most 1 MiB; editors and admins)",
            "description": "Resumable and idempotent: `offset` must be what the relay has "
            "received. The last piece completes it (its SHA-256 checked) and sets the doc's "
            "meta `upload_audio`.",
            "security": _AUTH,
            "parameters": [
                _ID,
                _query(
                    "offset",
                    "where this piece goes",
                    {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    required=True,
                ),
                _query(
                    "size",
                    "the whole file's bytes (over 1 GiB: 413)",
                    {"type": "integer", "minimum": 1, "maximum": 2**40},
                    required=True,
                ),
                _query(
                    "sha256",
                    "the whole file's SHA-256, hex",
                    {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                    required=True,
                ),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
            "responses": {
                "200": {"description": "The upload", "content": {_JSON: {"schema": UPLOAD}}},
                **_errors(400, 401, 403, 404, 409, 413, 503),
            },
        },
    },
}

"""The schemas of the relay's OpenAPI document (``relay/openapi.py``): what its bodies and
answers hold."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    """A reference to one of these schemas."""
    return {"$ref": f"#/components/schemas/{name}"}


def error_responses(reasons: dict[int, str], *codes: int) -> dict[str, Any]:
    """The responses for these error ``codes``, each an ``Error`` with its reason."""
    return {
        str(code): {
            "description": reasons[code],
            "content": {"application/json": {"schema": ref("Error")}},
        }
        for code in codes
    }


COMPONENTS: dict[str, Any] = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
        "Tokens": {
            "type": "object",
            "required": ["access_token", "refresh_token"],
            "properties": {
                "access_token": {"type": "string", "description": "valid 15 minutes"},
                "refresh_token": {"type": "string", "description": "valid 24 hours"},
            },
        },
        "Transcript": {
            "type": "object",
            "required": ["transcript_id", "org_id", "title"],
            "properties": {
                "transcript_id": {"type": "string"},
                "org_id": {"type": "string"},
                "title": {"type": "string"},
                "language": {"type": ["string", "null"]},
                "started_at": {
                    "type": ["string", "null"],
                    "description": "ISO 8601, as the recording agent wrote it in the doc",
                },
                "segment_count": {"type": "integer"},
                "duration_s": {"type": "number"},
                "created_by": {"type": ["string", "null"]},
                "audio": {"type": "boolean", "description": "uploaded audio (GET one only)"},
                "retention_days": {"type": "integer", "description": "in force (GET one)"},
                "expires_at": {"type": ["string", "null"], "format": "date-time"},
                "created_at": {"type": ["string", "null"], "format": "date-time"},
                "updated_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "the last SQL snapshot of its doc",
                },
                "live": {
                    "type": "boolean",
                    "description": "a recording agent is connected to it now "
                    "(in the list and GET of one transcript)",
                },
            },
        },
        "TranscriptPage": {
            "type": "object",
            "required": ["items", "limit", "offset", "total", "next_offset"],
            "properties": {
                "items": {"type": "array", "items": ref("Transcript")},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
                "total": {"type": "integer"},
                "next_offset": {"type": ["integer", "null"]},
            },
        },
        "Summary": {
            "type": "object",
            "properties": {
                "bullets": {"type": "array", "items": {"type": "string"}},
                "risks": {"type": "array", "items": {"type": "string"}},
                "topics": {"type": "array", "items": {"type": "string"}},
                "updated_at": {"type": "string"},
                "model": {"type": "string"},
            },
        },
        "Action": {
            "type": "object",
            "properties": {
                "action_id": {"type": "string"},
                "text": {"type": "string"},
                "owner": {"type": ["string", "null"]},
                "due": {"type": ["string", "null"], "format": "date"},
                "status": {"type": "string", "enum": ["open", "done", "dismissed"]},
                "conf": {"type": "number"},
                "segment_ids": {"type": "array", "items": {"type": "string"}},
                "origin": {"type": "string"},
            },
        },
    },
}

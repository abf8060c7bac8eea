"""A signed webhook: a JSON body to a URL of the org's choosing.

The receiver checks ``Minuta-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 of ``"<t>.<body>"`` under the connector's secret (the scheme Stripe and others
use): the timestamp is inside what is signed, so a captured request cannot be replayed
later than the receiver's tolerance (see :func:`verify`). Each event carries a stable
``event_id`` (also sent as ``Idempotency-Key``): a retry, or the same item pushed again
unchanged, has the same id, and a receiver that remembers ids sees each event once.
An edited item is a new event with the same ``item_id``.

Example:
    >>> body = b'{"event_id": "e1"}'
    >>> header = sign(b"s3cret", body, now=1700000000)
    >>> header.startswith('t=1700000000,v1=')
    True
    >>> verify(b"s3cret", body, header, now=1700000100)
    True
    >>> verify(b"s3cret", body, header, now=1700000000 + 301)  # too old: a replay
    False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from ._base import Note, TargetName, Task, request

SIGNATURE_HEADER = "Minuta-Signature"
TOLERANCE_S = 300


def sign(secret: bytes, body: bytes, *, now: float | None = None) -> str:
    t = int(time.time() if now is None else now)
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(
    secret: bytes,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> bool:
    """What a receiver does: the signature matches and is at most ``tolerance_s`` old."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - t) > tolerance_s:
        return False
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


class Webhook:
    name: TargetName = "webhook"
    needs_note = False

    def check_config(self, credential: Mapping[str, Any], destination: Mapping[str, Any]) -> None:
        url = credential.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("a webhook needs credential.url, an http(s) URL")
        secret = credential.get("secret")
        if not isinstance(secret, str) or len(secret) < 16:
            raise ValueError("a webhook needs credential.secret, at least 16 characters")

    async def test(
        self, http: httpx.AsyncClient, credential: Mapping[str, Any], destination: Mapping[str, Any]
    ) -> str:
        event: dict[str, Any] = {"type": "test", "at": int(time.time())}
        await self._send(http, credential, event, "test")
        return f"{urlsplit(str(credential['url'])).netloc} accepted a test event"

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
        event: dict[str, Any] = {
            "type": "note",
            "item_id": "note",
            "transcript_id": note.transcript_id,
            "title": note.title,
            "started_at": note.started_at,
            "language": note.language,
            "participants": note.participants,
            "context": note.context,
            "needs": note.needs,
            "next_steps": note.next_steps,
            "text": note.plain_text(),
        }
        if note.transcript is not None:
            event["transcript"] = note.transcript
        return await self._send(http, credential, event, marker)

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
        event: dict[str, Any] = {
            "type": "action",
            "item_id": task.action_id,
            "transcript_id": task.transcript_id,
            "meeting_title": task.meeting_title,
            "text": task.text,
            "owner": task.owner,
            "due": task.due,
            "status": task.status,
        }
        return await self._send(http, credential, event, marker)

    async def find(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        destination: Mapping[str, Any],
        *,
        kind: Literal["note", "task"],
        marker: str,
    ) -> str | None:
        return None  # a retry sends the same event_id: the receiver deduplicates

    async def _send(
        self,
        http: httpx.AsyncClient,
        credential: Mapping[str, Any],
        event: dict[str, Any],
        marker: str,
    ) -> str:
        """Sign and post one event; returns its ``event_id``, which depends only on the
        item and its content (the same push retried is the same event)."""
        content = json.dumps(event, ensure_ascii=False, sort_keys=True).encode()
        event_id = hashlib.sha256(marker.encode() + b"\0" + content).hexdigest()[:32]
        body = json.dumps({"event_id": event_id, **event}, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(str(credential["secret"]).encode(), body),
            "Idempotency-Key": event_id,
            "User-Agent": "minuta-connector/1",
        }
        await request(http, "POST", str(credential["url"]), content=body, headers=headers)
        return event_id


TARGET = Webhook()

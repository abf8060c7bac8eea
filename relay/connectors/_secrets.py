"""Connector credentials, encrypted at rest with AES-GCM.

The key is 32 bytes from the environment (``MINUTA_CONNECTOR_KEY``, base64), never from
the database: a copy of the database alone reveals no token. Each credential is sealed
with a fresh 12-byte nonce and bound to its connector and org (the AAD), so a sealed value
copied onto another connector's row does not open.

Example:
    >>> box = SecretBox(bytes(32))
    >>> sealed = box.seal({"token": "pat-123"}, connector_id="c1", org_id="acme")
    >>> box.open(sealed, connector_id="c1", org_id="acme")
    {'token': 'pat-123'}
    >>> box.open(sealed, connector_id="c2", org_id="acme")
    Traceback (most recent call last):
    ...
    relay.connectors._secrets.SecretError: the credential of connector c2 does not open with this key
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ENV = "MINUTA_CONNECTOR_KEY"


class SecretError(Exception):
    """No key, a malformed key, or a credential that does not open with it."""


def new_key() -> str:
    """A fresh key, as ``MINUTA_CONNECTOR_KEY`` wants it."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretError(f"{KEY_ENV} must be 32 bytes (base64), got {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SecretBox:
        value = (environ if environ is not None else os.environ).get(KEY_ENV, "").strip()
        if not value:
            raise SecretError(
                f"connectors need {KEY_ENV}: a 32-byte key, base64 "
                "(make one with `minuta connectors key`)"
            )
        try:
            key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            raise SecretError(f"{KEY_ENV} is not base64") from None
        return cls(key)

    def seal(self, credential: Mapping[str, Any], *, connector_id: str, org_id: str) -> bytes:
        nonce = os.urandom(12)
        plain = json.dumps(dict(credential)).encode()
        return nonce + self._aead.encrypt(nonce, plain, _aad(connector_id, org_id))

    def open(self, sealed: bytes, *, connector_id: str, org_id: str) -> dict[str, Any]:
        try:
            plain = self._aead.decrypt(sealed[:12], sealed[12:], _aad(connector_id, org_id))
        except (InvalidTag, ValueError):
            raise SecretError(
                f"the credential of connector {connector_id} does not open with this key"
            ) from None
        value = json.loads(plain)
        return dict(value) if isinstance(value, dict) else {}


def _aad(connector_id: str, org_id: str) -> bytes:
    return f"minuta-connector\0{org_id}\0{connector_id}".encode()

"""JWT access and refresh tokens, scoped to one org.

An access token (15 minutes) authorizes REST calls and websocket connections; a refresh
token (24 hours) only buys a new pair at ``POST /auth/refresh``. Both are HS256-signed
with the relay's ``JWT_SECRET``.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
import jwt.types

Kind = Literal["access", "refresh"]
ISSUER = "minuta-relay"
# HS256 keys shorter than this are guessable; refuse them outside --dev.
MIN_SECRET_LENGTH = 32


class TokenError(Exception):
    """A token that must be refused. ``reason`` is ``missing``, ``expired`` or ``invalid``."""

    def __init__(self, reason: Literal["missing", "expired", "invalid"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TokenConfig:
    """How tokens are signed and how long they last."""

    secret: str
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Claims:
    username: str
    org_id: str
    role: str
    kind: Kind
    expires_at: datetime

    def seconds_left(self, now: datetime | None = None) -> float:
        """Until the token expires (0.0 once it has)."""
        return max(0.0, (self.expires_at - (now or datetime.now(UTC))).total_seconds())


def resolve_secret(secret: str | None, *, dev: bool) -> str:
    """The signing secret, or a clear refusal; ``--dev`` gets a random one per process.

    Example:
        >>> len(resolve_secret(None, dev=True)) >= MIN_SECRET_LENGTH
        True
    """
    if secret and len(secret) >= MIN_SECRET_LENGTH:
        return secret
    if dev:
        return secrets.token_urlsafe(48)
    if not secret:
        raise ValueError("JWT_SECRET is not set: set a random secret (or run with --dev)")
    raise ValueError(f"JWT_SECRET is too short: use at least {MIN_SECRET_LENGTH} characters")


def issue_pair(
    config: TokenConfig, *, username: str, org_id: str, role: str, now: datetime | None = None
) -> dict[str, Any]:
    """``{"access_token", "refresh_token", "token_type", "expires_in"}`` for a user.

    Example:
        >>> pair = issue_pair(TokenConfig("s" * 32), username="ana", org_id="acme", role="editor")
        >>> verify(TokenConfig("s" * 32), pair["access_token"]).org_id
        'acme'
    """
    now = now or datetime.now(UTC)
    return {
        "access_token": _encode(config, username, org_id, role, "access", now),
        "refresh_token": _encode(config, username, org_id, role, "refresh", now),
        "token_type": "Bearer",
        "expires_in": int(config.access_ttl.total_seconds()),
    }


def _encode(
    config: TokenConfig, username: str, org_id: str, role: str, kind: Kind, now: datetime
) -> str:
    ttl = config.access_ttl if kind == "access" else config.refresh_ttl
    payload = {
        "iss": ISSUER,
        "sub": username,
        "org": org_id,
        "role": role,
        "typ": kind,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, config.secret, algorithm="HS256")


def verify(
    config: TokenConfig, token: str | None, kind: Kind = "access", now: datetime | None = None
) -> Claims:
    """The claims of a valid token of ``kind``.

    Raises:
        TokenError: missing, expired, badly signed, or of the other kind.
    """
    if not token:
        raise TokenError("missing", "no token")
    options: jwt.types.Options = {"require": ["exp", "iat", "sub", "org", "role", "typ"]}
    if now is not None:  # the caller's clock: time claims are checked against it below
        options["verify_exp"] = False
        options["verify_iat"] = False
    try:
        payload = jwt.decode(
            token,
            config.secret,
            algorithms=["HS256"],
            issuer=ISSUER,
            options=options,
            leeway=0,
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("expired", "the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError("invalid", f"invalid token: {exc}") from None
    expires_at = datetime.fromtimestamp(payload["exp"], UTC)
    if now is not None and now >= expires_at:
        raise TokenError("expired", "the token has expired")
    if now is not None and datetime.fromtimestamp(payload["iat"], UTC) > now:
        raise TokenError("invalid", "the token is not yet valid (iat)")
    if payload["typ"] != kind:
        raise TokenError("invalid", f"a {payload['typ']} token cannot be used here")
    return Claims(payload["sub"], payload["org"], payload["role"], kind, expires_at)

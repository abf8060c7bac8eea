"""``POST /auth/login`` and ``POST /auth/refresh``: what the routes do, off the route.

A login reads the user, then runs one Argon2id verification in a worker thread, at most
``concurrent_hashes`` at a time; an unknown or disabled user is verified against a dummy
hash, so both cost the same as a wrong password. A refresh reads the user again: a
disabled account gets nothing, and a changed role is the one in the new tokens.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

import anyio
from quart import Request
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from ..db import User
from ._login_limits import LoginLimiter, LoginLimits, TooManyAttempts
from ._passwords import dummy_hash, verify_password
from ._tokens import Claims, TokenConfig, TokenError, issue_pair, verify

# A refresh token is ~400 characters; anything far longer is not one.
MAX_TOKEN_CHARS = 4096

Audit = Callable[..., None]  # the app's audit(action, claims, transcript_id=None, **detail)


class AuthError(Exception):
    """A refused login or refresh: the HTTP status, and Retry-After when there is one."""

    def __init__(self, status: int, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        if self.retry_after_s is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after_s)))}


async def read_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The request's body as a JSON object; one over ``max_bytes`` is not read at all.

    Raises:
        AuthError: 413 (too large), 400 (not a JSON object).
    """
    if (request.content_length or 0) > max_bytes:
        raise AuthError(413, f"the body is limited to {max_bytes} bytes")
    try:
        data = await request.get_data(cache=False)
    except RequestEntityTooLarge:  # chunked, past the app's own limit
        raise AuthError(413, f"the body is limited to {max_bytes} bytes") from None
    return parse_object(data, max_bytes)


def parse_object(data: bytes | str, max_bytes: int) -> dict[str, Any]:
    """``data`` as a JSON object, or an AuthError (400, or 413 over ``max_bytes``).

    Example:
        >>> parse_object(b'{"a": 1}', 100)
        {'a': 1}
    """
    if len(data) > max_bytes:
        raise AuthError(413, f"the body is limited to {max_bytes} bytes")
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise AuthError(400, "send a JSON object")
    return body


def _field(body: dict[str, Any], name: str, max_chars: int) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise AuthError(400, f"{name} must be a string")
    if len(value) > max_chars:
        raise AuthError(400, f"{name} is too long (at most {max_chars} characters)")
    return value


def _verify(stored: str | None, password: str) -> bool:
    """Verify against the user's hash, or the dummy one (an unknown user costs the same)."""
    return verify_password(dummy_hash() if stored is None else stored, password)


class LoginGate:
    """Logins with their limits, and refreshes that re-read the user."""

    def __init__(
        self,
        engine: Engine,
        tokens: TokenConfig,
        audit: Audit,
        limits: LoginLimits | None = None,
        limiter: LoginLimiter | None = None,
    ) -> None:
        self.engine = engine
        self.tokens = tokens
        self.audit = audit
        self.limits = limits or LoginLimits()
        self.limiter = limiter or LoginLimiter(self.limits)
        self._hashes: anyio.CapacityLimiter | None = None  # made in the event loop
        self._hashing = 0  # verifications running or waiting
        # Made now, off the loop: made at the first unknown username, it would make that
        # answer slower than any other.
        threading.Thread(target=dummy_hash, name="dummy-hash", daemon=True).start()

    async def login(self, body: dict[str, Any], address: str) -> dict[str, Any]:
        """A token pair for good credentials; audits the outcome.

        Raises:
            AuthError: 400 (a bad field), 401 (wrong), 429 (locked), 503 (busy).
        """
        try:
            username = _field(body, "username", self.limits.max_username_chars)
            password = _field(body, "password", self.limits.max_password_chars)
        except AuthError:
            await self._audit_reject(address, reason="malformed login")
            raise
        try:
            self.limiter.begin(username, address)
        except TooManyAttempts as exc:
            await self._audit_reject(address, reason="too many attempts", username=username)
            raise AuthError(exc.status, str(exc), exc.retry_after_s) from None
        try:
            user = await self._check(username, password)
        except BaseException:  # busy, or cancelled: neither a mistake nor a success
            self.limiter.cancel(username, address)
            raise
        self.limiter.end(username, address, ok=user is not None)
        if user is None:
            await self._audit_reject(address, reason="bad login", username=username)
            raise AuthError(401, "wrong username or password")
        pair = self._pair(user)
        await anyio.to_thread.run_sync(
            lambda: self.audit("login", verify(self.tokens, pair["access_token"]))
        )
        return pair

    async def refresh(self, body: dict[str, Any], address: str) -> dict[str, Any]:
        """A new pair for a refresh token whose user is still there and enabled.

        Raises:
            AuthError: 400 (no string token), 401 (a bad token, or a disabled user).
        """
        token = _field(body, "refresh_token", MAX_TOKEN_CHARS)
        try:
            claims = verify(self.tokens, token, kind="refresh")
        except TokenError as exc:
            raise AuthError(401, str(exc)) from None
        user = await anyio.to_thread.run_sync(self._current, claims)
        if isinstance(user, str):
            await self._audit_reject(address, reason=f"refresh: {user}", username=claims.username)
            raise AuthError(401, f"this account {user}: sign in again")
        return self._pair(user)

    def _pair(self, user: dict[str, str]) -> dict[str, Any]:
        return issue_pair(
            self.tokens, username=user["username"], org_id=user["org_id"], role=user["role"]
        )

    async def _check(self, username: str, password: str) -> dict[str, str] | None:
        if self._hashes is None:
            self._hashes = anyio.CapacityLimiter(self.limits.concurrent_hashes)
        if self._hashing >= self.limits.concurrent_hashes + self.limits.max_waiting_hashes:
            raise AuthError(503, "too many logins at once: try again shortly", 1.0)
        self._hashing += 1
        try:
            found = await anyio.to_thread.run_sync(self._find, username)
            stored, user = found if found is not None else (None, None)
            # Off the event loop, and one (or a few) at a time: Argon2 is meant to be slow.
            good = await anyio.to_thread.run_sync(_verify, stored, password, limiter=self._hashes)
        finally:
            self._hashing -= 1
        return user if good else None

    def _find(self, username: str) -> tuple[str, dict[str, str] | None] | None:
        """The hash to verify against, and the user it would sign in (None: disabled)."""
        if "\x00" in username:  # no account has one, and PostgreSQL refuses it in text
            return None
        with Session(self.engine) as session:
            row = session.scalars(select(User).filter_by(username=username)).first()
            if row is None:
                return None
            user = {"username": row.username, "org_id": row.org_id, "role": row.role}
            return row.password_hash, None if row.disabled else user

    def _current(self, claims: Claims) -> dict[str, str] | str:
        """The user as stored now, or why the refresh is refused."""
        with Session(self.engine) as session:
            row = session.scalars(select(User).filter_by(username=claims.username)).first()
            if row is None or row.org_id != claims.org_id:
                return "no longer exists"
            if row.disabled:
                return "is disabled"
            return {"username": row.username, "org_id": row.org_id, "role": row.role}

    async def _audit_reject(self, address: str, **detail: Any) -> None:
        # Bounded: a script in a loop must not fill audit_events.
        if self.limiter.may_audit(address):
            await anyio.to_thread.run_sync(lambda: self.audit("reject", None, **detail))

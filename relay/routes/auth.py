"""Login and token refresh (the rules are :class:`relay.auth.LoginGate`'s)."""

from __future__ import annotations

from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue

from ..auth import AuthError, read_object
from ._context import RouteContext


def register(app: Quart, ctx: RouteContext) -> None:
    config = ctx.config
    metrics = ctx.metrics
    logins = ctx.logins

    @app.post("/auth/login")
    async def login() -> ResponseReturnValue:
        body = await read_object(request, config.login.max_body_bytes)
        return jsonify(await logins.login(body, request.remote_addr or "?"))

    @app.post("/auth/refresh")
    async def refresh() -> ResponseReturnValue:
        body = await read_object(request, config.login.max_body_bytes)
        return jsonify(await logins.refresh(body, request.remote_addr or "?"))

    @app.errorhandler(AuthError)
    async def auth_error(exc: AuthError) -> ResponseReturnValue:
        if exc.status in (429, 503):
            metrics.rejected.labels("login_rate").inc()
        return jsonify({"error": str(exc)}), exc.status, exc.headers()

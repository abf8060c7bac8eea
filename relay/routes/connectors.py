"""Connectors: admins configure an org's targets; editors push a transcript's note and
actions to them and watch each push's state.

A push answers ``202`` once its outbox rows are committed; the dispatcher sends them.
Credentials go in and never come out: no answer and no log line holds one.
"""

from __future__ import annotations

from typing import Any

from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue

from ..auth import Claims
from ..connectors import (
    ConnectorError,
    ConnectorSpec,
    Dispatcher,
    SecretError,
    TargetError,
    _claims,
    add_connector,
    enqueue,
    list_connectors,
    open_connector,
    pick_connector,
    pushes,
    remove_connector,
    target_of,
)
from ..connectors.targets._base import vendor_client
from ..errors import ApiError
from ..inputs import MAX_INT_ARG, integer, json_object, number, storable, text_field
from ..reading import read_part
from ._context import RouteContext


def register(app: Quart, ctx: RouteContext) -> None:
    run_db = ctx.run_db
    engine = ctx.engine

    def dispatcher() -> Dispatcher:
        if ctx.services.dispatcher is None:
            raise ApiError(
                503, "connectors are off on this relay: start it with MINUTA_CONNECTOR_KEY set"
            )
        return ctx.services.dispatcher

    def member(*roles: str) -> Claims:
        claims = ctx.bearer()
        if claims.role not in roles:
            raise ApiError(403, f"connectors need the role {' or '.join(roles)}")
        return claims

    @app.get("/connectors")
    async def get_connectors() -> ResponseReturnValue:
        claims = member("admin", "editor")
        return jsonify({"connectors": await run_db(list_connectors, engine, claims.org_id)})

    @app.post("/connectors")
    async def post_connector() -> ResponseReturnValue:
        claims = member("admin")
        box = dispatcher().box
        spec = _spec(json_object(await request.get_json(silent=True)))
        try:
            row = await run_db(
                add_connector, engine, box, claims.org_id, spec, created_by=claims.username
            )
        except ConnectorError as exc:
            raise ApiError(400, str(exc)) from None
        await run_db(
            ctx.audit, "connector_add", claims, None, connector_id=row["connector_id"],
            target=row["target"],
        )  # fmt: skip
        return jsonify(row), 201

    @app.delete("/connectors/<connector_id>")
    async def delete_connector(connector_id: str) -> ResponseReturnValue:
        claims = member("admin")
        if not await run_db(remove_connector, engine, claims.org_id, connector_id):
            raise ApiError(404, f"no connector {connector_id}")
        await run_db(ctx.audit, "connector_remove", claims, None, connector_id=connector_id)
        return "", 204

    @app.post("/connectors/<connector_id>/test")
    async def test_connector(connector_id: str) -> ResponseReturnValue:
        claims = member("admin")
        box = dispatcher().box
        try:
            opened = await run_db(open_connector, engine, box, claims.org_id, connector_id)
        except SecretError as exc:
            raise ApiError(409, str(exc)) from None
        if opened is None:
            raise ApiError(404, f"no connector {connector_id}")
        target = target_of(str(opened.row["target"]))
        async with vendor_client(dispatcher().options.timeout_s) as http:
            try:
                found = await target.test(http, opened.credential, opened.row["destination"])
            except TargetError as exc:
                return jsonify({"ok": False, "error": exc.reason}), 200
        return jsonify({"ok": True, "detail": found})

    @app.post("/connectors/<target>/push")
    async def push(target: str) -> ResponseReturnValue:
        claims = member("admin", "editor")
        running = dispatcher()
        body = json_object(await request.get_json(silent=True))
        transcript_id = text_field(body, "transcript_id", max_chars=128)
        if not transcript_id:
            raise ApiError(400, "transcript_id is required")
        connector_id = text_field(body, "connector_id", max_chars=64)
        await ctx.visible(transcript_id, claims)
        try:
            connector = await run_db(pick_connector, engine, claims.org_id, target, connector_id)
        except ConnectorError as exc:
            raise ApiError(404, str(exc)) from None
        snapshot = await read_part(ctx.rooms(), ctx.services.log, transcript_id, "snapshot")
        rows = await run_db(
            enqueue, engine, {**connector, "org_id": claims.org_id}, snapshot,
            requested_by=claims.username,
        )  # fmt: skip
        await run_db(
            ctx.audit, "push", claims, transcript_id, connector_id=connector["connector_id"],
            target=target, push_ids=[r["push_id"] for r in rows],
        )  # fmt: skip
        running.wake()
        return jsonify({"connector_id": connector["connector_id"], "pushes": rows}), 202

    @app.post("/connectors/outbox/claim")
    async def claim_pushes() -> ResponseReturnValue:
        """For ``minuta worker --dispatch``: take the org's due rows, credentials sealed."""
        claims = member("admin")
        body = json_object(await request.get_json(silent=True))
        limit, lease_s = integer(body.get("limit", 8)), body.get("lease_s", 120)
        if limit is None or not 0 <= limit <= 32:
            raise ApiError(400, "limit must be an integer from 0 to 32")
        if not number(lease_s) or not 10 <= lease_s <= 3600:
            raise ApiError(400, "lease_s must be a number of seconds from 10 to 3600")
        rows = []
        if limit:
            rows = await run_db(
                _claims.claim, engine, lease_s=float(lease_s), limit=limit, org_id=claims.org_id
            )
        return jsonify({"claimed": [row.as_json() for row in rows]})

    @app.post("/connectors/outbox/<int:push_id>/done")
    async def push_done(push_id: int) -> ResponseReturnValue:
        """For ``minuta worker --dispatch``: what became of a claimed row."""
        claims = member("admin")
        if push_id >= 2**63:  # beyond any row's id, and beyond SQL's 64-bit integers
            raise ApiError(404, f"no push {push_id}")
        body = json_object(await request.get_json(silent=True))
        attempt, outcome = integer(body.get("attempt")), body.get("outcome")
        if attempt is None or not 1 <= attempt <= MAX_INT_ARG:
            raise ApiError(400, "attempt must be the claim's attempt, an integer")
        reason = text_field(body, "reason", max_chars=2000, default="") or ""
        org = claims.org_id
        if outcome == "sent":
            external_id = text_field(body, "external_id", max_chars=200)
            if not external_id:
                raise ApiError(400, "a sent push needs its external_id")
            stored = await run_db(_claims.sent, engine, push_id, attempt, external_id, org_id=org)
        elif outcome == "retry":
            delay = body.get("delay_s")
            if not number(delay) or not 0 <= delay <= 86400:
                raise ApiError(400, "delay_s must be a number of seconds up to a day")
            stored = await run_db(
                _claims.retry_later, engine, push_id, attempt, reason, float(delay), org_id=org
            )
        elif outcome in ("failed", "dead"):
            stored = await run_db(
                _claims.give_up, engine, push_id, attempt, reason, dead=outcome == "dead",
                org_id=org,
            )  # fmt: skip
        else:
            raise ApiError(400, "outcome must be sent, retry, failed or dead")
        return jsonify({"stored": bool(stored)})

    @app.get("/connectors/pushes")
    async def get_pushes() -> ResponseReturnValue:
        claims = member("admin", "editor")
        transcript_id = request.args.get("transcript_id") or None
        if transcript_id is not None:
            await ctx.visible(storable(transcript_id, "transcript_id"), claims)
        rows = await run_db(pushes, engine, claims.org_id, transcript_id)
        return jsonify({"pushes": rows})


def _spec(body: dict[str, Any]) -> ConnectorSpec:
    def mapping(name: str) -> dict[str, Any]:
        value = body.get(name) or {}
        if not isinstance(value, dict):
            raise ApiError(400, f"{name} must be an object")
        for key, item in value.items():
            if isinstance(item, str):
                storable(item, f"{name}.{key}")
            elif isinstance(item, float) and item.is_integer():
                value[key] = int(item)  # JSON's 42.0 is the integer 42
        return value

    include = body.get("include_transcript", False)
    if not isinstance(include, bool):
        raise ApiError(400, "include_transcript must be true or false")
    spec = ConnectorSpec(
        target=text_field(body, "target", max_chars=16) or "",
        credential=mapping("credential"),
        destination=mapping("destination"),
        name=text_field(body, "name", max_chars=200, default="") or "",
        send=text_field(body, "send", max_chars=8, default="both") or "both",
        include_transcript=include,
    )
    try:
        spec.check()
    except ConnectorError as exc:
        raise ApiError(400, str(exc)) from None
    return spec

"""Leases over REST, for ``minuta worker``: which process runs the workers on a
transcript (relay/leases.py)."""

from __future__ import annotations

from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue

from ..errors import ApiError
from ..inputs import json_object, number, text_field
from ..leases import JOBS, take
from ._context import RouteContext


def register(app: Quart, ctx: RouteContext) -> None:
    @app.post("/transcripts/<transcript_id>/lease")
    async def lease(transcript_id: str) -> ResponseReturnValue:
        """Take or renew the lease of a job on a transcript (editors and admins)."""
        claims = ctx.bearer()
        await ctx.visible(transcript_id, claims)
        if claims.role == "viewer":
            raise ApiError(403, "viewers cannot run jobs")
        body = json_object(await request.get_json(silent=True))
        job = body.get("job")
        if job not in JOBS:
            raise ApiError(400, f"job must be one of {', '.join(JOBS)}")
        holder = text_field(body, "holder", max_chars=64)
        if not holder:
            raise ApiError(400, "holder is required: who asks")
        ttl_s = body.get("ttl_s", 120)
        if not number(ttl_s) or not 5 <= ttl_s <= 600:
            raise ApiError(400, "ttl_s must be a number of seconds from 5 to 600")
        granted = await ctx.run_db(
            take, ctx.engine, str(job), transcript_id, holder=holder, ttl_s=float(ttl_s)
        )
        return jsonify({"granted": bool(granted)})

"""A transcript's contents: its summary (and Regenerate), actions and exports."""

from __future__ import annotations

from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue

from engine import EXTENSIONS, FORMATS, MEDIA_TYPES

from ..errors import ApiError
from ..reading import read_part
from ..rooms import RoomClosedError
from ._context import RouteContext


def register(app: Quart, ctx: RouteContext) -> None:
    bearer = ctx.bearer
    run_db = ctx.run_db
    audit = ctx.audit
    rooms = ctx.rooms
    visible = ctx.visible
    services = ctx.services

    @app.get("/transcripts/<transcript_id>/summary")
    async def get_summary(transcript_id: str) -> ResponseReturnValue:
        claims = bearer()
        await visible(transcript_id, claims)
        return jsonify(await read_part(rooms(), services.log, transcript_id, "summary") or {})

    @app.post("/transcripts/<transcript_id>/summary")
    async def regenerate_summary(transcript_id: str) -> ResponseReturnValue:
        """Run the workers now (the page's "Regenerate" button); returns the summary."""
        claims = bearer()
        await visible(transcript_id, claims)
        if claims.role == "viewer":
            raise ApiError(403, "viewers cannot regenerate the summary")
        try:
            await services.workers.run_now(transcript_id)
        except RoomClosedError:
            raise ApiError(503, "the relay could not store the summary: try again") from None
        await run_db(audit, "regenerate", claims, transcript_id)
        return jsonify(await read_part(rooms(), services.log, transcript_id, "summary") or {})

    @app.get("/transcripts/<transcript_id>/actions")
    async def get_actions(transcript_id: str) -> ResponseReturnValue:
        claims = bearer()
        await visible(transcript_id, claims)
        return jsonify(await read_part(rooms(), services.log, transcript_id, "actions"))

    @app.get("/transcripts/<transcript_id>/export")
    async def export_transcript(transcript_id: str) -> ResponseReturnValue:
        claims = bearer()
        await visible(transcript_id, claims)
        fmt = request.args.get("fmt", "md")
        if fmt not in FORMATS:
            raise ApiError(400, f"fmt must be one of {', '.join(FORMATS)}")
        body = await read_part(rooms(), services.log, transcript_id, "export", fmt)
        await run_db(audit, "export", claims, transcript_id, fmt=fmt)
        filename = f"{transcript_id}{EXTENSIONS[fmt]}"
        return (
            body,
            200,
            {
                "Content-Type": MEDIA_TYPES[fmt],
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )

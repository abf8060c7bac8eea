"""Transcripts as a resource: create, list, read, edit the vocabulary and retention,
delete."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from engine import InvalidTranscriptError, Origin, TranscriptDoc, clean_vocabulary

from ..db import DeletedTranscript, Org, Transcript, writer
from ..deletion import forget
from ..errors import ApiError
from ..inputs import (
    LANGUAGE_CHARS,
    MAX_INT_ARG,
    TITLE_CHARS,
    int_arg,
    integer,
    json_object,
    text_field,
)
from ..retention import DEFAULT_DAYS, expires_at
from ..rooms import RoomClosedError
from ._context import RouteContext, find, iso, row_json, transcript_json
from .sync import close_gone

EDITABLE = {"vocabulary", "retention_days"}
MAX_DAYS = 36500
_TRANSCRIPT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def register(app: Quart, ctx: RouteContext) -> None:
    bearer = ctx.bearer
    run_db = ctx.run_db
    audit = ctx.audit
    rooms = ctx.rooms
    visible = ctx.visible
    services = ctx.services
    engine = ctx.engine

    @app.post("/transcripts")
    async def create_transcript() -> ResponseReturnValue:
        claims = bearer()
        if claims.role == "viewer":
            raise ApiError(403, "viewers cannot create transcripts")
        body = json_object(await request.get_json(silent=True) or {})
        title = text_field(body, "title", max_chars=TITLE_CHARS, default="") or ""
        language = text_field(body, "language", max_chars=LANGUAGE_CHARS)
        transcript_id = body.get("transcript_id") or f"t-{uuid.uuid4().hex[:16]}"
        if not isinstance(transcript_id, str) or not _TRANSCRIPT_ID.match(transcript_id):
            raise ApiError(400, "transcript_id: letters, digits, '.', '_' and '-', up to 128")
        doc = TranscriptDoc.create(
            transcript_id, title=title, language=language, org_id=claims.org_id
        )

        def insert() -> bool:
            with Session(writer(engine)) as session, session.begin():
                if session.get(Transcript, transcript_id) is not None:
                    return False
                if session.get(DeletedTranscript, transcript_id) is not None:
                    return False  # deleted ids are never reused, by anyone
                session.add(
                    Transcript(
                        transcript_id=transcript_id,
                        org_id=claims.org_id,
                        title=title,
                        language=language,
                        started_at=doc.snapshot()["meta"]["started_at"],
                        created_by=claims.username,
                    )
                )
                return True

        if not await run_db(insert):
            # The same answer whoever holds the id (this org, another, or a deleted
            # transcript): the answer must not tell which ids another org uses.
            raise ApiError(409, f"transcript_id {transcript_id} is not available")
        if body.get("client_doc") is True:
            # The client (an agent that started offline) brings the doc, meta included:
            # a second set of meta values from us would race with its own.
            return jsonify(
                {"transcript_id": transcript_id, "org_id": claims.org_id, "title": title,
                 "language": language, "started_at": None}
            ), 201  # fmt: skip
        # The doc's first update goes through the log like any other.
        await services.log.append(transcript_id, doc.encode_update())
        services.projector.touch(transcript_id, doc)
        return jsonify(transcript_json(doc.snapshot()["meta"], transcript_id)), 201

    @app.get("/transcripts")
    async def list_transcripts() -> ResponseReturnValue:
        claims = bearer()
        args = request.args
        limit = int_arg(args.get("limit"), "limit", default=50, low=1, high=200)
        offset = int_arg(args.get("offset"), "offset", default=0, low=0, high=MAX_INT_ARG)
        # A search: a NUL (which PostgreSQL refuses) can only be noise in it.
        q = (args.get("q") or "").replace("\x00", "")
        title = (text_field({"q": q}, "q", max_chars=200, default="") or "").strip()
        where = [Transcript.org_id == claims.org_id]
        if title:
            # A plain substring: the user's % and _ are not wildcards.
            escaped = title.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(Transcript.title.ilike(f"%{escaped}%", escape="\\"))

        def query() -> tuple[list[dict[str, Any]], int]:
            with Session(engine) as session:
                total = session.scalar(select(func.count()).select_from(Transcript).where(*where))
                rows = session.scalars(
                    select(Transcript)
                    .where(*where)
                    .order_by(Transcript.created_at.desc(), Transcript.transcript_id)
                    .limit(limit)
                    .offset(offset)
                )
                return [row_json(r) for r in rows], int(total or 0)

        items, total = await run_db(query)
        for item in items:
            item["live"] = rooms().live(item["transcript_id"])
        more = offset + len(items) < total
        return jsonify(
            {
                "items": items,
                "limit": limit,
                "offset": offset,
                "total": total,
                "next_offset": offset + len(items) if more else None,
            }
        )

    @app.get("/transcripts/<transcript_id>")
    async def get_transcript(transcript_id: str) -> ResponseReturnValue:
        claims = bearer()
        row = await run_db(find, engine, transcript_id)
        if row is None or row["org_id"] != claims.org_id:
            raise ApiError(404, f"no transcript {transcript_id}")
        days, expires = await run_db(retention_of, engine, transcript_id)
        audio = ctx.audio is not None and await run_db(ctx.audio.has, transcript_id)
        return jsonify(
            {**row, "live": rooms().live(transcript_id), "audio": audio,
             "retention_days": days, "expires_at": iso(expires)}
        )  # fmt: skip

    @app.patch("/transcripts/<transcript_id>")
    async def edit_transcript(transcript_id: str) -> ResponseReturnValue:
        """Edit what a person may change in the meta: the ``vocabulary`` the ASR expects,
        and (an admin) the transcript's own ``retention_days`` (null: the org's).

        Written into the doc like a client's edit, so a live agent uses it at once.
        """
        claims = bearer()
        await visible(transcript_id, claims)
        if claims.role == "viewer":
            raise ApiError(403, "viewers cannot edit transcripts")
        body = await request.get_json(silent=True)
        if not isinstance(body, dict) or not body or not set(body) <= EDITABLE:
            raise ApiError(400, "send a JSON object with 'vocabulary' (a list of terms) "
                                "and/or 'retention_days' (days, 0 keeps it; null: the org's)")  # fmt: skip
        changes: dict[str, Any] = {}
        if "vocabulary" in body:
            if not isinstance(body["vocabulary"], list):
                raise ApiError(400, "vocabulary must be a list of terms")
            try:
                changes["vocabulary"] = clean_vocabulary(body["vocabulary"])
            except InvalidTranscriptError as exc:
                raise ApiError(400, str(exc)) from None
        if "retention_days" in body:
            days = None if body["retention_days"] is None else integer(body["retention_days"])
            if claims.role != "admin":
                raise ApiError(403, "only an admin can change how long a transcript is kept")
            if body["retention_days"] is not None and (days is None or not 0 <= days <= MAX_DAYS):
                raise ApiError(400, f"retention_days: 0 to {MAX_DAYS} days, or null")
            changes["retention_days"] = days
        room = await services.rooms.open(transcript_id)
        try:
            await room.change(lambda doc: doc.set_meta(**changes, origin=Origin.HUMAN))
        except RoomClosedError:
            raise ApiError(503, "the relay could not store the change: try again") from None
        finally:
            services.rooms.unload_if_idle(room)
        if "retention_days" in changes:  # now, not at the next snapshot: the job reads it
            await run_db(_set_retention, engine, transcript_id, changes["retention_days"])
        await run_db(audit, "edit", claims, transcript_id, fields=sorted(changes))
        return jsonify({"transcript_id": transcript_id, **changes})

    @app.delete("/transcripts/<transcript_id>")
    async def delete_transcript(transcript_id: str) -> ResponseReturnValue:
        claims = bearer()
        await visible(transcript_id, claims)
        if claims.role != "admin":
            raise ApiError(403, "only an admin can delete a transcript")

        await close_gone(services.rooms, transcript_id, "the transcript was deleted")
        # With its audio, and the audit event in the same transaction.
        await run_db(forget, engine, transcript_id, action="delete", username=claims.username,
                     audio=ctx.audio)  # fmt: skip
        return "", 204


def retention_of(engine: Engine, transcript_id: str) -> tuple[int, datetime | None]:
    """The transcript's retention period in days (its own, else its org's) and when it
    expires (None: kept forever)."""
    with Session(engine) as session:
        row = session.get(Transcript, transcript_id)
        if row is None:
            return DEFAULT_DAYS, None
        days = row.retention_days
        if days is None:
            org = session.get(Org, row.org_id)
            days = org.retention_days if org is not None else DEFAULT_DAYS
        return days, expires_at(row.created_at, days)


def _set_retention(engine: Engine, transcript_id: str, days: int | None) -> None:
    with Session(writer(engine)) as session, session.begin():
        row = session.get(Transcript, transcript_id)
        if row is not None:
            row.retention_days = days

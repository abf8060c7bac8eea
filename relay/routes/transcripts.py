"""Transcripts as a resource: create, list, read, edit the vocabulary, delete."""

from __future__ import annotations

import re
import uuid
from typing import Any

from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy import delete as sa_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import InvalidTranscriptError, Origin, TranscriptDoc, clean_vocabulary

from ..db import ConnectorLink, ConnectorPush, DeletedTranscript, DocUpdate, Transcript, writer
from ..errors import ApiError
from ..inputs import LANGUAGE_CHARS, MAX_INT_ARG, TITLE_CHARS, int_arg, json_object, text_field
from ..rooms import RoomClosedError
from ._context import RouteContext, find, row_json, transcript_json
from .sync import CLOSE_NOT_FOUND

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
        return jsonify({**row, "live": rooms().live(transcript_id)})

    @app.patch("/transcripts/<transcript_id>")
    async def edit_transcript(transcript_id: str) -> ResponseReturnValue:
        """Edit what a person may change in the meta: the ``vocabulary`` the ASR expects.

        Written into the doc like a client's edit, so a live agent uses it at once.
        """
        claims = bearer()
        await visible(transcript_id, claims)
        if claims.role == "viewer":
            raise ApiError(403, "viewers cannot edit transcripts")
        body = await request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) != {"vocabulary"}:
            raise ApiError(400, "send a JSON object with one field, 'vocabulary': a list of terms")
        if not isinstance(body["vocabulary"], list):
            raise ApiError(400, "vocabulary must be a list of terms")
        try:
            terms = clean_vocabulary(body["vocabulary"])
        except InvalidTranscriptError as exc:
            raise ApiError(400, str(exc)) from None
        room = await services.rooms.open(transcript_id)
        try:
            await room.change(lambda doc: doc.set_meta(vocabulary=terms, origin=Origin.HUMAN))
        except RoomClosedError:
            raise ApiError(503, "the relay could not store the change: try again") from None
        finally:
            services.rooms.unload_if_idle(room)
        await run_db(audit, "edit", claims, transcript_id, fields=["vocabulary"])
        return jsonify({"transcript_id": transcript_id, "vocabulary": terms})

    @app.delete("/transcripts/<transcript_id>")
    async def delete_transcript(transcript_id: str) -> ResponseReturnValue:
        claims = bearer()
        await visible(transcript_id, claims)
        if claims.role != "admin":
            raise ApiError(403, "only an admin can delete a transcript")

        def remove() -> None:
            with Session(writer(engine)) as session, session.begin():
                # Locked first: an update log commit in flight for this transcript either
                # lands before (and is deleted below) or sees the tombstone and is refused.
                row = session.get(Transcript, transcript_id, with_for_update=True)
                if row is None:
                    return
                session.add(DeletedTranscript(transcript_id=transcript_id, org_id=row.org_id))
                for table in (DocUpdate, ConnectorPush, ConnectorLink):
                    session.execute(sa_delete(table).where(table.transcript_id == transcript_id))
                session.delete(row)

        for connection in services.rooms.close(transcript_id):
            if connection.close is not None:
                await connection.close(CLOSE_NOT_FOUND, "the transcript was deleted")
        await run_db(remove)
        await run_db(audit, "delete", claims, transcript_id)
        return "", 204

"""The relay as a Quart app: websocket sync, authentication and the first REST routes.

``create_app(config)`` builds it; ``minuta relay`` serves it with Hypercorn. Everything
that blocks (SQL, password hashing) runs in worker threads, off the event loop.
"""

from __future__ import annotations

import contextlib
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectSendStream
from minuta_web import DIST as WEB_DIST
from quart import Quart, jsonify, request, send_file, websocket
from quart.typing import ResponseReturnValue
from sqlalchemy import Engine, func, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.orm import Session

from engine import (
    EXTENSIONS,
    FORMATS,
    MEDIA_TYPES,
    InvalidTranscriptError,
    Origin,
    TranscriptDoc,
    clean_vocabulary,
)
from engine.protocol import MAX_FRAME_BYTES, ProtocolError

from . import errors
from .auth import (
    AuthError,
    Claims,
    LoginGate,
    LoginLimits,
    TokenConfig,
    TokenError,
    read_object,
    verify,
)
from .db import (
    AuditEvent,
    DeletedTranscript,
    DocUpdate,
    Transcript,
    check_migrated,
    writer,
)
from .errors import ApiError
from .fanout import Outbox, PeerTooSlowError, SendBudget
from .inputs import LANGUAGE_CHARS, MAX_INT_ARG, TITLE_CHARS, int_arg, json_object, text_field
from .limits import ConnectionLimits, KeyedBuckets, Throttle
from .metrics import CONTENT_TYPE, Metrics, ReconnectTracker
from .openapi import OPENAPI
from .projections import Projector
from .reading import read_part
from .rooms import Accepted, Connection, Room, RoomClosedError, Rooms
from .updates import TranscriptGoneError, UpdateLog
from .workers import Backend, WorkerOptions, Workers
from .wsconnection import ABORT, BoundedWebsocketConnection

# Close codes sent after accept, so browsers (y-websocket) stop retrying: 4400-4499.
CLOSE_MALFORMED = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_LARGE = 4413  # a frame over the limit: sending it again cannot help
CLOSE_STORE_FAILED = 1011  # a server error: the client should retry later
# Updates a connection may have applied and not yet acknowledged.
MAX_IN_FLIGHT = 64
# How long a leaving connection's last updates may take to commit and reach the others.
FORWARD_TIMEOUT_S = 5.0
CLOSE_GOING_AWAY = 1001  # silent too long: a client that is still there reconnects
CLOSE_TRY_AGAIN = 1013  # too many new connections: clients retry with their backoff
# Served at / when the web page is not built (``npm run build`` in web/).
PLACEHOLDER_PAGE = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Minuta relay</title>
<body style="font: 16px system-ui; max-width: 40em; margin: 3em auto">
<h1>Minuta relay</h1>
<p>The relay is running. The browser editor is not built into this relay.</p>
<p>The REST API is described at <a href="/openapi.json">/openapi.json</a>;
live sync is at <code>/sync/&lt;transcript_id&gt;?token=&hellip;</code>.</p>
</body></html>
"""
_STATIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.(js|css|png|svg|ico|map)$")
_TRANSCRIPT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class RelayConfig:
    """What a relay needs; ``minuta relay`` fills it from flags and the environment."""

    engine: Engine
    tokens: TokenConfig
    max_frame_bytes: int = MAX_FRAME_BYTES
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    compact_every_s: float = 60.0
    compact_min_rows: int = 500
    web_dir: Path | None = None  # the built web page (default: the installed ``minuta_web``)
    backend: Backend | None = None  # the workers' (default: the heuristics)
    workers: WorkerOptions = field(default_factory=WorkerOptions)
    run_workers: bool = True  # False: ``minuta worker`` runs them in another process
    login: LoginLimits = field(default_factory=LoginLimits)


@dataclass(frozen=True)
class Services:
    """The long-lived parts an app uses; :func:`relay.server.serve_relay` owns them."""

    log: UpdateLog
    rooms: Rooms
    projector: Projector
    metrics: Metrics
    workers: Workers


def create_app(config: RelayConfig, services: Services) -> Quart:
    check_migrated(config.engine)
    app = Quart("minuta-relay")
    # Bounded receive queues: a peer that sends faster than it is read is pushed back.
    app.asgi_websocket_class = BoundedWebsocketConnection
    app.config["MAX_CONTENT_LENGTH"] = 1 * 2**20
    engine = config.engine

    metrics = services.metrics
    reconnects = ReconnectTracker()
    connects = KeyedBuckets(config.limits.connects)
    send_budget = SendBudget(config.limits.behind_total_bytes)

    def rooms() -> Rooms:
        return services.rooms

    async def run_db(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))

    def audit(
        action: str, claims: Claims | None, transcript_id: str | None = None, **detail: Any
    ) -> None:
        with Session(writer(engine)) as session, session.begin():
            session.add(
                AuditEvent(
                    org_id=claims.org_id if claims else None,
                    username=claims.username if claims else None,
                    action=action,
                    transcript_id=transcript_id,
                    detail=detail,
                )
            )

    logins = LoginGate(engine, config.tokens, audit, config.login)

    def bearer() -> Claims:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        try:
            return verify(config.tokens, token)
        except TokenError as exc:
            raise ApiError(401, str(exc)) from None

    errors.install(app)

    web_dir = config.web_dir or Path(WEB_DIST)

    @app.get("/")
    async def page() -> ResponseReturnValue:
        index = web_dir / "index.html"
        if index.is_file():
            response = await send_file(index)
            # The page names its script and styles without a version: always revalidate.
            response.headers["Cache-Control"] = "no-cache"
            return response
        return PLACEHOLDER_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/static/<name>")
    async def static_file(name: str) -> ResponseReturnValue:
        path = web_dir / name
        if not _STATIC_NAME.match(name) or not path.is_file():
            raise ApiError(404, f"no file {name}")
        response = await send_file(path)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/healthz")
    async def healthz() -> ResponseReturnValue:
        return jsonify({"status": "ok", "rooms": len(rooms())})

    @app.get("/metrics")
    async def metrics_text() -> ResponseReturnValue:
        return metrics.render(), 200, {"Content-Type": CONTENT_TYPE}

    @app.get("/openapi.json")
    async def openapi_json() -> ResponseReturnValue:
        return jsonify(OPENAPI)

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
        return jsonify(_transcript_json(doc.snapshot()["meta"], transcript_id)), 201

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
                return [_row_json(r) for r in rows], int(total or 0)

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
        row = await run_db(_find, engine, transcript_id)
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

    async def visible(transcript_id: str, claims: Claims) -> dict[str, Any]:
        row = await run_db(_find, engine, transcript_id)
        if row is None or row["org_id"] != claims.org_id:
            raise ApiError(404, f"no transcript {transcript_id}")
        return dict(row)

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
                session.execute(
                    sa_delete(DocUpdate).where(DocUpdate.transcript_id == transcript_id)
                )
                session.delete(row)

        for connection in services.rooms.close(transcript_id):
            if connection.close is not None:
                await connection.close(CLOSE_NOT_FOUND, "the transcript was deleted")
        await run_db(remove)
        await run_db(audit, "delete", claims, transcript_id)
        return "", 204

    @app.websocket("/sync/<transcript_id>")
    async def sync(transcript_id: str) -> None:
        # The proxy would route sends to whichever client is current: use the real object.
        ws = websocket._get_current_object()  # type: ignore[attr-defined]
        await ws.accept()
        try:
            claims = verify(config.tokens, ws.args.get("token"))
        except TokenError as exc:
            # Audited, unless one address keeps trying (each audit is a database write).
            if connects.allow(f"address:{ws.remote_addr}"):
                await run_db(audit, "reject", None, transcript_id, reason=exc.reason)
            else:
                metrics.rejected.labels("connect_rate").inc()
            await ws.close(CLOSE_UNAUTHORIZED, str(exc))
            return
        if not connects.allow(f"user:{claims.username}"):
            metrics.rejected.labels("connect_rate").inc()
            await ws.close(CLOSE_TRY_AGAIN, "too many new connections: try again later")
            return
        row = await run_db(_find, engine, transcript_id)
        if row is None:
            await ws.close(CLOSE_NOT_FOUND, "no such transcript")
            return
        if row["org_id"] != claims.org_id:
            await run_db(audit, "reject", claims, transcript_id, reason="other org")
            # As for an unknown id: the answer must not tell another org's ids.
            await ws.close(CLOSE_NOT_FOUND, "no such transcript")
            return
        await run_db(audit, "connect", claims, transcript_id, role=claims.role)
        # Nothing may fail between opening the room and the try that releases it.
        room: Room = await rooms().open(transcript_id)
        throttle = Throttle(config.limits)
        # The room's frames go out through an outbox: it never waits for this peer, and
        # cuts it off once it is too far behind (relay/fanout.py).
        outbox = Outbox(ws.send, ws.close, config.limits, send_budget, ws.scope.get(ABORT))
        connection = Connection(
            outbox.send,
            claims.username,
            can_write=claims.role != "viewer",
            close=outbox.close,
            agent=ws.args.get("client") == "agent",
            throttle=throttle,
            parts=outbox.send_parts,
        )
        if reconnects.connected(claims.username, transcript_id):
            metrics.reconnects.inc()
        metrics.connections.inc()
        # Frames are read and applied here; their commits are finished, in order, by
        # the settler, which acks all that have committed in one frame.
        send, settle = anyio.create_memory_object_stream[Accepted](MAX_IN_FLIGHT)
        # Accepted and not settled yet, in order: if the client goes first, the finally
        # still relays them to the others (they are stored all the same).
        unsettled: list[Accepted] = []

        async def settler() -> None:
            async with settle:
                async for first in settle:
                    batch = [first]
                    with contextlib.suppress(anyio.WouldBlock):
                        while len(batch) < MAX_IN_FLIGHT:
                            batch.append(settle.receive_nowait())
                    await room.settle(connection, batch)
                    del unsettled[: len(batch)]

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(outbox.run)
                tg.start_soon(settler)
                await room.join(connection)
                # An open socket must not outlive its token: at expiry the client
                # refreshes and reconnects (4401), and frames after it are not read.
                code, reason = CLOSE_UNAUTHORIZED, "the token has expired: refresh it"
                with anyio.move_on_after(claims.seconds_left()):
                    code, reason = await read_frames(room, connection, send, throttle, unsettled)
                await outbox.close(code, reason)  # after what is queued for it
                await outbox.closed.wait()
                tg.cancel_scope.cancel()
        except* RoomClosedError as failed:
            if any(isinstance(e.__cause__, TranscriptGoneError) for e in failed.exceptions):
                await outbox.close_now(CLOSE_NOT_FOUND, "the transcript was deleted")
            else:
                await outbox.close_now(CLOSE_STORE_FAILED, "the relay could not store your update")
        except* PeerTooSlowError:
            metrics.rejected.labels("behind").inc()
        finally:
            # Quart cancels this handler when the client goes: clean up here.
            with anyio.CancelScope(shield=True), anyio.move_on_after(FORWARD_TIMEOUT_S):
                await room.forward(connection, unsettled)
            metrics.connections.dec()
            reconnects.left(claims.username, transcript_id)
            await rooms().release(room, connection)

    async def read_frames(
        room: Room,
        connection: Connection,
        send: MemoryObjectSendStream[Accepted],
        throttle: Throttle,
        unsettled: list[Accepted],
    ) -> tuple[int, str]:
        """Take frames until one is refused; returns the close code and reason."""
        ws = websocket._get_current_object()  # type: ignore[attr-defined]
        silence = config.limits.presence_silence_s
        async with send:
            while True:
                frame = None
                with anyio.move_on_after(silence if connection.announced else math.inf) as wait:
                    frame = await ws.receive()
                if wait.cancelled_caught:  # a browser that stopped renewing its presence
                    metrics.rejected.labels("silent").inc()
                    return CLOSE_GOING_AWAY, "no presence renewal: reconnect when back"
                if frame is None:  # Quart's empty binary frame: refused as too short
                    frame = b""
                if isinstance(frame, str):
                    frame = frame.encode()
                if len(frame) > config.max_frame_bytes:
                    metrics.rejected.labels("too_large").inc()
                    return CLOSE_TOO_LARGE, f"frames are limited to {config.max_frame_bytes} bytes"
                # Over its rate, a client waits: we stop reading, and TCP slows it down.
                delay = throttle.delay(len(frame))
                if delay > 0:
                    metrics.throttled_seconds.inc(delay)
                    await anyio.sleep(delay)
                else:
                    # A frame already queued is taken without yielding: let the other
                    # connections' frames in between, or a burst of 64 holds them back.
                    await anyio.lowlevel.checkpoint()
                try:
                    accepted = await room.accept(connection, frame)
                except ProtocolError as exc:
                    metrics.rejected.labels("malformed").inc()
                    return CLOSE_MALFORMED, str(exc)[:120]
                if accepted is not None:
                    unsettled.append(accepted)
                    await send.send(accepted)  # waits while MAX_IN_FLIGHT are unsettled

    return app


def _find(engine: Engine, transcript_id: str) -> dict[str, Any] | None:
    with Session(engine) as session:
        row = session.get(Transcript, transcript_id)
        return None if row is None else _row_json(row)


def _row_json(row: Transcript) -> dict[str, Any]:
    return {
        "transcript_id": row.transcript_id,
        "org_id": row.org_id,
        "title": row.title,
        "language": row.language,
        "started_at": row.started_at,
        "segment_count": row.segment_count,
        "duration_s": row.duration_s,
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _iso(at: datetime | None) -> str | None:
    """RFC 3339, with its offset: SQLite gives back the stored UTC time as naive."""
    if at is None:
        return None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).isoformat()


def _transcript_json(meta: Any, transcript_id: str) -> dict[str, Any]:
    return {
        "transcript_id": transcript_id,
        "org_id": meta["org_id"],
        "title": meta["title"],
        "language": meta["language"],
        "started_at": meta["started_at"],
    }

"""A transcript's audio: uploaded by the agent only under ``--upload-audio``, played by
the org's people on the page.

``GET/PUT /transcripts/{id}/audio/upload`` is the resumable upload (relay/audio.py);
``GET /transcripts/{id}/audio`` serves the finished file, with ranges for seeking. When
an upload completes, the doc's meta ``upload_audio`` becomes true, so the page shows the
player. Another org's transcript is a 404, as for none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from quart import Quart, jsonify, request, send_file
from quart.typing import ResponseReturnValue

from engine import Origin

from ..audio import AudioStore, UploadError
from ..errors import ApiError
from ..inputs import MAX_INT_ARG, int_arg
from ..rooms import RoomClosedError
from ._context import RouteContext


class _KeyedLocks:
    """One lock per transcript while someone uses it: two pieces of one upload are never
    appended at once, and uploads of other transcripts do not wait."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[anyio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (anyio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def register(app: Quart, ctx: RouteContext) -> None:
    locks = _KeyedLocks()

    def store() -> AudioStore:
        if ctx.audio is None:
            raise ApiError(503, "this relay keeps no audio (no data folder for it)")
        return ctx.audio

    @app.get("/transcripts/<transcript_id>/audio/upload")
    async def upload_state(transcript_id: str) -> ResponseReturnValue:
        await ctx.visible(transcript_id, ctx.bearer())
        state = await ctx.run_db(store().state, transcript_id)
        return jsonify(state.json())

    @app.put("/transcripts/<transcript_id>/audio/upload")
    async def upload_piece(transcript_id: str) -> ResponseReturnValue:
        claims = ctx.bearer()
        await ctx.visible(transcript_id, claims)
        if claims.role == "viewer":
            raise ApiError(403, "viewers cannot upload audio")
        args = request.args
        offset = int_arg(args.get("offset"), "offset", default=0, low=0, high=MAX_INT_ARG)
        size = int_arg(args.get("size"), "size", default=0, low=0, high=2**40)
        sha256 = args.get("sha256") or ""
        data = await request.get_data()
        audio = store()
        async with locks.hold(transcript_id):
            before = await ctx.run_db(audio.state, transcript_id)
            try:
                state = await ctx.run_db(audio.append, transcript_id, offset, size, sha256, data)
            except UploadError as exc:
                response = jsonify({"error": str(exc), "received": exc.received})
                return response, exc.status
        if state.complete:  # again for a repeat: its first marking may have failed
            await _mark_uploaded(ctx, transcript_id)
        if state.complete and not before.complete:
            await ctx.run_db(ctx.audit, "audio", claims, transcript_id, bytes=state.size)
        return jsonify(state.json())

    @app.get("/transcripts/<transcript_id>/audio")
    async def get_audio(transcript_id: str) -> ResponseReturnValue:
        await ctx.visible(transcript_id, ctx.bearer())
        audio = store()
        if not await ctx.run_db(audio.has, transcript_id):
            raise ApiError(404, f"transcript {transcript_id} has no audio")
        response = await send_file(audio.path(transcript_id), mimetype="audio/ogg",
                                   conditional=True)  # fmt: skip
        response.headers["Cache-Control"] = "private, no-store"
        return response


async def _mark_uploaded(ctx: RouteContext, transcript_id: str) -> None:
    rooms = ctx.services.rooms
    room = await rooms.open(transcript_id)
    try:
        await room.change(lambda doc: doc.set_meta(upload_audio=True, origin=Origin.RELAY))
    except RoomClosedError:
        message = "the audio is stored, but not yet marked in the transcript: send again"
        raise ApiError(503, message) from None
    finally:
        rooms.unload_if_idle(room)

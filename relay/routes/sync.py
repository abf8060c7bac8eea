"""The websocket that syncs a transcript's doc: authenticate, join the room, read frames
(bounded, throttled), settle their commits in order, and always clean up."""

from __future__ import annotations

import contextlib
import math

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectSendStream
from quart import Quart, websocket

from engine.protocol import ProtocolError

from ..auth import TokenError, verify
from ..fanout import Outbox, PeerTooSlowError
from ..limits import Throttle
from ..rooms import Accepted, Connection, Room, RoomClosedError, Rooms
from ..updates import TranscriptGoneError
from ..wsconnection import ABORT
from ._context import RouteContext, find

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


async def close_gone(rooms: Rooms, transcript_id: str, reason: str) -> None:
    """Close the transcript's room, and each of its connections with 4404 (deleted or
    expired: its clients must not retry)."""
    for connection in rooms.close(transcript_id):
        if connection.close is not None:
            await connection.close(CLOSE_NOT_FOUND, reason)


def register(app: Quart, ctx: RouteContext) -> None:
    run_db = ctx.run_db
    audit = ctx.audit
    rooms = ctx.rooms
    config = ctx.config
    engine = ctx.engine
    metrics = ctx.metrics
    connects, reconnects, send_budget = ctx.connects, ctx.reconnects, ctx.send_budget

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
        row = await run_db(find, engine, transcript_id)
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

"""Running a relay: the update log, the rooms, the projector and Hypercorn, in one task.

Shutdown (SIGINT or SIGTERM) is graceful: Hypercorn stops taking connections, queued
updates are committed, and every pending SQL snapshot is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from hypercorn.asyncio import serve
from hypercorn.config import Config

from engine import TranscriptDoc, TranscriptError

from .app import RelayConfig, Services, create_app
from .projections import Projector
from .rooms import Room, Rooms
from .updates import UpdateLog


async def serve_relay(
    config: RelayConfig,
    hypercorn: Config,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
) -> None:
    async with UpdateLog(config.engine) as log:
        projector = Projector(config.engine)

        def stored(room: Room) -> None:
            projector.touch(room.transcript_id, TranscriptDoc(room.doc))

        services = Services(log, Rooms(log, on_stored=stored), projector)
        app = create_app(config, services)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_project, projector)
            await serve(app, hypercorn, shutdown_trigger=shutdown_trigger)
            tg.cancel_scope.cancel()
        await projector.flush_all()


async def _project(projector: Projector) -> None:
    while True:
        try:
            await projector.run()
        except TranscriptError:
            continue  # a doc a client broke: keep its last good snapshot, go on with others

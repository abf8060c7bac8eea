"""Running a relay: the update log, the rooms, the background jobs and Hypercorn.

Shutdown (SIGINT or SIGTERM) is graceful: Hypercorn stops taking connections, queued
updates are committed, and every pending SQL snapshot is written.

The background jobs (snapshots, compaction, workers) run in their own tasks and stop when
an event is set: cancelling the task that runs Hypercorn from outside leaves it serving
with no one to finish it. Each is :func:`~relay.supervise.supervised`: whatever a
document holds, a job's exception is logged, counted and the job restarted, never the
end of the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

import anyio
from hypercorn.asyncio import serve
from hypercorn.config import Config

from engine import TranscriptDoc

from .app import RelayConfig, Services, create_app
from .audio import AudioStore
from .compaction import Compactor
from .connectors import Dispatcher
from .memory import release_large_blocks
from .metrics import Metrics
from .peers import Peers
from .projections import Projector
from .retention import Retention
from .rooms import Room, Rooms
from .routes.sync import close_gone
from .supervise import supervised
from .updates import UpdateLog
from .workers import WORKER_LEASE_S, Workers


async def serve_relay(
    config: RelayConfig,
    hypercorn: Config,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
) -> None:
    # What Hypercorn buffers per connection before the app reads it: each event may be
    # a whole frame, and one queued is enough to keep reading (relay/wsconnection.py).
    hypercorn.max_app_queue_size = 1
    hypercorn.websocket_max_message_size = min(
        hypercorn.websocket_max_message_size, 2 * config.max_frame_bytes
    )
    release_large_blocks()
    metrics = Metrics()
    async with UpdateLog(config.engine) as log:
        metrics.backlog.set_function(lambda: log.backlog)
        clustered = config.redis_url is not None
        projector = Projector(config.engine, metrics=metrics, lease_s=10.0 if clustered else None)

        def project(room: Room) -> None:
            projector.touch(room.transcript_id, TranscriptDoc(room.doc))

        def stored(room: Room) -> None:  # a client's update
            project(room)
            workers.touch(room.transcript_id)

        rooms = Rooms(log, on_stored=stored, metrics=metrics)
        peers = None
        if config.redis_url is not None:
            peers = Peers(config.redis_url, rooms, log, prefix=config.redis_prefix)
            log.on_committed, rooms.on_presence = peers.committed, peers.presence
        options = replace(config.workers, lease_s=WORKER_LEASE_S) if clustered else config.workers
        workers = Workers(
            rooms, config.backend, options=options, on_written=project, metrics=metrics
        )
        compactor = Compactor(
            log,
            every_s=config.compact_every_s,
            min_rows=config.compact_min_rows,
            metrics=metrics,
            leased=clustered,
        )
        dispatcher = None
        if config.connector_box is not None:
            dispatcher = Dispatcher(config.engine, config.connector_box, config.dispatch_options)
        app = create_app(config, Services(log, rooms, projector, metrics, workers, dispatcher))

        async def expired(transcript_id: str) -> None:
            await close_gone(rooms, transcript_id, "the transcript expired")

        retention = None
        if config.retention is not None:
            audio = AudioStore(config.audio_dir) if config.audio_dir is not None else None
            retention = Retention(config.engine, audio, config.retention, on_deleted=expired)
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(_until, stop, "projector", projector.run, metrics)
            tg.start_soon(_until, stop, "compaction", compactor.run, metrics)
            if config.run_workers:
                tg.start_soon(_until, stop, "workers", workers.run, metrics)
            if peers is not None:
                tg.start_soon(_until, stop, "peers", peers.run, metrics)
            if retention is not None:
                tg.start_soon(_until, stop, "retention", retention.run, metrics)
            if dispatcher is not None and config.dispatch:
                tg.start_soon(_until, stop, "connectors", dispatcher.run, metrics)
            try:
                await serve(app, hypercorn, shutdown_trigger=shutdown_trigger)
            finally:
                stop.set()
        await projector.flush_all()


async def _until(
    stop: anyio.Event,
    name: str,
    job: Callable[[], Coroutine[Any, Any, None]],
    metrics: Metrics,
) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(supervised, name, job, metrics)
        await stop.wait()
        tg.cancel_scope.cancel()

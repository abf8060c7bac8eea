"""The relay as a Quart app: websocket sync, authentication and the REST routes.

``create_app(config, services)`` builds it; ``minuta relay`` serves it with Hypercorn.
Everything that blocks (SQL, password hashing) runs in worker threads, off the event loop.
The routes live in :mod:`relay.routes`, one module per resource.
"""

from __future__ import annotations

from quart import Quart

from . import errors
from .config import RelayConfig as RelayConfig
from .config import Services as Services
from .db import check_migrated
from .routes import audio, auth, connectors, content, leases, pages, search, sync, transcripts
from .routes._context import RouteContext
from .wsconnection import BoundedWebsocketConnection


def create_app(config: RelayConfig, services: Services) -> Quart:
    check_migrated(config.engine)
    app = Quart("minuta-relay")
    # Bounded receive queues: a peer that sends faster than it is read is pushed back.
    app.asgi_websocket_class = BoundedWebsocketConnection
    app.config["MAX_CONTENT_LENGTH"] = 1 * 2**20
    errors.install(app)
    ctx = RouteContext(config, services)
    for routes in (pages, auth, transcripts, content, search, audio, connectors, leases, sync):
        routes.register(app, ctx)
    return app

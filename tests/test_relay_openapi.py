"""``/openapi.json`` describes exactly the routes the app serves."""

from __future__ import annotations

import re

from relay.app import RelayConfig, Services, create_app
from relay.auth import TokenConfig
from relay.db import connect, upgrade
from relay.metrics import Metrics
from relay.openapi import OPENAPI
from relay.projections import Projector
from relay.rooms import Rooms
from relay.updates import UpdateLog
from relay.workers import Workers


def test_every_route_is_documented_and_nothing_else() -> None:
    engine = connect("sqlite://")
    upgrade(engine)
    log = UpdateLog(engine)
    rooms = Rooms(log)
    app = create_app(
        RelayConfig(engine, TokenConfig("s" * 40)),
        Services(log, rooms, Projector(engine), Metrics(), Workers(rooms)),
    )
    served: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.websocket:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(path, m.lower()) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    documented = {(path, method) for path, ops in OPENAPI["paths"].items() for method in ops}
    assert served == documented

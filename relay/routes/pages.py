"""The web page and its static files, health, metrics and the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path

from minuta_web import DIST as WEB_DIST
from quart import Quart, jsonify, send_file
from quart.typing import ResponseReturnValue

from ..errors import ApiError
from ..metrics import CONTENT_TYPE
from ..openapi import OPENAPI
from ._context import RouteContext

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


def register(app: Quart, ctx: RouteContext) -> None:
    rooms = ctx.rooms
    config = ctx.config
    metrics = ctx.metrics
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

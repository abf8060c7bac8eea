"""Every error the relay answers is JSON: ``{"error": "..."}`` with a 4xx or 5xx status.

Quart answers its own errors (an unknown path, a wrong method, a body over the size limit)
with HTML pages, and an unexpected exception with an HTML 500. :func:`install` replaces
both, so a client always gets something it can parse and show. Every JSON error's
message passes through the redactor (:mod:`relay.logs`): one that echoes a client's input
(an id, a title) never carries an e-mail address or a phone number back, or into a proxy's
log.

Example:
    >>> from quart import Quart
    >>> app = Quart("demo")
    >>> install(app)
    >>> import anyio
    >>> async def get() -> tuple[int, str]:
    ...     response = await app.test_client().get("/nowhere")
    ...     return response.status_code, (await response.get_data(as_text=True))
    >>> anyio.run(get)[0]
    404
"""

from __future__ import annotations

import json
import logging

from quart import Quart, Response, jsonify
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from . import logs

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error for the client: its HTTP status and a plain sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def install(app: Quart) -> None:
    """Answer :class:`ApiError`, Quart's own errors and unexpected exceptions as JSON,
    and mask personal data in every JSON error (whichever handler made it)."""
    redactor = logs.redactor()  # a bad MINUTA_LOG_REDACT fails here, not at an error

    @app.after_request
    async def redacted(response: Response) -> Response:
        if response.status_code < 400 or response.mimetype != "application/json":
            return response
        try:
            body = json.loads(await response.get_data(as_text=True))
        except ValueError:
            return response
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            masked = redactor.redact(body["error"])
            if masked != body["error"]:
                response.set_data(json.dumps({**body, "error": masked}))
        return response

    @app.errorhandler(ApiError)
    async def api_error(exc: ApiError) -> ResponseReturnValue:
        return jsonify({"error": str(exc)}), exc.status

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        return jsonify({"error": exc.description or exc.name}), status

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> ResponseReturnValue:
        log.error("unexpected error answering a request", exc_info=exc)
        return jsonify({"error": "internal error: the relay logged it"}), 500

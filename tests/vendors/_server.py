"""A small HTTP server on 127.0.0.1:0 that a vendor fake builds on.

A fake registers routes (method, path pattern) -> handler; it checks what the vendor
checks (the auth header, the path, the required fields) and answers as the vendor does.
Tests can make it fail: ``fail(500, times=2)``, ``fail(429, retry_after=1)``,
``fail(401)``, ``stall(seconds)`` (a timeout, as the client sees it).

Example:
    >>> class Echo(FakeVendor):
    ...     def routes(self):
    ...         return [("GET", r"/ping", lambda req: (200, {"pong": True}))]
    >>> with Echo() as fake:
    ...     import httpx
    ...     httpx.get(fake.url + "/ping").json()
    {'pong': True}
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    match: re.Match[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: float | None
    body: Any


@dataclass
class FakeVendor:
    """Subclass and give :meth:`routes`; use as a context manager."""

    requests: list[Request] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _stall_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1000

    def routes(self) -> list[tuple[str, str, Callable[[Request], Answer]]]:
        raise NotImplementedError

    # ----------------------------------------------------------------- test controls

    def fail(
        self, status: int, *, times: int = 1, retry_after: float | None = None, body: Any = None
    ) -> None:
        """The next ``times`` requests get ``status`` (before any check)."""
        with self._lock:
            self._failures.append(
                _Failure(status, times, retry_after, body or {"message": f"fake {status}"})
            )

    def stall(self, seconds: float) -> None:
        """Every request is handled (an object is made), then answered this much later
        (0 to stop): to the client, a timeout whose work was nevertheless done."""
        self._stall_s = seconds

    def new_id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    def hits(self, method: str, pattern: str) -> list[Request]:
        """The requests that reached a route, in order (failed ones included)."""
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    # ----------------------------------------------------------------- server

    def __enter__(self) -> Self:
        fake = self
        table = [(m, re.compile(p), h) for m, p, h in self.routes()]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with fake._lock:
                    fake.requests.append(request)
                    failure = fake._failures[0] if fake._failures else None
                    if failure is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            fake._failures.pop(0)
                if failure is not None:
                    if fake._stall_s:
                        time.sleep(fake._stall_s)
                    headers = {}
                    if failure.retry_after is not None:
                        headers["Retry-After"] = f"{failure.retry_after:g}"
                    self._answer(failure.status, failure.body, headers)
                    return
                for method, pattern, handler in table:
                    match = pattern.fullmatch(parts.path)
                    if method == self.command and match:
                        request.match = match
                        try:
                            answer = handler(request)
                        except Exception as exc:  # a fake's own bug: say so loudly
                            self._answer(599, {"fake_error": repr(exc)}, {})
                            return
                        status, body, *rest = answer
                        if fake._stall_s:  # done, but the answer is late (or lost)
                            time.sleep(fake._stall_s)
                        self._answer(status, body, rest[0] if rest else {})
                        return
                self._answer(404, {"message": f"no route {self.command} {parts.path}"}, {})

            def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client timed out and left

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stall_s = 0
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 resets a burst of concurrent connections


def bearer(request: Request, token: str) -> Answer | None:
    """A 401 answer unless the request carries ``Authorization: Bearer <token>``."""
    if request.headers.get("authorization") != f"Bearer {token}":
        return (401, {"status": "error", "message": "Authentication credentials not found."})
    return None


def serve(fake: FakeVendor) -> Iterator[FakeVendor]:
    """For a pytest fixture: ``yield from serve(MyFake())``."""
    with fake:
        yield fake

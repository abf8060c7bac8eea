"""Helpers for tests that run ``minuta relay`` as a real Hypercorn subprocess.

``RelayProcess`` starts it on port 0 (the URL is read from its first line) or on a fixed
port, so that a test can kill it and bring it back at the same URL. ``SyncClient`` is a
pycrdt replica speaking y-websocket to it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import websockets
from sqlalchemy import text
from sqlalchemy.orm import Session
from websockets.asyncio.client import ClientConnection

from engine import Origin, TranscriptDoc, decode_state, protocol, split_update
from engine.protocol import Kind
from relay.auth import TokenConfig, hash_password, issue_pair
from relay.db import Org, User, connect, default_database_url, upgrade, writer

MINUTA = Path(sys.executable).parent / "minuta"
SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"
USERS = [
    ("ana", "acme", "editor"),
    ("vi", "acme", "viewer"),
    ("zed", "other", "editor"),
    ("root", "acme", "admin"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The connectors' key (relay/connectors/_secrets.py): 32 bytes, base64.
CONNECTOR_KEY = "bWludXRhLXRlc3QtY29ubmVjdG9yLWtleS0zMi1ieXQ="


def relay_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "JWT_SECRET": SECRET,
        "MINUTA_PASSWORD": PASSWORD,
        "MINUTA_CONNECTOR_KEY": CONNECTOR_KEY,
        **extra,
    }


def run_minuta(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([str(MINUTA), *args], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, f"minuta {' '.join(args)}: {run.stderr}"
    return run


def prepare(data_dir: Path, env: dict[str, str], database_url: str | None = None) -> list[str]:
    """Migrate a database and add :data:`USERS`; returns the database flags to pass on."""
    flags = ["--data-dir", str(data_dir)]
    if database_url is not None:
        flags += ["--database-url", database_url]
    # In this process, not through `minuta db upgrade` and `minuta users add` (tested in
    # test_relay_db.py): five CLI start-ups took 5 s of every relay fixture.
    engine = connect(database_url or default_database_url(data_dir))
    try:
        upgrade(engine)
        with Session(writer(engine)) as session, session.begin():
            for org in dict.fromkeys(org for _, org, _ in USERS):
                if session.get(Org, org) is None:
                    session.add(Org(org_id=org, name=org))
            session.flush()
            for user, org, role in USERS:
                session.add(User(username=user, org_id=org, role=role,
                                 password_hash=_password_hash(env.get("MINUTA_PASSWORD") or PASSWORD)))  # fmt: skip
    finally:
        engine.dispose()
    return flags


@functools.cache
def _password_hash(password: str) -> str:
    return hash_password(password)


@dataclass
class RelayProcess:
    """``minuta relay`` in a subprocess; ``port=0`` picks a free port at each start."""

    data_dir: Path
    env: dict[str, str]
    flags: list[str] = field(default_factory=list)
    port: int = 0
    url: str = ""
    process: subprocess.Popen[str] | None = None
    tokens: TokenConfig = field(default_factory=lambda: TokenConfig(SECRET))

    def start(self) -> RelayProcess:
        self.process = subprocess.Popen(
            [str(MINUTA), "relay", "--port", str(self.port), "--data-dir", str(self.data_dir),
             *self.flags],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("Minuta relay on "), line
        self.url = line.split()[3]
        return self

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Stop it; returns what it printed after its first line."""
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        output = ""
        if self.process.stdout is not None:
            output = self.process.stdout.read()
            self.process.stdout.close()
        self.process = None
        return output

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    def token(self, username: str, org: str, role: str, **shift: Any) -> str:
        """An access token made here; ``minutes=16`` and the like make it old."""
        now = datetime.now(UTC) - timedelta(**shift) if shift else None
        pair = issue_pair(self.tokens, username=username, org_id=org, role=role, now=now)
        return str(pair["access_token"])

    def login(self, username: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def create_transcript(self, token: str, title: str = "Reunión", **extra: Any) -> str:
        response = httpx.post(
            f"{self.url}/transcripts",
            json={"title": title, "language": "es", **extra},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["transcript_id"])


def agent_env(tmp_path: Path) -> dict[str, str]:
    """The environment of an agent signed in as ana, its config and store under tmp_path."""
    return relay_env(
        MINUTA_USERNAME="ana",
        MINUTA_CONFIG_DIR=str(tmp_path / "config"),
        MINUTA_AGENT_DIR=str(tmp_path / "agent"),
    )


@contextlib.contextmanager
def restartable_relay(tmp_path: Path, env: dict[str, str]) -> Iterator[RelayProcess]:
    """A relay on a fixed port, so that it can be down and come back at the same URL."""
    data = tmp_path / "data"
    server = RelayProcess(data, env, prepare(data, env), port=free_port()).start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()


@contextlib.contextmanager
def running(
    tmp_path_factory: Any, database_url: str | None = None, extra: Sequence[str] = ()
) -> Iterator[RelayProcess]:
    """A relay started on a fresh data folder (and ``database_url``, if given), with the
    :data:`USERS`; stopped on the way out."""
    env = relay_env()
    data = tmp_path_factory.mktemp("relay") / "data"
    server = RelayProcess(data, env, [*prepare(data, env, database_url), *extra]).start()
    try:
        yield server
    finally:
        if server.running:
            server.stop()


class SyncClient:
    """A pycrdt replica speaking y-websocket to the relay."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.doc = TranscriptDoc()
        self.acks: list[bytes] = []
        self.notices: list[str] = []
        self.presence: list[list[protocol.Presence]] = []  # the awareness frames received
        self.synced = anyio.Event()

    async def run(self) -> None:
        await self.ws.send(protocol.sync_step1(self.doc.state_vector()))
        async for frame in self.ws:
            assert isinstance(frame, bytes)
            if frame[0] == protocol.ACK:
                self.acks.append(frame)
                continue
            if frame[0] == protocol.NOTICE:
                self.notices.append(protocol.parse_payload(frame).decode())
                continue
            message = protocol.parse(frame)
            if message.kind == Kind.SYNC_STEP1:
                await self.ws.send(protocol.sync_step2(self.doc.encode_update(message.payload)))
            elif message.kind == Kind.AWARENESS:
                self.presence.append(protocol.parse_awareness(message.payload))
            elif message.kind in (Kind.SYNC_STEP2, Kind.UPDATE):
                self.doc.apply_update(message.payload, origin=Origin.RELAY)
                if message.kind == Kind.SYNC_STEP2:
                    self.synced.set()

    async def change(self, fn: Any) -> None:
        state = self.doc.state_vector()
        fn(self.doc)
        update = self.doc.encode_update(state)
        for part in split_update(update, max_bytes=protocol.PART_BYTES):
            await self.ws.send(protocol.update(part))

    def acked(self) -> bool:
        """Whether the relay acknowledged everything this replica holds. (Counting acks
        is not enough: the empty reply to the relay's sync step 1 is acked too.)"""
        if not self.acks:
            return False
        relay = decode_state(protocol.parse_ack(self.acks[-1])[0])
        return all(relay.get(c, 0) >= n for c, n in decode_state(self.doc.state_vector()).items())


async def wait_until(condition: Any, timeout_s: float = 10) -> None:
    """Poll a plain-Python condition (a replica's content: nothing to wait on)."""
    with anyio.fail_after(timeout_s):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.02)


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[SyncClient]:
    """A replica connected to ``url`` and synced; it stops listening on the way out."""
    async with websockets.connect(url) as ws:
        client = SyncClient(ws)
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.run)
            with anyio.fail_after(30):
                await client.synced.wait()
            yield client
            tg.cancel_scope.cancel()


async def close_code(url: str, frames: Sequence[bytes | str] = ()) -> int | None:
    """Connect, send ``frames``, and read until the relay closes; its close code."""
    async with websockets.connect(url) as ws:
        for frame in frames:
            await ws.send(frame)
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _ in ws:
                pass
        return ws.close_code


def query(database_url: str, statement: str, **params: Any) -> list[Any]:
    """The rows of one SQL statement on a relay's database."""
    engine = connect(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(statement), params))
    finally:
        engine.dispose()


def metric(relay: RelayProcess, name: str) -> float:
    """One value from the relay's ``/metrics`` (``name`` with its labels, if any)."""
    for line in httpx.get(f"{relay.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in /metrics")

"""What a relay app is built from: its configuration and the long-lived services it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from engine.protocol import MAX_FRAME_BYTES

from .auth import LoginLimits, TokenConfig
from .connectors import Dispatcher, DispatchOptions, SecretBox
from .limits import ConnectionLimits
from .metrics import Metrics
from .projections import Projector
from .retention import RetentionOptions
from .rooms import Rooms
from .updates import UpdateLog
from .workers import Backend, WorkerOptions, Workers


@dataclass(frozen=True)
class RelayConfig:
    """What a relay needs; ``minuta relay`` fills it from flags and the environment."""

    engine: Engine
    tokens: TokenConfig
    max_frame_bytes: int = MAX_FRAME_BYTES
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    compact_every_s: float = 60.0
    compact_min_rows: int = 500
    web_dir: Path | None = None  # the built web page (default: the installed ``minuta_web``)
    backend: Backend | None = None  # the workers' (default: the heuristics)
    workers: WorkerOptions = field(default_factory=WorkerOptions)
    run_workers: bool = True  # False: ``minuta worker`` runs them in another process
    login: LoginLimits = field(default_factory=LoginLimits)
    connector_box: SecretBox | None = None  # MINUTA_CONNECTOR_KEY's; None: connectors off
    dispatch: bool = True  # False: ``minuta connectors dispatch`` sends the pushes
    dispatch_options: DispatchOptions = field(default_factory=DispatchOptions)
    redis_url: str | None = None  # one of several relays on one PostgreSQL (relay/peers.py)
    redis_prefix: str = "minuta"
    audio_dir: Path | None = None  # uploaded audio (``--upload-audio``); None: refused
    retention: RetentionOptions | None = field(default_factory=RetentionOptions)  # None: off


@dataclass(frozen=True)
class Services:
    """The long-lived parts an app uses; :func:`relay.server.serve_relay` owns them."""

    log: UpdateLog
    rooms: Rooms
    projector: Projector
    metrics: Metrics
    workers: Workers
    dispatcher: Dispatcher | None = None  # None: no MINUTA_CONNECTOR_KEY, connectors off

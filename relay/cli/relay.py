"""``minuta relay``: serve sync, the REST API and the web page with Hypercorn.

Configuration: flags, else ``MINUTA_DATA_DIR`` (default ./data), ``DATABASE_URL`` (default
a SQLite file in the data folder) and ``JWT_SECRET`` (required, 32+ characters, unless
``--dev``, which makes a random one for this run). The database must be migrated first
(``minuta db upgrade``). ``--port 0`` picks a free port; the URL is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from typing import TYPE_CHECKING, Any

from engine import CommandError as CliError
from engine import protocol

from .. import logs
from ..auth import TokenConfig, resolve_secret
from ..db import NotMigratedError
from .db import add_database_arguments, open_engine

if TYPE_CHECKING:
    from ..connectors import SecretBox


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "relay",
        help="run the relay server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks one)")
    p.add_argument("--dev", action="store_true", help="allow running without JWT_SECRET")
    p.add_argument(
        "--max-frame-bytes",
        type=int,
        default=protocol.MAX_FRAME_BYTES,
        help="largest websocket frame accepted",
    )
    p.add_argument(
        "--max-frames-per-s",
        type=float,
        default=1000,
        help="per-connection rate limit: a faster client is slowed down (default 1000)",
    )
    p.add_argument(
        "--max-connects-per-s",
        type=float,
        default=5,
        help="new websocket connections per user (and per address before login); "
        "bursts of 6x pass (default 5)",
    )
    p.add_argument(
        "--presence-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="close a browser's connection when its presence is not renewed for this long "
        "(its network is gone; default 120)",
    )
    p.add_argument(
        "--compact-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how often to compact transcripts with 500+ stored updates (default 60)",
    )
    p.add_argument(
        "--retention-every",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how often to delete the transcripts past their retention period (default "
        "3600; 0 turns it off here, e.g. when `minuta db retention` runs from cron)",
    )
    p.add_argument(
        "--workers-finals",
        type=int,
        default=20,
        metavar="N",
        help="run the summary and action workers once N final segments changed (default 20)",
    )
    p.add_argument(
        "--workers-wait",
        type=float,
        nargs=2,
        default=(30.0, 60.0),
        metavar=("MIN", "MAX"),
        help="or after MIN seconds of activity and a pause, at the latest MAX (default 30 60)",
    )
    p.add_argument(
        "--no-workers",
        action="store_true",
        help="do not run the summary and action workers here (`minuta worker` does)",
    )
    p.add_argument(
        "--no-dispatch",
        action="store_true",
        help="do not send connector pushes here (`minuta connectors dispatch` does)",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or None,
        help="run as one of several relays on one PostgreSQL database, updates crossing "
        "through this Redis (default $REDIS_URL)",
    )
    p.add_argument(
        "--redis-prefix",
        default="minuta",
        help="the Redis channels' prefix: one per service sharing a Redis (default minuta)",
    )
    p.add_argument("--certfile", help="serve https/wss with this certificate (PEM)")
    p.add_argument("--keyfile", help="the certificate's private key (PEM)")
    add_database_arguments(p)
    p.set_defaults(run=run)


def connector_box() -> SecretBox | None:
    """The connectors' key, if ``MINUTA_CONNECTOR_KEY`` is set (else connectors are off)."""
    from relay.connectors import KEY_ENV, SecretBox, SecretError

    if not os.environ.get(KEY_ENV):
        return None
    try:
        return SecretBox.from_env()
    except SecretError as exc:
        raise CliError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from hypercorn.config import Config

    from relay.app import RelayConfig
    from relay.db import check_migrated
    from relay.limits import ConnectionLimits, RateLimit
    from relay.retention import RetentionOptions
    from relay.server import serve_relay
    from relay.workers import LlmBackend, LlmConfig, WorkerOptions

    # First: what is logged from here on (and a bad MINUTA_LOG_REDACT stops here).
    errorlog = logs.setup()
    tls = _tls_files(args.certfile, args.keyfile) if args.certfile or args.keyfile else None
    try:
        secret = resolve_secret(os.environ.get("JWT_SECRET"), dev=args.dev)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    engine = open_engine(args, "open the database")
    if args.redis_url and engine.dialect.name != "postgresql":
        raise CliError("--redis-url needs a PostgreSQL database (--database-url): several "
                       "relays share its update log")  # fmt: skip
    if args.redis_url and not args.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise CliError("--redis-url must be a redis://, rediss:// or unix:// URL")
    try:
        check_migrated(engine)
    except NotMigratedError as exc:
        raise CliError(str(exc)) from None
    rates = (args.max_frames_per_s, args.max_connects_per_s, args.compact_every)
    if min(*rates, args.presence_timeout) <= 0:
        raise CliError(
            "--max-frames-per-s, --max-connects-per-s, --compact-every and "
            "--presence-timeout must be positive"
        )
    limits = ConnectionLimits(
        frames=RateLimit(args.max_frames_per_s, burst=2 * args.max_frames_per_s),
        bytes=RateLimit(4 * 2**20, burst=max(8 * 2**20, 2 * args.max_frame_bytes)),
        connects=RateLimit(args.max_connects_per_s, burst=6 * args.max_connects_per_s),
        presence_silence_s=args.presence_timeout,
    )
    low, high = args.workers_wait
    if args.workers_finals < 1 or not 0 < low <= high:
        raise CliError("--workers-finals must be 1 or more, and --workers-wait 0 < MIN <= MAX")
    llm = LlmConfig.from_env()  # MINUTA_LLM_URL: an OpenAI-compatible server for the workers
    relay_config = RelayConfig(
        engine,
        TokenConfig(secret),
        args.max_frame_bytes,
        limits=limits,
        compact_every_s=args.compact_every,
        backend=LlmBackend(llm) if llm is not None else None,
        workers=WorkerOptions(every_finals=args.workers_finals, min_wait_s=low, max_wait_s=high),
        run_workers=not args.no_workers,
        connector_box=connector_box(),
        dispatch=not args.no_dispatch,
        redis_url=args.redis_url,
        redis_prefix=args.redis_prefix,
        # Uploaded audio (--upload-audio) next to the embedded database, outside SQL.
        audio_dir=args.data_dir / "audio",
        retention=RetentionOptions(every_s=args.retention_every)
        if args.retention_every > 0
        else None,
    )
    # Bind here so that --port 0 can report the port it got.
    listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.host, args.port))
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    listener.listen(128)
    listener.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{listener.fileno()}"]
    # The relay closes frames over the limit with 4400, which stops browsers retrying;
    # Hypercorn's own cap (close code 1009) only stops frames far beyond it.
    config.websocket_max_message_size = 2 * args.max_frame_bytes
    config.accesslog = None
    scheme = "http"
    if tls is not None:
        config.certfile, config.keyfile = tls
        scheme = "https"
    port = listener.getsockname()[1]
    ws = "wss" if scheme == "https" else "ws"
    print(
        f"Minuta relay on {scheme}://{args.host}:{port} (sync at {ws}://{args.host}:{port}/sync/ID)",
        flush=True,
    )
    # Our own messages (failed snapshots, compactions) and Hypercorn's on stderr, with
    # personal data masked (MINUTA_LOG_REDACT, relay/logs.py).
    config.errorlog = errorlog
    asyncio.run(serve_relay(relay_config, config))
    return 0


def _tls_files(certfile: str | None, keyfile: str | None) -> tuple[str, str]:
    """Both files, readable and a matching pair, or a plain error (not one at the first
    handshake)."""
    import ssl

    if not certfile or not keyfile:
        raise CliError("TLS needs both --certfile and --keyfile")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise CliError(f"cannot use {certfile} with {keyfile}: {exc}") from None
    return certfile, keyfile

"""``minuta worker RELAY_URL``: the summary and action workers as a separate process.

By default the relay runs them itself; start it with ``--no-workers`` and run this
instead (on the same machine or another). It signs in as an editor or admin account
(``--username`` or ``$MINUTA_USERNAME``, the password from ``$MINUTA_PASSWORD``; a
service keeps no token file), watches the relay's transcripts, keeps a synced copy of
each active one and writes actions and summaries into it, which the relay stores and
relays like any client's update. ``MINUTA_LLM_URL`` selects an LLM backend, as for the
relay.

``--dispatch`` also sends the org's connector pushes (start the relay with
``--no-dispatch``): it takes an admin account and the relay's ``MINUTA_CONNECTOR_KEY``,
claims due pushes over the REST API and calls the vendors from here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import TYPE_CHECKING, Any

import anyio

from engine import CommandError as CliError

from .. import logs
from ..workers import WORKER_LEASE_S, LlmBackend, LlmConfig, WorkerOptions, Workers
from ..workers._client import RelayLogin, RelayLoginError
from ..workers._remote import RemoteDocs

if TYPE_CHECKING:
    from ..connectors import Dispatcher, SecretBox


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "worker",
        help="run the summary and action workers against a relay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "relay",
        metavar="RELAY_URL",
        help="e.g. http://127.0.0.1:8765; several relays of one service: URL,URL,…",
    )
    p.add_argument("--username", default=os.environ.get("MINUTA_USERNAME"))
    p.add_argument(
        "--poll", type=float, default=5.0, metavar="SECONDS",
        help="how often to look for changed transcripts (default 5)",
    )  # fmt: skip
    p.add_argument("--workers-finals", type=int, default=20, metavar="N")
    p.add_argument(
        "--workers-wait", type=float, nargs=2, default=(30.0, 60.0), metavar=("MIN", "MAX")
    )
    p.add_argument(
        "--dispatch",
        action="store_true",
        help="also send connector pushes (an admin account and MINUTA_CONNECTOR_KEY)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    password = os.environ.get("MINUTA_PASSWORD")
    if not args.username or password is None:
        raise CliError("set --username (or MINUTA_USERNAME) and MINUTA_PASSWORD")
    urls = [u.strip().rstrip("/") for u in args.relay.split(",") if u.strip()]
    if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
        raise CliError(f"RELAY_URL must start with http:// or https://, not {args.relay!r}")
    relay_url = urls[0]
    login = RelayLogin(relay_url, args.username, password, alternates=urls[1:])
    low, high = args.workers_wait
    if args.poll <= 0 or args.workers_finals < 1 or not 0 < low <= high:
        raise CliError("--poll must be positive, --workers-finals 1 or more, 0 < MIN <= MAX")
    llm = LlmConfig.from_env()
    # Leased: other worker processes, or relays, may run on the same transcripts.
    options = WorkerOptions(
        every_finals=args.workers_finals, min_wait_s=low, max_wait_s=high, lease_s=WORKER_LEASE_S
    )
    logs.setup()  # on stderr, personal data masked (MINUTA_LOG_REDACT, relay/logs.py)

    box = _connector_box() if args.dispatch else None

    async def main() -> None:
        try:
            await login.sign_in()
            dispatcher = await _dispatcher(login, box) if box is not None else None
        except RelayLoginError as exc:
            raise CliError(str(exc)) from None
        workers: Workers | None = None

        def changed(transcript_id: str) -> None:
            if workers is not None:
                workers.touch(transcript_id)

        docs = RemoteDocs(login, on_change=changed, poll_s=args.poll)
        workers = Workers(docs, LlmBackend(llm) if llm else None, options=options)
        print(f"Minuta workers on {relay_url}", flush=True)
        async with anyio.create_task_group() as tg:
            tg.start_soon(docs.run)
            tg.start_soon(workers.run)
            if dispatcher is not None:
                tg.start_soon(dispatcher.run)

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(main)
    return 0


def _connector_box() -> SecretBox:
    from ..connectors import SecretBox, SecretError

    try:
        return SecretBox.from_env()
    except SecretError as exc:
        raise CliError(str(exc)) from None


async def _dispatcher(login: RelayLogin, box: SecretBox) -> Dispatcher:
    from ..connectors import Dispatcher
    from ..connectors._remote import RemoteOutbox

    outbox = RemoteOutbox(login)
    await outbox.check()  # an account that may not dispatch says so now, not in a loop
    return Dispatcher(outbox, box)

"""``minuta connectors``: push transcripts' notes and action items to CRMs and task tools.

Run on the relay's machine, against its database (like ``minuta users``), with the key
the relay uses in ``MINUTA_CONNECTOR_KEY`` (``minuta connectors key`` makes one).

  key                                   print a new key for MINUTA_CONNECTOR_KEY
  add TARGET --org ORG --to K=V ...     add a connector (hubspot, pipedrive, notion,
                                        trello, webhook); the credential is JSON in
                                        $MINUTA_CONNECTOR_CREDENTIAL, or read from stdin
  list --org ORG                        the org's connectors (never their credentials)
  remove CONNECTOR_ID --org ORG         remove one, with its queued pushes
  test CONNECTOR_ID --org ORG           one harmless call; says plainly what is wrong
  push TRANSCRIPT_ID --connector ID     queue the note and actions for sending
  pushes TRANSCRIPT_ID --org ORG        each push's state
  dispatch [--once]                     send what is queued (the relay does it too,
                                        unless started with --no-dispatch)

Example:
    MINUTA_CONNECTOR_CREDENTIAL='{"token": "pat-na1-…"}' minuta connectors add hubspot \\
        --org acme --to object_type=deals --to object_id=1234 --send both
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import CommandError as CliError

from ..db import DocUpdate, NotMigratedError, Transcript, check_migrated
from .db import add_database_arguments, one_line, open_engine

CREDENTIAL_ENV = "MINUTA_CONNECTOR_CREDENTIAL"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "connectors",
        help="push notes and actions to HubSpot, Pipedrive, Notion, Trello or a webhook",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="connectors_command", metavar="ACTION", required=True)
    key = actions.add_parser("key", help="print a new MINUTA_CONNECTOR_KEY")
    key.set_defaults(run=run_key)
    add = actions.add_parser("add", help="add a connector", description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add.add_argument("target", choices=("hubspot", "pipedrive", "notion", "trello", "webhook"))
    add.add_argument("--org", required=True)
    add.add_argument("--name", default="")
    add.add_argument("--to", action="append", default=[], metavar="KEY=VALUE",
                     help="where things go, e.g. list_id=… (repeat)")  # fmt: skip
    add.add_argument("--send", choices=("note", "actions", "both"), default="both")
    add.add_argument("--include-transcript", action="store_true",
                     help="also send the transcript's text (never audio)")  # fmt: skip
    add.set_defaults(run=run_add)
    for name, help_text, run in (
        ("list", "list the org's connectors", run_list),
        ("remove", "remove a connector", run_remove),
        ("test", "check a connector's credential and destination", run_test),
    ):
        action = actions.add_parser(name, help=help_text)
        if name != "list":
            action.add_argument("connector_id", metavar="CONNECTOR_ID")
        action.add_argument("--org", required=True)
        action.set_defaults(run=run)
    push = actions.add_parser("push", help="queue a transcript's note and actions")
    push.add_argument("transcript_id", metavar="TRANSCRIPT_ID")
    push.add_argument("--connector", required=True, metavar="CONNECTOR_ID")
    push.set_defaults(run=run_push)
    states = actions.add_parser("pushes", help="each push's state")
    states.add_argument("transcript_id", metavar="TRANSCRIPT_ID")
    states.add_argument("--org", required=True)
    states.set_defaults(run=run_pushes)
    dispatch = actions.add_parser("dispatch", help="send what is queued")
    dispatch.add_argument("--once", action="store_true", help="one round, then exit")
    dispatch.add_argument("--lease", type=float, default=120.0, metavar="S",
                          help="seconds a row stays claimed by a dispatcher that may have "
                               "died, before another takes it (default 120)")  # fmt: skip
    dispatch.set_defaults(run=run_dispatch)
    for action in actions.choices.values():
        if action is not key:
            add_database_arguments(action)


def run_key(args: argparse.Namespace) -> int:
    from ..connectors import new_key

    print(new_key())
    return 0


def _box() -> Any:
    from ..connectors import SecretBox, SecretError

    try:
        return SecretBox.from_env()
    except SecretError as exc:
        raise CliError(str(exc)) from None


def _engine(args: argparse.Namespace) -> Engine:
    engine = open_engine(args, "use the connectors")
    try:
        check_migrated(engine)
    except NotMigratedError as exc:
        raise CliError(str(exc)) from None
    return engine


def _credential() -> dict[str, Any]:
    raw = os.environ.get(CREDENTIAL_ENV)
    if raw is None:
        if sys.stdin.isatty():
            print("Credential (JSON, one line):", end=" ", file=sys.stderr, flush=True)
        raw = sys.stdin.readline()
    try:
        value = json.loads(raw)
    except ValueError:
        raise CliError(f"the credential must be a JSON object (in ${CREDENTIAL_ENV})") from None
    if not isinstance(value, dict):
        raise CliError(f"the credential must be a JSON object (in ${CREDENTIAL_ENV})")
    return value


def run_add(args: argparse.Namespace) -> int:
    from ..connectors import ConnectorError, ConnectorSpec, add_connector

    destination: dict[str, Any] = {}
    for pair in args.to:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--to takes KEY=VALUE, got {pair!r}")
        destination[key] = value
    spec = ConnectorSpec(
        target=args.target,
        credential=_credential(),
        destination=destination,
        name=args.name,
        send=args.send,
        include_transcript=args.include_transcript,
    )
    box, engine = _box(), _engine(args)
    try:
        row = add_connector(engine, box, args.org, spec, created_by=None)
    except ConnectorError as exc:
        raise CliError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise CliError(f"cannot add the connector: {one_line(exc)}") from None
    finally:
        engine.dispose()
    print(f"Added {row['connector_id']} ({row['target']}) to {args.org}.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..connectors import list_connectors

    engine = _engine(args)
    try:
        rows = list_connectors(engine, args.org)
    finally:
        engine.dispose()
    if not rows:
        print(f"{args.org} has no connectors.")
    for row in rows:
        where = ", ".join(f"{k}={v}" for k, v in row["destination"].items() if k != "base_url")
        print(f"{row['connector_id']}  {row['target']:<9}  {row['name']}  sends {row['send']}"
              + (f"  to {where}" if where else ""))  # fmt: skip
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from ..connectors import remove_connector

    engine = _engine(args)
    try:
        if not remove_connector(engine, args.org, args.connector_id):
            raise CliError(f"{args.org} has no connector {args.connector_id}")
    finally:
        engine.dispose()
    print(f"Removed {args.connector_id}.")
    return 0


def run_test(args: argparse.Namespace) -> int:
    import anyio

    from ..connectors import SecretError, TargetError, open_connector, target_of
    from ..connectors.targets._base import vendor_client

    box, engine = _box(), _engine(args)
    try:
        opened = open_connector(engine, box, args.org, args.connector_id)
    except SecretError as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    if opened is None:
        raise CliError(f"{args.org} has no connector {args.connector_id}")
    target = target_of(str(opened.row["target"]))

    async def call() -> str:
        async with vendor_client(20) as http:
            return await target.test(http, opened.credential, opened.row["destination"])

    try:
        found = anyio.run(call)
    except TargetError as exc:
        raise CliError(f"{args.connector_id} ({target.name}): {exc.reason}") from None
    print(f"{args.connector_id} ({target.name}): ok, {found}.")
    return 0


def run_push(args: argparse.Namespace) -> int:
    from ..connectors import enqueue, list_connectors
    from ..reading import render

    engine = _engine(args)
    try:
        with Session(engine) as session:
            transcript = session.get(Transcript, args.transcript_id)
            if transcript is None:
                raise CliError(f"there is no transcript {args.transcript_id}")
            org_id = transcript.org_id
            updates = list(
                session.scalars(
                    select(DocUpdate.data)
                    .where(DocUpdate.transcript_id == args.transcript_id)
                    .order_by(DocUpdate.seq)
                )
            )
        found = [c for c in list_connectors(engine, org_id) if c["connector_id"] == args.connector]
        if not found:
            raise CliError(f"{org_id} has no connector {args.connector}")
        rows = enqueue(
            engine, {**found[0], "org_id": org_id}, render(updates, "snapshot"), requested_by=None
        )
    finally:
        engine.dispose()
    print(f"Queued {len(rows)} item(s) for {args.connector}; `minuta connectors pushes` "
          "shows how they go.")  # fmt: skip
    return 0


def run_pushes(args: argparse.Namespace) -> int:
    from ..connectors import pushes

    engine = _engine(args)
    try:
        rows = pushes(engine, args.org, args.transcript_id)
    finally:
        engine.dispose()
    if not rows:
        print(f"Nothing was pushed for {args.transcript_id}.")
    for row in rows:
        detail = row["external_id"] if row["state"] == "sent" else row["last_error"] or ""
        print(f"{row['push_id']:>6}  {row['connector_id']}  {row['item']:<24}  "
              f"{row['state']:<7}  {row['attempts']} attempt(s)  {detail}")  # fmt: skip
    return 0


def run_dispatch(args: argparse.Namespace) -> int:
    import anyio

    from ..connectors import Dispatcher, DispatchOptions

    if args.lease <= 0:
        raise CliError("--lease must be positive")
    box, engine = _box(), _engine(args)
    dispatcher = Dispatcher(engine, box, DispatchOptions(lease_s=args.lease))
    try:
        if args.once:
            sent = anyio.run(dispatcher.run_once)
            print(f"Tried {sent} push(es).")
        else:
            anyio.run(dispatcher.run)
    except KeyboardInterrupt:
        pass
    except SQLAlchemyError as exc:
        raise CliError(f"cannot dispatch: {one_line(exc)}") from None
    finally:
        engine.dispose()
    return 0

"""``minuta users add USERNAME --org ORG --role admin|editor|viewer``: a relay account.

The password comes from ``$MINUTA_PASSWORD``, or a prompt (asked twice). It is stored
only as an Argon2id hash. The org is created on first use.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from relay.auth import MIN_PASSWORD_LENGTH, hash_password
from relay.db import ROLES, NotMigratedError, Org, User, check_migrated, writer

from ._common import CliError
from .db import add_database_arguments, one_line, open_engine


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "users", help="manage relay accounts", description=__doc__
    )
    actions = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="create an account",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("username", metavar="USERNAME")
    add.add_argument("--org", required=True, help="the organization the user belongs to")
    add.add_argument("--role", required=True, choices=ROLES)
    add_database_arguments(add)
    add.set_defaults(run=run_add)


def _password() -> str:
    if (env := os.environ.get("MINUTA_PASSWORD")) is not None:
        return env
    if not sys.stdin.isatty():
        raise CliError("set MINUTA_PASSWORD, or run in a terminal to be asked for the password")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise CliError("the two passwords differ")
    return first


def run_add(args: argparse.Namespace) -> int:
    username = args.username.strip()
    if not username or len(username) > 128:
        raise CliError("a username needs 1 to 128 characters")
    password = _password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CliError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    engine = open_engine(args, "add the user")
    try:
        check_migrated(engine)
        with Session(writer(engine)) as session, session.begin():
            if session.query(User).filter_by(username=username).first() is not None:
                raise CliError(f"the user {username!r} exists already")
            if session.get(Org, args.org) is None:
                session.add(Org(org_id=args.org, name=args.org))
                session.flush()  # the user's foreign key needs the org row first
            session.add(
                User(
                    username=username,
                    org_id=args.org,
                    role=args.role,
                    password_hash=hash_password(password),
                )
            )
    except NotMigratedError as exc:
        raise CliError(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(f"cannot add the user: {one_line(exc)}") from None
    finally:
        engine.dispose()
    print(f"Added {username} to {args.org} as {args.role}.")
    return 0

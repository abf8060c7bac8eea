"""``minuta users add|disable|enable|set-role``: the relay's accounts.

``add USERNAME --org ORG --role admin|editor|viewer`` creates one: the password comes from
``$MINUTA_PASSWORD``, or a prompt (asked twice), and is stored only as an Argon2id hash;
the org is created on first use. ``disable USERNAME`` stops the account at its next login
or token refresh (an access token already issued lasts its 15 minutes, and an open
websocket closes when that token expires); ``enable USERNAME`` undoes it. ``set-role
USERNAME --role ROLE`` takes effect at the user's next login or refresh.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import CommandError as CliError

from ..auth import MIN_PASSWORD_LENGTH, hash_password
from ..db import ROLES, NotMigratedError, Org, User, check_migrated, writer
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
    for name, help_text in (("disable", "refuse the account's logins and refreshes"),
                            ("enable", "let a disabled account sign in again")):  # fmt: skip
        p_state = actions.add_parser(name, help=help_text, description=__doc__)
        p_state.add_argument("username", metavar="USERNAME")
        add_database_arguments(p_state)
        p_state.set_defaults(run=run_disable if name == "disable" else run_enable)
    role = actions.add_parser("set-role", help="change an account's role", description=__doc__)
    role.add_argument("username", metavar="USERNAME")
    role.add_argument("--role", required=True, choices=ROLES)
    add_database_arguments(role)
    role.set_defaults(run=run_set_role)


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


def _change(args: argparse.Namespace, change: Callable[[User], None], done: str) -> int:
    """Apply ``change`` to the user named ``args.username``, then print ``done``."""
    username = args.username.strip()
    engine = open_engine(args, "change the user")
    try:
        check_migrated(engine)
        with Session(writer(engine)) as session, session.begin():
            user = session.query(User).filter_by(username=username).first()
            if user is None:
                raise CliError(f"there is no user {username!r}")
            change(user)
    except NotMigratedError as exc:
        raise CliError(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(f"cannot change the user: {one_line(exc)}") from None
    finally:
        engine.dispose()
    print(done.format(username=username))
    return 0


def run_disable(args: argparse.Namespace) -> int:
    return _change(args, lambda user: setattr(user, "disabled", True), "Disabled {username}.")


def run_enable(args: argparse.Namespace) -> int:
    return _change(args, lambda user: setattr(user, "disabled", False), "Enabled {username}.")


def run_set_role(args: argparse.Namespace) -> int:
    return _change(
        args,
        lambda user: setattr(user, "role", args.role),
        f"Set the role of {{username}} to {args.role}.",
    )

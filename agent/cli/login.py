"""``minuta login RELAY_URL``: sign in to a relay and keep its tokens for ``--relay``.

The username comes from ``--username`` or ``$MINUTA_USERNAME``, the password from
``$MINUTA_PASSWORD`` or a prompt. Tokens go to ``~/.config/minuta/credentials.json``
(mode 0600); the password is not kept.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from ..credentials import CredentialStore, LoginError, login
from ._common import CliError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "login",
        help="sign in to a relay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("relay", metavar="RELAY_URL", help="e.g. http://127.0.0.1:8765")
    p.add_argument("--username", default=os.environ.get("MINUTA_USERNAME"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    username = args.username
    password = os.environ.get("MINUTA_PASSWORD")
    if username is None or password is None:
        if not sys.stdin.isatty():
            raise CliError("set MINUTA_USERNAME and MINUTA_PASSWORD, or run in a terminal")
        username = username or input("Username: ").strip()
        password = password or getpass.getpass("Password: ")
    try:
        tokens = login(args.relay, username, password)
    except LoginError as exc:
        raise CliError(str(exc)) from None
    CredentialStore().put(tokens)
    print(f"Logged in to {tokens.relay_url} as {username}.")
    return 0

"""``minuta db upgrade``: bring the relay's database to the latest schema.

Safe to run on every deploy: it applies only the migrations the database lacks.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from engine import CommandError as CliError

from ..db import DatabaseUrlError, connect, default_database_url, upgrade


def add_database_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MINUTA_DATA_DIR") or os.environ.get("DATA_DIR") or "data"),
        help="the relay's data folder (default: $MINUTA_DATA_DIR or $DATA_DIR, else ./data)",
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="SQLAlchemy URL (default: $DATABASE_URL, else a SQLite file in the data folder)",
    )


def database_url(args: argparse.Namespace) -> str | URL:
    return args.database_url or default_database_url(args.data_dir)


def open_engine(args: argparse.Namespace, doing: str) -> Engine:
    """The database of ``--database-url`` / ``--data-dir``, or a one-line CliError."""
    try:
        return connect(database_url(args))
    except DatabaseUrlError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot {doing}: {exc.strerror}: {exc.filename}") from None


def one_line(exc: BaseException) -> str:
    """A driver error without SQLAlchemy's "Background on this error" lines."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "db", help="manage the relay's database", description=__doc__
    )
    actions = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply pending migrations", description=__doc__)
    add_database_arguments(up)
    up.set_defaults(run=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    engine = open_engine(args, "upgrade the database")
    try:
        before, now = upgrade(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(f"cannot upgrade the database: {one_line(exc)}") from None
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == now:
        print(f"{where} is up to date (migration {now}).")
    else:
        print(f"Upgraded {where} from {before or 'empty'} to migration {now}.")
    return 0

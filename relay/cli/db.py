"""``minuta db upgrade``: bring the relay's database to the latest schema.
``minuta db retention``: delete what has expired, or set an org's retention period.

``upgrade`` is safe to run on every deploy: it applies only the migrations the database
lacks.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import CommandError as CliError

from ..db import (
    DatabaseUrlError,
    NotMigratedError,
    check_migrated,
    connect,
    default_database_url,
    upgrade,
)


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
    keep = actions.add_parser(
        "retention",
        help="delete the transcripts past their retention period now (the relay does it "
        "hourly), or set an org's period",
        description=RETENTION_HELP,
    )
    keep.add_argument("--org", metavar="ORG", help="with --days: the org whose period to set")
    keep.add_argument("--days", type=int, metavar="N", help="keep the org's transcripts N days "
                      "(0: forever; default 90)")  # fmt: skip
    keep.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    add_database_arguments(keep)
    keep.set_defaults(run=run_retention)


RETENTION_HELP = """Each org keeps its transcripts 90 days unless set otherwise (--org ORG --days N;
0 keeps them forever); a transcript's own retention_days (PATCH /transcripts/ID, an admin)
overrides its org's. Without --org, deletes what has expired now: update log, segments,
actions, search index and audio, each with an `expire` audit event."""


def run_retention(args: argparse.Namespace) -> int:
    from ..audio import AudioStore
    from ..db import Org, writer
    from ..retention import Retention, RetentionOptions

    engine = open_engine(args, "open the database")
    try:
        check_migrated(engine)
        if args.org is not None or args.days is not None:
            if args.org is None or args.days is None or not 0 <= args.days <= 36500:
                raise CliError("set a period with both --org ORG and --days N (0 to 36500)")
            with Session(writer(engine)) as session, session.begin():
                org = session.get(Org, args.org)
                if org is None:
                    raise CliError(f"no org {args.org}")
                org.retention_days = args.days
            kept = "forever" if args.days == 0 else f"{args.days} days"
            print(f"{args.org} keeps its transcripts {kept}.")
            return 0
        job = Retention(engine, AudioStore(args.data_dir / "audio"), RetentionOptions())
        if args.dry_run:
            expired = job.expired()
            for transcript_id, org_id, days in expired:
                print(f"{transcript_id}\t{org_id}\t{days} days")
            more = " (the first batch)" if len(expired) == job.options.batch else ""
            print(f"{len(expired)} transcripts have expired{more}.")
            return 0
        deleted = anyio.run(job.run_once)
        print(f"Deleted {deleted} expired transcripts.")
        return 0
    except NotMigratedError as exc:
        raise CliError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise CliError(f"cannot apply retention: {one_line(exc)}") from None
    finally:
        engine.dispose()


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

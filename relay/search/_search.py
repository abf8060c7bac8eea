"""Running a search on either database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..db import as_utc
from . import _postgres, _sqlite
from ._query import CANDIDATES, SearchHit, SearchPage, SearchQuery
from ._snippet import highlight


def search(engine: Engine, query: SearchQuery) -> SearchPage:
    """The hits for ``query``, best first (blocking: run it in a worker thread)."""
    if not query.terms:
        return SearchPage([], query.limit, query.offset, None)
    backend = _postgres if engine.dialect.name == "postgresql" else _sqlite
    with Session(engine) as session:
        found = backend.candidates(session, query)
    # Best first; among equals, the most recent transcript, then its order.
    found.sort(key=lambda r: (-float(r.rank), -_epoch(r.created_at), r.transcript_id, r.t0))
    rows = found[query.offset : query.offset + query.limit + 1]
    more = len(rows) > query.limit
    items: list[SearchHit] = []
    for row in rows[: query.limit]:
        snippet, marks = highlight(row.text, query.terms)
        items.append(
            {
                "transcript_id": row.transcript_id,
                "title": row.title,
                "started_at": row.started_at,
                "segment_id": row.segment_id,
                "t0": row.t0,
                "t1": row.t1,
                "speaker": row.speaker,
                "snippet": snippet,
                "highlights": marks,
                "rank": round(float(row.rank), 6),
            }
        )
    next_offset = query.offset + query.limit if more else None
    if next_offset is not None and next_offset >= CANDIDATES:
        next_offset = None
    return SearchPage(items, query.limit, query.offset, next_offset)


def _epoch(at: datetime | str) -> float:
    """A time as seconds (a raw SQLite query gives the stored text back)."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return as_utc(at).timestamp()

"""Search on SQLite: FTS5 (``unicode61 remove_diacritics 2`` folds case and accents),
every query word a prefix, scored by BM25.

FTS5 walks a term's rows in rowid order, newest first when asked, and stops at the
limit: when more than :data:`CANDIDATES` segments match, those scored are the most
recently written ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from ._query import SearchQuery, filters


def candidates(session: Session, query: SearchQuery) -> list[Row[Any]]:
    where, params = filters(query)
    # Words only (\w+), so nothing in them is FTS5 syntax; each matches as a prefix.
    params["match"] = " ".join(f'"{t}"*' for t in query.terms)
    sql = f"""
        SELECT s.transcript_id, s.segment_id, s.t0, s.t1, s.speaker, s.text,
               t.title, t.started_at, t.created_at, -bm25(segment_search) AS rank
        FROM segment_search
        JOIN segments s ON s.rowid = segment_search.rowid
        JOIN transcripts t ON t.transcript_id = s.transcript_id
        WHERE segment_search MATCH :match AND {where}
        ORDER BY segment_search.rowid DESC
        LIMIT :candidates
    """  # the WHERE is ours; the user's values are bound
    return list(session.execute(text(sql), params))

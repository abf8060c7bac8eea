"""Search on PostgreSQL: each segment's tsvector (in its language, unaccented) matched by
the query in every language the index uses, each word a prefix, scored by
``ts_rank_cd``; when whole words find too little, the trigram index finds the query
inside words (scored 0, after the rest).

The matches scored are the latest :data:`CANDIDATES` written (``segments.search_seq``,
an identity column). The planner picks, from the words' statistics: for a common word it
walks ``search_seq`` backwards and stops at the limit (1.5 ms for a word in 118,000 of
300,000 segments, where reading every match through the GIN index took 0.9 s); for a
rare one it reads the GIN index. So the tsquery is written into the WHERE, where the
planner sees it, not in a CTE.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from ._query import CANDIDATES, SearchQuery, filters
from ._snippet import fold

_CONFIGS = ("minuta_simple", "minuta_english", "minuta_spanish")
_COLUMNS = """s.transcript_id, s.segment_id, s.t0, s.t1, s.speaker, s.text,
              t.title, t.started_at, t.created_at"""


def candidates(session: Session, query: SearchQuery) -> list[Row[Any]]:
    where, params = filters(query)
    # Words only (\w+): nothing in them is tsquery syntax.
    params["tsquery"] = " & ".join(f"{t}:*" for t in query.terms)
    tsq = "(" + " || ".join(f"to_tsquery('{c}', :tsquery)" for c in _CONFIGS) + ")"
    found = list(
        session.execute(
            text(f"""SELECT {_COLUMNS}, ts_rank_cd(s.search, {tsq}) AS rank FROM segments s
                     JOIN transcripts t ON t.transcript_id = s.transcript_id
                     WHERE s.search @@ {tsq} AND {where}
                     ORDER BY s.search_seq DESC LIMIT :candidates"""),
            params,
        )  # the WHERE is ours; the user's values are bound
    )
    phrase = fold(" ".join(query.q.split()))
    if len(found) < query.offset + query.limit + 1 and len(phrase) >= 3:
        seen = {(r.transcript_id, r.segment_id) for r in found}
        escaped = phrase.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        inside = session.execute(
            text(f"""SELECT {_COLUMNS}, 0.0 AS rank FROM segments s
                     JOIN transcripts t ON t.transcript_id = s.transcript_id
                     WHERE minuta_fold(s.text) LIKE :like AND {where}
                     ORDER BY s.search_seq DESC LIMIT :candidates"""),
            {**params, "like": f"%{escaped}%"},
        )
        found += [r for r in inside if (r.transcript_id, r.segment_id) not in seen]
    return found[:CANDIDATES]

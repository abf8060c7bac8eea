"""What a search asks for, what it answers, and the SQL both databases share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from ._snippet import terms

MAX_TERMS = 16  # words of a query used; the rest is noise for a segment-sized text
# Matches ranked per query: all of them when fewer match, else the latest ones (of the
# most recent transcripts). Ranking every segment that holds a common word (a third of
# 300,000) took 0.9 s on PostgreSQL; pages beyond this many hits are not offered.
CANDIDATES = 500


class SearchHit(TypedDict):
    transcript_id: str
    title: str
    started_at: str | None
    segment_id: str
    t0: float
    t1: float
    speaker: str | None
    snippet: str
    highlights: list[list[int]]
    rank: float


@dataclass(frozen=True)
class SearchQuery:
    """One page of a search in one org's transcripts.

    ``since``/``until`` bound when the transcript was created (``until`` excluded).
    """

    q: str
    org_id: str
    speaker: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0  # hits beyond CANDIDATES are not offered
    terms: list[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", terms(self.q)[:MAX_TERMS])


@dataclass(frozen=True)
class SearchPage:
    items: list[SearchHit]
    limit: int
    offset: int
    next_offset: int | None

    def json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": self.next_offset,
        }


def filters(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    """The SQL both databases share: the org, the speaker, the dates."""
    where = ["t.org_id = :org_id"]
    params: dict[str, Any] = {"org_id": query.org_id, "candidates": CANDIDATES}
    if query.speaker:
        where.append("lower(s.speaker) = lower(:speaker)")
        params["speaker"] = query.speaker
    if query.since is not None:
        where.append("t.created_at >= :since")
        params["since"] = query.since
    if query.until is not None:
        where.append("t.created_at < :until")
        params["until"] = query.until
    return " AND ".join(where), params

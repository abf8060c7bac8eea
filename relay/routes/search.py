"""``GET /search``: the segments of the caller's org that match a query, ranked and paged."""

from __future__ import annotations

from datetime import datetime, timedelta

from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue

from ..db import as_utc
from ..errors import ApiError
from ..inputs import MAX_INT_ARG, int_arg, text_field
from ..search import SearchQuery, search
from ._context import RouteContext

QUERY_CHARS = 200


def register(app: Quart, ctx: RouteContext) -> None:
    @app.get("/search")
    async def search_transcripts() -> ResponseReturnValue:
        claims = ctx.bearer()
        args = request.args
        q = (text_field({"q": args.get("q")}, "q", max_chars=QUERY_CHARS) or "").strip()
        query = SearchQuery(
            q=q,
            org_id=claims.org_id,
            speaker=(
                text_field({"speaker": args.get("speaker")}, "speaker", max_chars=200) or None
            ),
            since=_day(args.get("from"), "from"),
            until=_day(args.get("to"), "to", end=True),
            limit=int_arg(args.get("limit"), "limit", default=20, low=1, high=100),
            offset=int_arg(args.get("offset"), "offset", default=0, low=0, high=MAX_INT_ARG),
        )
        if not query.terms:
            raise ApiError(400, "q: give at least one word to search for")
        page = await ctx.run_db(search, ctx.engine, query)
        return jsonify(page.json())


def _day(raw: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A date (``2026-12-04``: ``to`` takes the whole day) or an ISO 8601 time, as UTC."""
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name}: a date (YYYY-MM-DD) or an ISO 8601 time") from None
    at = as_utc(at)
    if end and len(raw) == 10:  # a day: up to its end
        at += timedelta(days=1)
    return at

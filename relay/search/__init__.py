"""Search across an org's transcripts: segments ranked by how well they match.

The index lives in the database (migration 0005) and triggers on ``segments`` keep it
current, so what the projector writes (a human edit included) is searchable once it is
projected, and a deleted segment or transcript drops out with its rows. SQLite uses FTS5
with a tokenizer that folds case and accents; PostgreSQL a tsvector per segment in its
language (unaccented) and a trigram index for parts of words.

Example:
    >>> from relay.search import SearchQuery
    >>> SearchQuery(q="reunión", org_id="acme").terms
    ['reunion']
"""

from ._query import SearchHit as SearchHit
from ._query import SearchPage as SearchPage
from ._query import SearchQuery as SearchQuery
from ._search import search as search

__all__ = ["SearchHit", "SearchPage", "SearchQuery", "search"]

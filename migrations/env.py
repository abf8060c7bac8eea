"""Alembic environment: migrations run on the engine the caller passes in.

``minuta db upgrade`` (relay.db.upgrade) puts the engine in ``config.attributes``; there
is no alembic.ini to keep in sync with the relay's own configuration.
"""

from __future__ import annotations

from alembic import context

from relay.db import Base, include_object

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,  # the search index is made by hand (0005)
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    context.run_migrations()

"""deleted transcripts: ids that are never stored or created again

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 13:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deleted_transcripts",
        sa.Column("transcript_id", sa.String(length=128), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("transcript_id"),
    )


def downgrade() -> None:
    op.drop_table("deleted_transcripts")

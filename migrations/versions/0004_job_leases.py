"""job leases

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 02:49:54.313491
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("transcript_id", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "transcript_id"),
    )


def downgrade() -> None:
    op.drop_table("job_leases")

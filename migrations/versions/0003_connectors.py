"""connectors: targets per org, the push outbox, vendor ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 01:43:46.606161
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("connector_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("destination", sa.JSON(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("send", sa.String(length=8), nullable=False),
        sa.Column("include_transcript", sa.Boolean(), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.org_id"],
        ),
        sa.PrimaryKeyConstraint("connector_id"),
    )
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connectors_org_id"), ["org_id"], unique=False)

    op.create_table(
        "connector_links",
        sa.Column("connector_id", sa.String(length=64), nullable=False),
        sa.Column("transcript_id", sa.String(length=128), nullable=False),
        sa.Column("item", sa.String(length=160), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.connector_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connector_id", "transcript_id", "item"),
    )
    op.create_table(
        "connector_pushes",
        sa.Column(
            "push_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("connector_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("transcript_id", sa.String(length=128), nullable=False),
        sa.Column("item", sa.String(length=160), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("requested_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.connector_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("push_id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("connector_pushes", schema=None) as batch_op:
        batch_op.create_index("ix_connector_pushes_due", ["state", "next_at"], unique=False)
        batch_op.create_index(
            "ix_connector_pushes_item", ["connector_id", "transcript_id", "item"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_connector_pushes_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_connector_pushes_transcript_id"), ["transcript_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("connector_pushes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connector_pushes_transcript_id"))
        batch_op.drop_index(batch_op.f("ix_connector_pushes_org_id"))
        batch_op.drop_index("ix_connector_pushes_item")
        batch_op.drop_index("ix_connector_pushes_due")

    op.drop_table("connector_pushes")
    op.drop_table("connector_links")
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connectors_org_id"))

    op.drop_table("connectors")

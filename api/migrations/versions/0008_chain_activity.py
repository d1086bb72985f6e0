"""The dashboard's analytics: each event's on-chain activity (sales, resales, revocations,
refunds) with block times, and the follower's cursor per event.

Revision ID: 0008_chain_activity
Revises: 0007_event_time_offsets
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_chain_activity"
down_revision: str | None = "0007_event_time_offsets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chain_activity",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tier_index", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.BigInteger(), nullable=True),
        sa.Column("price_wei", sa.String(length=78), nullable=False),
        sa.Column("royalty_wei", sa.String(length=78), nullable=False),
        sa.Column("seller", sa.String(length=42), nullable=True),
        sa.Column("buyer", sa.String(length=42), nullable=True),
        sa.Column("order_ref", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "tx_hash", "log_index"),
    )
    op.create_index("ix_chain_activity_event_time", "chain_activity", ["event_id", "block_time"])
    op.create_table(
        "activity_cursors",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("event_id"),
    )


def downgrade() -> None:
    op.drop_table("activity_cursors")
    op.drop_index("ix_chain_activity_event_time", table_name="chain_activity")
    op.drop_table("chain_activity")

"""Gate hub tables: check-ins pushed by gate devices, their cursors and conflicts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_devices",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("event", sa.String(42), nullable=False),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("gate_devices_event_gate", "gate_devices", ["event", "gate_id"])
    op.create_table(
        "gate_event_heads",
        sa.Column("event", sa.String(42), primary_key=True),
        sa.Column("pushes", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "gate_checkins",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event", sa.String(42), nullable=False),
        sa.Column("nullifier", sa.String(66), nullable=False),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("checked_at", sa.Float(), nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("challenge", sa.String(66), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("event", "nullifier", "gate_id", name="gate_checkins_one_use_per_gate"),
    )
    op.create_index("gate_checkins_event_seq", "gate_checkins", ["event", "seq"])


def downgrade() -> None:
    op.drop_index("gate_checkins_event_seq", table_name="gate_checkins")
    op.drop_table("gate_checkins")
    op.drop_table("gate_event_heads")
    op.drop_index("gate_devices_event_gate", table_name="gate_devices")
    op.drop_table("gate_devices")

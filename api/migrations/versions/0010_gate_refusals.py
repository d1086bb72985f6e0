"""Gate hub: refusal counts per event, device, reason code and minute (issue 12, refusals by
reason on the dashboard); counts only, never nullifiers.

Revision ID: 0010_gate_refusals
Revises: 0009_gate_uses_per_device
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_gate_refusals"
down_revision: str | None = "0009_gate_uses_per_device"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gate_refusals",
        sa.Column("event", sa.String(42), primary_key=True),
        sa.Column("device", sa.String(32), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("minute", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("gate_refusals_event_minute", "gate_refusals", ["event", "minute"])


def downgrade() -> None:
    op.drop_index("gate_refusals_event_minute", table_name="gate_refusals")
    op.drop_table("gate_refusals")

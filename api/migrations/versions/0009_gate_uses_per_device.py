"""Gate hub: a use is unique per device's admission (event, nullifier, gate id, checked_at) and
rows record the pushing device, so two devices sharing a gate id that admit the same ticket are
a conflict, not a duplicate (issue 9 item 9).

Revision ID: 0009_gate_uses_per_device
Revises: 0008_chain_activity
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_gate_uses_per_device"
down_revision: str | None = "0008_chain_activity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gate_checkins") as batch:
        batch.add_column(sa.Column("device", sa.String(32), nullable=True))
        batch.drop_constraint("gate_checkins_one_use_per_gate", type_="unique")
        batch.create_unique_constraint(
            "gate_checkins_one_use_per_device", ["event", "nullifier", "gate_id", "checked_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("gate_checkins") as batch:
        batch.drop_constraint("gate_checkins_one_use_per_device", type_="unique")
        batch.create_unique_constraint(
            "gate_checkins_one_use_per_gate", ["event", "nullifier", "gate_id"]
        )
        batch.drop_column("device")

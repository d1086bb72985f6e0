"""Gate hub: the hub's own device keys go (``gate_devices``, ``fgg_...`` bearer keys, issued only
by tests). Gate devices authenticate with the bridge's gate keys alone (``api_keys`` with role
gate, named for their gate by 0014). A device still holding an ``fgg_`` key needs a bridge gate
key (``fairgate organizer gate-key EVENT --gate NAME``). The downgrade brings the empty table
back, not the keys.

Revision ID: 0013_drop_hub_device_keys
Revises: 0012_order_request_id
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_drop_hub_device_keys"
down_revision: str | None = "0012_order_request_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("gate_devices_event_gate", table_name="gate_devices")
    op.drop_table("gate_devices")


def downgrade() -> None:
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

"""A bridge gate key names its gate (``api_keys.gate_name``): the gate id of the check-ins its
device pushes to the hub, so that several devices can stand at one gate. Existing gate keys keep
the gate id they had (``gate-<key id>``, a gate of their own).

Revision ID: 0014_gate_key_names
Revises: 0013_drop_hub_device_keys
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_gate_key_names"
down_revision: str | None = "0013_drop_hub_device_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("gate_name", sa.String(64), nullable=True))
    op.execute("UPDATE api_keys SET gate_name = 'gate-' || key_id WHERE role = 'gate'")


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("gate_name")

"""Gate hub tables: check-ins pushed by gate devices, their cursors and conflicts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from gate.hub_migration import downgrade as gate_hub_downgrade
from gate.hub_migration import upgrade as gate_hub_upgrade

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    gate_hub_upgrade()


def downgrade() -> None:
    gate_hub_downgrade()

"""Gate hub: a use is unique per device's admission (event, nullifier, gate id, checked_at) and
rows record the pushing device, so two devices sharing a gate id that admit the same ticket are
a conflict, not a duplicate (issue 9 item 9).

Revision ID: 0009_gate_uses_per_device
Revises: 0008_chain_activity
"""

from __future__ import annotations

from collections.abc import Sequence

from gate.hub_migration import downgrade_one_use_per_device, upgrade_one_use_per_device

revision: str = "0009_gate_uses_per_device"
down_revision: str | None = "0008_chain_activity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_one_use_per_device()


def downgrade() -> None:
    downgrade_one_use_per_device()

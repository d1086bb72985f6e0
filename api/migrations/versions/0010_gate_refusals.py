"""Gate hub: refusal counts per event, device, reason code and minute (issue 12, refusals by
reason on the dashboard); counts only, never nullifiers.

Revision ID: 0010_gate_refusals
Revises: 0009_gate_uses_per_device
"""

from __future__ import annotations

from collections.abc import Sequence

from gate.hub_migration import downgrade_refusals, upgrade_refusals

revision: str = "0010_gate_refusals"
down_revision: str | None = "0009_gate_uses_per_device"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_refusals()


def downgrade() -> None:
    downgrade_refusals()

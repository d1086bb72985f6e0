"""Event times keep the offset they were given: ``starts_at``/``ends_at`` hold UTC (naive, on
SQLite and PostgreSQL alike) and ``*_offset_min`` the sender's UTC offset in minutes, so an event
sent as ``20:00:00+01:00`` comes back as ``20:00:00+01:00`` (the same instant, the same wall time).

Revision ID: 0007_event_time_offsets
Revises: 0006_second_factor
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_event_time_offsets"
down_revision: str | None = "0006_second_factor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("starts_at_offset_min", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("ends_at_offset_min", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("ends_at_offset_min")
        batch_op.drop_column("starts_at_offset_min")

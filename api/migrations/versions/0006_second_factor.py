"""The dashboard's second factor: TOTP secrets and one-time recovery codes (stored hashed).

Revision ID: 0006_second_factor
Revises: 0005_dashboard_accounts
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_second_factor"
down_revision: str | None = "0005_dashboard_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "second_factors",
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organizer_id"], ["organizers.id"]),
        sa.PrimaryKeyConstraint("organizer_id"),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organizer_id"], ["organizers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(op.f("ix_recovery_codes_organizer_id"), "recovery_codes", ["organizer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recovery_codes_organizer_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("second_factors")

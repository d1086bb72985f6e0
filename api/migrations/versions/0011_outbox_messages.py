"""Ticket e-mails: the outbox the worker sends over SMTP (issue 15, notifications).

Revision ID: 0011_outbox_messages
Revises: 0010_gate_refusals
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_outbox_messages"
down_revision: str | None = "0010_gate_refusals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_outbox_messages_order_id", "outbox_messages", ["order_id"])
    op.create_index("ix_outbox_state_due", "outbox_messages", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state_due", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_order_id", table_name="outbox_messages")
    op.drop_table("outbox_messages")

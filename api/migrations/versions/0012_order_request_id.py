"""Orders keep the request id of the request that made them (fairgate.logs): the webhook that
pays an order and the worker that mints it log under the same id, so one grep follows an order.

Revision ID: 0012_order_request_id
Revises: 0011_outbox_messages
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_order_request_id"
down_revision: str | None = "0011_outbox_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("request_id")

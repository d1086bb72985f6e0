"""Sequential order refs: given at the first mint claim from a per-event counter.

``events.order_refs_issued`` counts the refs handed out; ``orders.order_ref`` is NULL until the
order is first claimed for minting. A ref is ``event id << 64 | n``: unique across events, and
consecutive within one, so the contract's fulfilled-orders bitmap writes one word per 256 orders
instead of one per order (a random ref costs a fresh 22,100-gas slot each). Refs already given
(hashes of the order id) are kept as they are: the contract treats any non-zero ref alike.

Revision ID: 0004_sequential_order_refs
Revises: 0003_event_deploy_intent
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_sequential_order_refs"
down_revision: str | None = "0003_event_deploy_intent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("order_refs_issued", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("order_ref", existing_type=sa.String(length=66), nullable=True)


def downgrade() -> None:
    # orders never claimed get the ref the earlier code would have given them
    orders = sa.table("orders", sa.column("id", sa.String), sa.column("order_ref", sa.String))
    bind = op.get_bind()
    for (order_id,) in bind.execute(sa.select(orders.c.id).where(orders.c.order_ref.is_(None))):
        ref = "0x" + hashlib.sha256(b"fairgate-order:" + order_id.encode()).hexdigest()
        bind.execute(orders.update().where(orders.c.id == order_id).values(order_ref=ref))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("order_ref", existing_type=sa.String(length=66), nullable=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("order_refs_issued")

"""Events created by the bridge settle in ETH or an ERC-20 token (issue 14): the token's address,
with the symbol and decimals read from it at creation, so prices show in its units without a
call to the chain. NULL is ETH (every event before this revision).

Revision ID: 0015_event_chain_currency
Revises: 0014_gate_key_names
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_event_chain_currency"
down_revision: str | None = "0014_gate_key_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("chain_currency", sa.String(42), nullable=True))
        batch.add_column(sa.Column("chain_currency_symbol", sa.String(16), nullable=True))
        batch.add_column(sa.Column("chain_currency_decimals", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("chain_currency_decimals")
        batch.drop_column("chain_currency_symbol")
        batch.drop_column("chain_currency")

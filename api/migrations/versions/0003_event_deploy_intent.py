"""Crash-safe event deployment and a reorg-aware indexer cursor.

``events.deploy_owner``: the wallet the event is handed to once set up (NULL: the operator keeps
it); ``events.deploy_txs``: every transaction of the deployment, recorded (hash, nonce, raw bytes)
before it is broadcast, so a reconciliation after a crash finds the clone instead of deploying a
second one; ``events.deploy_error``: the last error of the deployment. ``events.indexed_block_hash``
is the hash of the indexer's cursor block (a reorg changes it) and ``events.index_journal`` what
the indexer applied from its last blocks, so a rewind can take it back.

Revision ID: 0003_event_deploy_intent
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_event_deploy_intent"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deploy_owner", sa.String(length=42), nullable=True))
        batch_op.add_column(sa.Column("deploy_txs", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("deploy_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("indexed_block_hash", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("index_journal", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("index_journal")
        batch_op.drop_column("indexed_block_hash")
        batch_op.drop_column("deploy_error")
        batch_op.drop_column("deploy_txs")
        batch_op.drop_column("deploy_owner")

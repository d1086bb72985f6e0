"""Alembic migration snippet for the hub's tables (:mod:`gate.hub`), to merge into the bridge.

The bridge owns ``api/`` and its Alembic folder; paste ``upgrade``/``downgrade`` into a new
revision there (``alembic revision -m "gate hub tables"``) or call them from one::

    from gate.hub_migration import downgrade as gate_hub_downgrade, upgrade as gate_hub_upgrade

    def upgrade() -> None:
        gate_hub_upgrade()

    def downgrade() -> None:
        gate_hub_downgrade()

``upgrade``, ``upgrade_one_use_per_device`` (0009) and ``upgrade_refusals`` (0010) create
exactly what :func:`gate.hub.create_hub_tables` creates (a test checks that Alembic's
autogenerate finds no difference).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    op.create_table(
        "gate_devices",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("event", sa.String(42), nullable=False),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("gate_devices_event_gate", "gate_devices", ["event", "gate_id"])
    op.create_table(
        "gate_event_heads",
        sa.Column("event", sa.String(42), primary_key=True),
        sa.Column("pushes", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "gate_checkins",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event", sa.String(42), nullable=False),
        sa.Column("nullifier", sa.String(66), nullable=False),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("checked_at", sa.Float(), nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("challenge", sa.String(66), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("event", "nullifier", "gate_id", name="gate_checkins_one_use_per_gate"),
    )
    op.create_index("gate_checkins_event_seq", "gate_checkins", ["event", "seq"])


def upgrade_one_use_per_device() -> None:
    """Revision 0009: a use is unique per (event, nullifier, gate_id, checked_at), and rows say
    which device pushed them: two devices sharing a gate id are a conflict, not a duplicate."""
    with op.batch_alter_table("gate_checkins") as batch:
        batch.add_column(sa.Column("device", sa.String(32), nullable=True))
        batch.drop_constraint("gate_checkins_one_use_per_gate", type_="unique")
        batch.create_unique_constraint(
            "gate_checkins_one_use_per_device", ["event", "nullifier", "gate_id", "checked_at"]
        )


def downgrade_one_use_per_device() -> None:
    with op.batch_alter_table("gate_checkins") as batch:
        batch.drop_constraint("gate_checkins_one_use_per_device", type_="unique")
        batch.create_unique_constraint(
            "gate_checkins_one_use_per_gate", ["event", "nullifier", "gate_id"]
        )
        batch.drop_column("device")


def downgrade() -> None:
    op.drop_index("gate_checkins_event_seq", table_name="gate_checkins")
    op.drop_table("gate_checkins")
    op.drop_table("gate_event_heads")
    op.drop_index("gate_devices_event_gate", table_name="gate_devices")
    op.drop_table("gate_devices")


def upgrade_refusals() -> None:
    """Revision 0010: per device, reason and minute, the gate's cumulative refusal count."""
    op.create_table(
        "gate_refusals",
        sa.Column("event", sa.String(42), primary_key=True),
        sa.Column("device", sa.String(32), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("minute", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("gate_refusals_event_minute", "gate_refusals", ["event", "minute"])


def downgrade_refusals() -> None:
    op.drop_index("gate_refusals_event_minute", table_name="gate_refusals")
    op.drop_table("gate_refusals")

"""The Alembic migrations build exactly the models' schema and the gate hub's (no drift), on
PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.gate_hub import metadata as hub_metadata
from api.models import Base

pytestmark = [pytest.mark.postgres]


def test_migrations_match_models(engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), [Base.metadata, hub_metadata])
    assert diff == []

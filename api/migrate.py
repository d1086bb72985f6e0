"""Run the Alembic migrations from code (the worker and the tests call it; so can deployments).

``python -m api.migrate`` is ``alembic -c api/alembic.ini upgrade head``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

INI = Path(__file__).with_name("alembic.ini")


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = Config(str(INI))
    config.attributes["configure_logging"] = False
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


if __name__ == "__main__":
    from api.db import make_engine
    from fairgate.settings import get_settings

    upgrade(make_engine(get_settings()))

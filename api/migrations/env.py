"""Alembic environment: the bridge's models, the URL from the settings (or ``-x url=``)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from api.db import make_engine
from api.gate_hub import metadata as hub_metadata
from api.models import Base
from fairgate.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=[Base.metadata, hub_metadata], render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:  # a caller (tests, api.migrate) passes its own connection
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url")
    settings = get_settings()
    if url:
        settings = settings.model_copy(update={"database_url": url})
    engine = make_engine(settings)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()

"""Alembic environment of the grid directory.

Programmatic use passes an open connection in `config.attributes["connection"]`
(see grids.db.upgrade); from the shell the URL comes from `sqlalchemy.url` or,
when unset, from the application's Settings (DATABASE_URL or the SQLite default).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from grids.db import VERSION_TABLE, create
from grids.model import metadata

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.settings import Settings

    return Settings.from_env().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, version_table=VERSION_TABLE,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create(_url())
    try:
        with engine.begin() as fresh:
            _configure(fresh)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

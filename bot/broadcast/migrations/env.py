"""Alembic environment of the broadcaster (see grids.db.run_migration_env)."""

from bot.broadcast.db import VERSION_TABLE
from bot.broadcast.tables import metadata
from grids.db import run_migration_env

run_migration_env(metadata, VERSION_TABLE)

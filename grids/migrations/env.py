"""Alembic environment of the grid directory (see grids.db.run_migration_env)."""

from grids.db import VERSION_TABLE, run_migration_env
from grids.model import metadata

run_migration_env(metadata, VERSION_TABLE)

"""Alembic environment of the grid directory (see core.db.run_migration_env)."""

from core.db import run_migration_env
from grids.db import VERSION_TABLE
from grids.model import metadata

run_migration_env(metadata, VERSION_TABLE)

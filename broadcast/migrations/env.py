"""Alembic environment of the broadcaster (see core.db.run_migration_env)."""

from broadcast.db import VERSION_TABLE
from broadcast.tables import metadata
from core.db import run_migration_env

run_migration_env(metadata, VERSION_TABLE)

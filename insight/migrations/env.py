"""Alembic environment of the statistics (see core.db.run_migration_env)."""

from core.db import run_migration_env
from insight.db import VERSION_TABLE
from insight.tables import metadata

run_migration_env(metadata, VERSION_TABLE)

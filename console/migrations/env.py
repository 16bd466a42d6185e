"""Alembic environment of the staff console (see core.db.run_migration_env)."""

from console.db import VERSION_TABLE
from console.tables import metadata
from core.db import run_migration_env

run_migration_env(metadata, VERSION_TABLE)

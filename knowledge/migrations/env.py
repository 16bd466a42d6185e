"""Alembic environment of the knowledge (see core.db.run_migration_env)."""

from core.db import run_migration_env
from knowledge.db import VERSION_TABLE
from knowledge.tables import metadata

run_migration_env(metadata, VERSION_TABLE)

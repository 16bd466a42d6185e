"""Alembic environment of the tickets (see core.db.run_migration_env)."""

from core.db import run_migration_env
from tickets.db import VERSION_TABLE
from tickets.tables import metadata

run_migration_env(metadata, VERSION_TABLE)

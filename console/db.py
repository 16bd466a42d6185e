"""Schema of the staff console: its own Alembic migrations and version table, in the
application's database (engines and the runner are `core.db`'s)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from core import db as core_db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_console"


def upgrade(engine: Engine, revision: str = "head") -> None:
    core_db.upgrade(engine, MIGRATIONS_DIR, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    core_db.downgrade(engine, MIGRATIONS_DIR, revision)

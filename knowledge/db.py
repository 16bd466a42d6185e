"""Schema of the knowledge base: its own Alembic migrations and version table, in the
application's database (engines and the runner are `core.db`'s)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from core import db as core_db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_knowledge"


def upgrade(engine: Engine, revision: str = "head") -> None:
    core_db.upgrade(engine, MIGRATIONS_DIR, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    core_db.downgrade(engine, MIGRATIONS_DIR, revision)


def is_migrated(engine: Engine) -> bool:
    """Whether the knowledge tables exist (readers that must not create them ask first)."""
    with engine.connect() as connection:
        return bool(inspect(connection).has_table("kb_state"))

"""Schema of the broadcaster: its own Alembic migrations and version table, in the
same database as the grid directory (`grids.db` owns engines and the runner)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from grids import db as grid_db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_broadcast"


def upgrade(engine: Engine, revision: str = "head") -> None:
    grid_db.upgrade(engine, revision, MIGRATIONS_DIR)


def downgrade(engine: Engine, revision: str = "base") -> None:
    grid_db.downgrade(engine, revision, MIGRATIONS_DIR)


def upgrade_all(engine: Engine) -> None:
    """Every schema the application keeps in its database."""
    grid_db.upgrade(engine)
    upgrade(engine)

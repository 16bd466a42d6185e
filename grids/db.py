"""The grid directory's schema: its Alembic migrations (`grids/migrations`) and
version table. Engines and the runner are `core.db`'s; `engine_for` and friends
are re-exported here for the directory's callers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from core import db as core_db
from core.db import create, dispose_all, engine_for, new_session, sessions

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_grids"

__all__ = ["MIGRATIONS_DIR", "VERSION_TABLE", "create", "current_revision", "dispose_all",
           "downgrade", "engine_for", "new_session", "sessions", "upgrade"]


def upgrade(engine: Engine, revision: str = "head") -> None:
    core_db.upgrade(engine, MIGRATIONS_DIR, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    core_db.downgrade(engine, MIGRATIONS_DIR, revision)


def current_revision(engine: Engine) -> str | None:
    return core_db.current_revision(engine, VERSION_TABLE)

"""Alembic migrations of the broadcaster (see broadcast.db.upgrade)."""

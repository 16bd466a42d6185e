"""Alembic migrations of the statistics (see insight.db.upgrade)."""

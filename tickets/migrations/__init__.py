"""Alembic migrations of the tickets (see tickets.db.upgrade)."""

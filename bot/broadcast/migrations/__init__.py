"""Alembic migrations of the broadcaster (see bot.broadcast.db.upgrade)."""

"""Alembic migrations of the grid directory (see grids.db.upgrade); env.py and versions/
live here so that they ship with the package."""

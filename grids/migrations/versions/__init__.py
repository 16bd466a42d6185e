"""Migration scripts of the grid directory, applied in order by Alembic."""

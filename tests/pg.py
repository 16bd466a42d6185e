"""Throw-away PostgreSQL schemas on the server at 127.0.0.1:5432 (trust auth, user
postgres, database `test`); each URL selects its schema through `search_path`."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

from grids import db

PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


class PostgresSchemas:
    """Creates throw-away schemas and drops them all at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.admin = create_engine(PG_SERVER, future=True)

    def new_url(self) -> str:
        name = f"grids_test_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        self.created.append(name)
        return f"{PG_SERVER}?options=-csearch_path%3D{name}"

    def drop_all(self) -> None:
        db.dispose_all()
        with self.admin.begin() as connection:
            for name in self.created:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.admin.dispose()

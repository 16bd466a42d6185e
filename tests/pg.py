"""Throw-away PostgreSQL schemas on the server at 127.0.0.1:5432 (trust auth, user
postgres, database `test`); each URL selects its schema through `search_path`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
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


def schemas_or_skip() -> Iterator[PostgresSchemas]:
    """Body of a pytest fixture: the schemas, dropped afterwards; skips without a server."""
    try:
        schemas = PostgresSchemas()
        with schemas.admin.connect():
            pass
    except Exception as exc:  # no server: the postgres-marked tests skip
        pytest.skip(f"PostgreSQL not available: {exc.__class__.__name__}")
    yield schemas
    schemas.drop_all()

"""Databases for the grid directory's integration tests.

Every test runs on SQLite and, marked `postgres`, on the PostgreSQL server at
127.0.0.1:5432 (trust auth, user postgres, database `test`). Each PostgreSQL
database gets a schema of its own (via the URL's search_path), dropped at the end.
The committed sample is imported once per backend and shared read-only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from grids import db
from grids.importer import import_path
from grids.service import forget_services
from tests.pg import PostgresSchemas, schemas_or_skip

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "grids" / "sample"
def _quiet_jieba() -> None:
    import jieba

    jieba.setLogLevel(logging.WARNING)


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[PostgresSchemas]:
    yield from schemas_or_skip()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _new_url(backend: str, folder: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'grids-{uuid.uuid4().hex[:8]}.db'}"
    return request.getfixturevalue("pg_schemas").new_url()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty directory database."""
    _quiet_jieba()
    url = _new_url(request.param, tmp_path, request)
    engine = db.create(url)
    db.upgrade(engine)
    engine.dispose()
    yield url
    forget_services()


@pytest.fixture(scope="session", params=BACKENDS)
def seeded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding the committed sample; tests must not change it."""
    _quiet_jieba()
    url = _new_url(request.param, tmp_path_factory.mktemp("seeded"), request)
    engine = db.create(url)
    db.upgrade(engine)
    import_path(engine, SAMPLE)
    engine.dispose()
    return url

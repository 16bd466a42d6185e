from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import PostgresSchemas, schemas_or_skip


@pytest.fixture
def pg() -> Iterator[PostgresSchemas]:
    yield from schemas_or_skip()

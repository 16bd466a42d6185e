from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from core.db import create
from tests.insight_scenario import migrate, seed_directory


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine)
    seed_directory(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def source_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create(f"sqlite:///{tmp_path / 'events.db'}")
    yield engine
    engine.dispose()

"""Fixtures of the knowledge-base and statistics pages' tests: the real staff app
(`bot.app.create_app`) as in tests/integration/console, over a project directory
holding copies of data/answers and domain.yml (so the knowledge base is seeded), and
conversations written the way Rasa's SQL event broker writes them
(DATA_DIR/events.db), which the app's own statistics loop ingests."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.compose import open_engine
from console.sessions import SessionPolicy
from core.db import engine_for
from insight.tables import TurnRow
from tests.fakes.broadcast import FakeGroupPlatforms
from tests.insight_scenario import broker_dicts, write_events
from tests.integration.console.conftest import Desk, serving, settings_for

ROOT = Path(__file__).resolve().parents[3]
OWN_GROUP = ("web", "web-d001-s01-c01-g01")         # D001-S01-C01-G01, the coordinator's
OTHER_GROUP = ("wecom", "wr1acdafebe1060fdc")        # D001-S02-C01-G01, another street


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeGroupPlatforms]:
    async with FakeGroupPlatforms(onebot_limit=(60, 1.0)) as platforms:
        yield platforms


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory,
               fake: FakeGroupPlatforms) -> AsyncIterator[Desk]:
    root = tmp_path_factory.mktemp("console-kb")
    shutil.copytree(ROOT / "data" / "answers", root / "data" / "answers")
    shutil.copy(ROOT / "domain.yml", root / "domain.yml")
    settings = settings_for(root, fake)
    async with serving(settings, fake, SessionPolicy(per_account=20, per_address=200)) as desk:
        yield desk


def write_turns(desk: Desk, turns: Sequence[tuple[str, list[Any]]]) -> None:
    """Conversations as Rasa's SQL event broker writes them, where the app reads them."""
    write_events(engine_for(f"sqlite:///{desk.settings.data_dir / 'events.db'}"),
                 broker_dicts(turns))


async def ingested(desk: Desk, count: int, timeout: float = 20.0) -> None:
    """Wait until the app's statistics loop has `count` turns in its fact table."""
    engine = open_engine(desk.settings)
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as c:
            have = int(c.execute(select(func.count()).select_from(TurnRow.__table__)).scalar_one())
        if have >= count:
            return
        assert time.monotonic() < deadline, f"only {have} of {count} turns ingested"
        await asyncio.sleep(0.3)

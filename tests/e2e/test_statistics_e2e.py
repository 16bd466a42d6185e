"""The statistics against the running assistant (rasa run + the action server, the
real model, the endpoints `cloud-doctor run` writes for the event broker): a question
asked in a registered QQ group of the sample directory, and one the bot cannot
understand, appear in the statistics with their grid, platform, topic and fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.clock import SHANGHAI
from core.db import create
from insight import db as insight_db
from insight.events import Keys
from insight.ingest import Ingester, Source
from insight.model import By, Period, Scope
from insight.runner import broker_database_url
from insight.service import Statistics
from tests.fakes import FAKES
from tests.fakes.base import free_port
from tests.fakes.stack import RasaStack

pytestmark = pytest.mark.model

GROUP = "901000013"           # 泰峰社区第3网格居民群 (sample): grid D001-S01-C02-G03
GRID = "D001-S01-C02-G03"
SECRET = b"e2e-statistics-key-0123456789"


class BrokeredStack(RasaStack):
    """The stack with the SQL event broker of `cloud-doctor run` in its endpoints."""

    def __init__(self, *args: Any, events_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events_url = events_url
        self.fake_port = 0

    def _spawn(self, name: str, command: list[str], env: Any) -> None:
        if name == "rasa":
            path = self.workdir / "endpoints.yml"
            endpoints = yaml.safe_load(path.read_text("utf-8"))
            endpoints["event_broker"] = {"type": "SQL", "url": self.events_url}
            path.write_text(yaml.safe_dump(endpoints), "utf-8")
        super()._spawn(name, command, env)


@pytest.fixture(scope="module")
def brokered_stack(full_model: Path, grid_database: str,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokeredStack]:
    workdir = tmp_path_factory.mktemp("statistics-stack")
    events_url = broker_database_url("sqlite:///unused.db", workdir)
    port = free_port()
    stack = BrokeredStack(full_model, {"onebot": FAKES["onebot"](port=port).credentials()},
                          workdir, events_url=events_url)
    stack.fake_port = port
    stack.start(timeout=150)
    try:
        yield stack
    finally:
        stack.stop()


async def test_questions_in_a_group_appear_in_the_statistics(
        brokered_stack: BrokeredStack, grid_database: str) -> None:
    engine = create(grid_database)
    insight_db.upgrade(engine)
    fake = FAKES["onebot"](port=brokered_stack.fake_port,
                           bot_url=brokered_stack.webhook("onebot"))
    async with fake:
        await fake.send_group_message(GROUP, "3001", "@云博士 农民工怎么入会？", user_name="王师傅")
        await fake.send_group_message(GROUP, "3002", "@云博士 喵喵喵喵咪", user_name="李师傅")
        await fake.wait_for_replies(2, timeout=90)
    ingester = Ingester(engine, Source.sql_broker(create(brokered_stack.events_url)), Keys(SECRET))
    for _ in range(50):                     # the tracker is saved after the reply is sent
        await asyncio.to_thread(ingester.ingest_all)
        stats = Statistics(engine)
        today = datetime.now(SHANGHAI).date()
        rows = stats.conversation(Period(today, today), Scope.of_grids({GRID}),
                                  By.PLATFORM).records()
        if rows and rows[0]["questions"] >= 2:
            break
        await asyncio.sleep(0.2)
    [row] = rows
    assert (row["key"], row["questions"], row["askers"]) == ("onebot", 2, 2)
    assert row["answered"] >= 1
    topics = stats.top_topics(Period(today, today), Scope.of_grids({GRID})).column("topic")
    assert "join_union" in topics

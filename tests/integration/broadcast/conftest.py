"""Fixtures of the broadcaster's integration tests: a fake of every platform's send
API and a temp database holding the fictitious directory pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine

from broadcast.dispatcher import Dispatcher, DispatcherConfig, DispatchStats
from broadcast.outbox import Outbox
from broadcast.pacing import DEFAULT_LIMITS, Limit
from broadcast.senders import OneBotAccount, Senders
from grids import db
from tests.fakes.broadcast import FakeGroupPlatforms
from tests.fakes.broadcast_directory import pointed_at, seed

# QQ pacing raised for tests (the fake allows 60 per second per account).
FAST_QQ = Limit(40.0, 10)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGroupPlatforms]:
    async with FakeGroupPlatforms(onebot_limit=(60, 1.0)) as platforms:
        yield platforms


@pytest.fixture
def engine(tmp_path: Path, fake: FakeGroupPlatforms) -> Engine:
    engine = db.create(f"sqlite:///{tmp_path / 'broadcast.db'}")
    seed(engine, pointed_at(fake))
    return engine


@pytest.fixture
def outbox(engine: Engine) -> Outbox:
    return Outbox(engine)


@pytest.fixture
def dispatch(outbox: Outbox, fake: FakeGroupPlatforms) -> Callable[..., object]:
    """Run a dispatcher until nothing is open; keyword arguments tune its config."""

    async def run(timeout: float = 5.0, **overrides: object) -> DispatchStats:
        limits = {**DEFAULT_LIMITS, "onebot": FAST_QQ, **overrides.pop("limits", {})}  # type: ignore[dict-item]
        config = DispatcherConfig(limits=limits, backoff_base=0.05, backoff_cap=0.5,
                                  poll=0.05, **overrides)  # type: ignore[arg-type]
        async with aiohttp.ClientSession() as session:
            senders = Senders(session, timeout=timeout,
                              onebot=OneBotAccount(fake.onebot_base_url))
            dispatcher = Dispatcher(outbox, senders, config=config)
            return await asyncio.wait_for(dispatcher.run(asyncio.Event(), until_idle=True), 60)

    return run

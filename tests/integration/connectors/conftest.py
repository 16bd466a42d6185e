"""Fixtures: a fake platform plus the bot (real Sanic server, stub agent) per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.harness import CHANNELS, SIGNED, Stack, make_stack


@pytest.fixture
async def stack_factory() -> AsyncIterator[Any]:
    stacks: list[Stack] = []

    async def factory(name: str, **credentials: Any) -> Stack:
        stack = await make_stack(name, **credentials)
        stacks.append(stack)
        return stack

    yield factory
    for stack in stacks:
        await stack.bot.stop()
        await stack.fake.stop()


@pytest.fixture(params=list(CHANNELS))
async def stack(request: pytest.FixtureRequest, stack_factory: Any) -> Stack:
    return await stack_factory(request.param)


@pytest.fixture(params=SIGNED)
async def signed_stack(request: pytest.FixtureRequest, stack_factory: Any) -> Stack:
    return await stack_factory(request.param)

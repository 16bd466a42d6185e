"""Train the real pipeline with a tiny config once and exercise the in-process
assistant and the CLI against it (fast; accuracy is the full model's job)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from bot.assistant import Assistant
from core.topics import contract

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def assistant(small_model: Path) -> Assistant:
    return await Assistant.load(small_model)


async def test_normaliser_runs_inside_the_pipeline(assistant: Assistant) -> None:
    parse = await assistant.parse("@云博士 申請入會要什麼條件？？😂")
    assert parse["text"] == "申请入会要什么条件?"
    assert parse["original_text"] == "@云博士 申請入會要什麼條件？？😂"


async def test_every_answer_reports_a_contract_topic(assistant: Assistant) -> None:
    for text in ["@云博士 农民工怎么入会？", "谁家的快递放错了", "👍", "x" * 3000]:
        answer = await assistant.ask(text)
        assert answer.topic in contract()
        assert 0.0 <= answer.confidence <= 1.0
        assert isinstance(answer.answer, str)


async def test_conversation_state_is_per_sender(assistant: Assistant) -> None:
    first = await assistant.ask("@云博士 你好", sender_id="web:g1:u1", metadata={"group_id": "g1"})
    assert first.answer

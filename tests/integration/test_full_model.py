"""The real model (what `make run` serves): accuracy on the public dev set, the
story tests under tests/stories with `rasa test`, and answers in Chinese."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio

from bot.assistant import Assistant
from bot.evaluate import evaluate, format_report, load_questions

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def assistant(full_model: Path) -> Assistant:
    return await Assistant.load(full_model)


async def test_dev_set_accuracy_is_at_least_90_percent(assistant: Assistant,
                                                       project_root: Path) -> None:
    questions = load_questions(project_root / "tests" / "data" / "dev_questions.yml")
    report = await evaluate(questions, assistant.classify)
    print(format_report(report))
    assert report.accuracy >= 0.90, format_report(report)
    assert report.oos_decline_rate >= 0.90


async def test_joining_question_gets_the_joining_answer(assistant: Assistant) -> None:
    answer = await assistant.ask("@云博士 农民工怎么入会？")
    assert answer.topic == "join_union" and not answer.fallback
    assert "入会" in answer.answer and "12351" in answer.answer


async def test_referral_and_out_of_scope_answers(assistant: Assistant) -> None:
    referral = await assistant.ask("@云博士 住房公积金怎么提取")
    assert referral.topic == "gov_referral"
    assert "12345" in referral.answer or "公积金管理中心" in referral.answer
    family = await assistant.ask("@云博士 我想离婚，孩子的抚养权怎么争取")
    assert family.topic == "legal_referral" and not family.fallback
    assert "12348" in family.answer and "公共法律服务" in family.answer
    chatter = await assistant.ask("@云博士 今晚吃火锅还是烧烤")
    assert chatter.topic == "out_of_scope"


async def test_two_misses_in_a_row_ask_to_rephrase_then_offer_people(
        assistant: Assistant) -> None:
    sender = "test:g:two-misses"
    first = await assistant.ask("/nlu_fallback", sender_id=sender)
    assert "换个说法" in first.answer
    second = await assistant.ask("/nlu_fallback", sender_id=sender)
    assert "12351" in second.answer and "换个说法" not in second.answer


def test_story_tests_pass_with_rasa_test(full_model: Path, project_root: Path,
                                         tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--model", str(full_model),
         "--stories", "tests/stories", "--out", str(tmp_path), "--fail-on-prediction-errors"],
        cwd=project_root, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

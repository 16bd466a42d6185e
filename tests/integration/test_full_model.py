"""The real model (what `make run` serves): accuracy on the public dev set, the
story tests under tests/stories with `rasa test`, and answers in Chinese."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

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


def _response(name: str, project_root: Path) -> str:
    """The first variation of a response in data/answers/ (what the model answers)."""
    for path in sorted((project_root / "data" / "answers").glob("*.yml")):
        responses = yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}
        if name in responses:
            return str(responses[name][0]["text"]).strip()
    raise AssertionError(f"no response {name}")


async def test_held_out_set_is_answered_or_asked_back(assistant: Assistant,
                                                      project_root: Path) -> None:
    """A quality gate on the held-out set (bench/nlu.py prints the full figures):
    written before the training data, never trained on."""
    questions = load_questions(project_root / "tests" / "data" / "heldout_questions.yml")
    report = await evaluate(questions, assistant.classify)
    print(format_report(report))
    assert report.accuracy >= 0.90, format_report(report)
    assert report.confidently_wrong_rate <= 0.04, format_report(report)
    assert report.legal_kept_out_rate >= 0.90, format_report(report)


@pytest.mark.parametrize(("question", "follow_up", "topic", "aspect"), [
    ("@云博士 农民工怎么入会", "那要带啥材料？", "join_union", "materials"),
    ("@云博士 厂里干活手被机器压伤了 工伤怎么认定", "最晚什么时候申请", "work_injury", "time"),
    ("@云博士 职工医疗互助怎么参加", "另外收费吗？", "medical_mutual_aid", "cost"),
    ("@云博士 孩子考上大学了 金秋助学怎么申请", "要准备哪些材料", "education_aid", "materials"),
    ("@云博士 我想离婚，孩子的抚养权怎么争取", "是免费的吗", "legal_referral", "cost"),
])
async def test_a_follow_up_is_answered_for_the_topic_just_discussed(
        assistant: Assistant, project_root: Path, question: str, follow_up: str,
        topic: str, aspect: str) -> None:
    sender = f"wecom:g-follow:{topic}"
    first = await assistant.ask(question, sender_id=sender)
    assert first.topic == topic and not first.fallback
    second = await assistant.ask(follow_up, sender_id=sender)
    assert second.topic == topic and not second.fallback
    assert second.answer == _response(f"utter_followup_{topic}_{aspect}", project_root)
    # Someone else in the group asking the same has no context: asked which matter.
    stranger = await assistant.ask(follow_up, sender_id=f"wecom:g-follow:other-{topic}")
    assert stranger.fallback and "哪件事" in stranger.answer


@pytest.fixture
def sample_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fictitious sample grid directory, for the grid actions run in this process."""
    from core.settings import Settings
    from grids import db
    from grids.generator import SAMPLE_DIR
    from grids.importer import import_path
    from grids.service import forget_services

    url = f"sqlite:///{tmp_path / 'directory.db'}"
    engine = db.create(url)
    db.upgrade(engine)
    import_path(engine, SAMPLE_DIR)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    Settings.forget_current()
    forget_services()
    yield
    Settings.forget_current()
    forget_services()


async def test_where_to_go_after_an_answer_is_the_office_lookup(
        assistant: Assistant, sample_directory: None) -> None:
    sender = "cli:follow-where"
    await assistant.ask("@云博士 农民工怎么入会", sender_id=sender)
    answer = await assistant.ask("在哪办？", sender_id=sender)
    assert answer.topic == "join_union"
    # Not in a group: the office lookup asks for the address, then answers it.
    assert "办理入会" in answer.answer and "小区" in answer.answer
    office = await assistant.ask("联盟小区5号楼", sender_id=sender)
    assert "服务站" in office.answer and "12351" not in office.answer.splitlines()[0]


async def test_two_questions_in_one_message_get_both_answers(assistant: Assistant,
                                                             project_root: Path) -> None:
    answer = await assistant.ask("@云博士 会费交多少？怎么入会？")
    assert not answer.fallback
    dues = _response("utter_faq/union_dues", project_root)
    join = _response("utter_faq/join_union", project_root)
    assert dues in answer.answer and join in answer.answer
    assert answer.answer.index("①") < answer.answer.index(dues) < answer.answer.index("②")


def test_story_tests_pass_with_rasa_test(full_model: Path, project_root: Path,
                                         tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--model", str(full_model),
         "--stories", "tests/stories", "--out", str(tmp_path), "--fail-on-prediction-errors"],
        cwd=project_root, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

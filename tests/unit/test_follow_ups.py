"""Follow-up questions and several questions in one message, without a model: the
choice of texts over event dicts, and the two actions with CollectingDispatcher."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import (
    FOLLOW_UP_WINDOW,
    ActionAnswerFaq,
    ActionFollowUp,
    aspect_of,
    topic_in_context,
)

NOW = 1_800_000_000.0


def faq(topic: str, at: float, text: str = "问题") -> dict[str, Any]:
    return {"event": "user", "timestamp": at, "text": text, "parse_data": {
        "text": text, "intent": {"name": "faq", "confidence": 0.9},
        "response_selector": {"faq": {"response": {
            "intent_response_key": f"faq/{topic}", "confidence": 0.9}}}}}


def plain(intent: str, at: float, text: str = "问题", **extra: Any) -> dict[str, Any]:
    return {"event": "user", "timestamp": at, "text": text,
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.9}, **extra}}


@pytest.mark.parametrize(("text", "aspect"), [
    ("那要带啥材料？", "materials"), ("需要什么证件", "materials"), ("在哪办？", "where"),
    ("去哪里申请", "where"), ("另外收费吗？", "cost"), ("要花钱吗", "cost"),
    ("要多久？", "time"), ("最晚什么时候申请", "time"), ("好的", None),
])
def test_aspect_of(text: str, aspect: str | None) -> None:
    assert aspect_of(text) == aspect


def test_topic_in_context_is_the_latest_answered_topic() -> None:
    events = [faq("union_dues", NOW - 300), faq("join_union", NOW - 60),
              plain("follow_up", NOW)]
    assert topic_in_context(events, NOW) == "join_union"


def test_small_talk_fallbacks_and_earlier_follow_ups_are_skipped() -> None:
    events = [faq("work_injury", NOW - 200), plain("follow_up", NOW - 150),
              plain("thanks", NOW - 100), plain("nlu_fallback", NOW - 50),
              plain("follow_up", NOW)]
    assert topic_in_context(events, NOW) == "work_injury"


def test_an_old_answer_is_no_context() -> None:
    events = [faq("join_union", NOW - FOLLOW_UP_WINDOW - 1), plain("follow_up", NOW)]
    assert topic_in_context(events, NOW) is None
    assert topic_in_context([plain("follow_up", NOW)], NOW) is None


def test_referrals_and_several_questions_are_context() -> None:
    assert topic_in_context([plain("legal_referral", NOW - 10), plain("follow_up", NOW)],
                            NOW) == "legal_referral"
    several = plain("faq", NOW - 10, questions=["union_dues", "join_union"])
    assert topic_in_context([several, plain("follow_up", NOW)], NOW) == "join_union"


DOMAIN = {"responses": {"utter_faq/join_union": [{"text": "入会"}],
                        "utter_faq/union_dues": [{"text": "会费"}],
                        "utter_followup_join_union_materials": [{"text": "材料"}],
                        "utter_out_of_scope": [{"text": "超出"}]}}


def run(action: Any, events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    latest = events[-1]["parse_data"]
    tracker = Tracker("wecom:g1:u1", {}, latest, events, False, None, {}, "")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, result


def test_follow_up_answers_the_topic_in_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actions.answers.time.time", lambda: NOW)
    messages, _ = run(ActionFollowUp(), [faq("join_union", NOW - 30),
                                         plain("follow_up", NOW, "那要带啥材料？")])
    assert [m["response"] for m in messages] == ["utter_followup_join_union_materials"]


def test_follow_up_without_a_text_points_to_people(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actions.answers.time.time", lambda: NOW)
    messages, _ = run(ActionFollowUp(), [faq("union_dues", NOW - 30),
                                         plain("follow_up", NOW, "要多久")])
    assert "会费" in messages[0]["text"] and "12351" in messages[0]["text"]


def test_follow_up_without_context_asks_which_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actions.answers.time.time", lambda: NOW)
    messages, _ = run(ActionFollowUp(), [plain("follow_up", NOW, "那要带啥材料？")])
    assert "哪件事" in messages[0]["text"]


class _OfficeLookup:
    """Stands in for actions.grids.ActionFindOffice (tested on its own)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="联盟街道职工服务站")
        return [{"event": "slot", "name": "address", "value": None}]


def test_where_goes_through_the_office_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actions.answers.time.time", lambda: NOW)
    monkeypatch.setattr("actions.answers.ActionFindOffice", _OfficeLookup)
    messages, events = run(ActionFollowUp(), [faq("join_union", NOW - 30),
                                              plain("follow_up", NOW, "在哪办？")])
    assert [m["text"] for m in messages] == ["办理入会相关事项，可到负责您网格的工会服务站。",
                                              "联盟街道职工服务站"]
    assert events == [{"event": "slot", "name": "address", "value": None}]


class _AsksForTheAddress:
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"event": "followup", "name": "address_form"}]


def test_where_outside_a_group_asks_for_the_address_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actions.answers.time.time", lambda: NOW)
    monkeypatch.setattr("actions.answers.ActionFindOffice", _AsksForTheAddress)
    messages, events = run(ActionFollowUp(), [faq("join_union", NOW - 30),
                                              plain("follow_up", NOW, "在哪办？")])
    assert len(messages) == 1
    assert messages[0]["text"].startswith("办理入会相关事项") and "小区和楼号" in messages[0]["text"]
    assert events == [{"event": "followup", "name": "address_form"}]


def test_several_questions_are_each_answered_numbered() -> None:
    messages, _ = run(ActionAnswerFaq(), [
        plain("faq", NOW, "会费交多少？怎么入会？", questions=["union_dues", "join_union"])])
    assert [m.get("response") or m.get("text") for m in messages] == [
        "①会费：", "utter_faq/union_dues", "②入会：", "utter_faq/join_union"]


def test_one_question_is_the_selectors_answer() -> None:
    messages, _ = run(ActionAnswerFaq(), [faq("join_union", NOW)])
    assert [m["response"] for m in messages] == ["utter_faq/join_union"]

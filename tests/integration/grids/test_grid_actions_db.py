"""The issue's "done when", through the real actions and a seeded database.

"@云博士 最近的工会服务站在哪？" in a grid's group names that grid's office; the same
question from an unknown chat leads through the address question to the right office.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.grids import ASK, ActionAnswerAddress, ActionAskAddress, ActionFindOffice
from actions.grids import ValidateAddressForm as Validate
from core.clock import SHANGHAI
from core.settings import Settings
from grids import db, repository
from grids.service import forget_services

QUESTION = "@云博士 最近的工会服务站在哪？"
NOW = datetime(2024, 5, 8, 10, 30, tzinfo=SHANGHAI)
DOMAIN: dict[str, Any] = {"slots": {"address": {"type": "text", "mappings": [{"type": "from_text"}]}},
                          "forms": {"address_form": {"required_slots": ["address"]}}}


@pytest.fixture()
def env(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    forget_services()
    Settings.forget_current()
    yield seeded_url
    forget_services()
    Settings.forget_current()


def _tracker(text: str, metadata: dict[str, str] | None = None, slots: dict[str, Any] | None = None,
             events: list[dict[str, Any]] | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": "find_office"}, "entities": [],
               "metadata": metadata or {}}
    user = {"event": "user", "text": text, "parse_data": message, "metadata": metadata or {}}
    return Tracker("u1", slots or {}, message, [user, *(events or [])], False, None, {}, None)


def _said(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


async def test_known_group_names_its_office(env: str) -> None:
    engine = db.create(env)
    with Session(engine, future=True) as session:
        directory = repository.load(session)
    engine.dispose()
    for platform in ("wecom", "onebot", "feishu"):
        group = next(g for g in directory.groups.values() if g.platform == platform)
        office = directory.offices[directory.grids[group.grid_code].office_code]
        dispatcher = CollectingDispatcher()
        await ActionFindOffice(clock=lambda: NOW).run(dispatcher, _tracker(QUESTION, {
            "platform": platform, "group_id": group.external_id}), DOMAIN)
        assert office.name in _said(dispatcher) and office.phone in _said(dispatcher)


async def test_unknown_chat_goes_through_the_address_question(env: str) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionFindOffice(clock=lambda: NOW).run(
        dispatcher, _tracker(QUESTION, {"platform": "web", "group_id": "visitor-1"}), DOMAIN)
    assert events[-1]["name"] == "address_form"
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}

    ask = CollectingDispatcher()
    await ActionAskAddress().run(ask, _tracker(QUESTION), DOMAIN)
    assert _said(ask) == ASK

    reply = "我住聯盟小區五號樓"
    state = {**slots, "requested_slot": "address", "address": reply}
    validated = await Validate().run(CollectingDispatcher(), _tracker(
        reply, slots=state, events=[{"event": "slot", "name": "address", "value": reply}]), DOMAIN)
    slots.update({e["name"]: e["value"] for e in validated if e["event"] == "slot"})
    assert slots["address"] == reply

    answer = CollectingDispatcher()
    await ActionAnswerAddress(clock=lambda: NOW).run(answer, _tracker(reply, slots=slots), DOMAIN)
    assert "福景社区工会服务站" in _said(answer) and "今天（周三）" in _said(answer)


async def test_unmigrated_database_gets_a_clear_reply(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    forget_services()
    Settings.forget_current()
    dispatcher = CollectingDispatcher()
    await ActionFindOffice(clock=lambda: NOW).run(dispatcher, _tracker(QUESTION), DOMAIN)
    assert "网格目录暂时无法读取" in _said(dispatcher)
    forget_services()
    Settings.forget_current()

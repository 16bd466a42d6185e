"""Actions with trackers built from dicts, a CollectingDispatcher, an in-memory directory
and a fixed clock (Wednesday 2024-05-08, 10:30 Beijing time)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.grids import (
    ASK,
    ActionAnswerAddress,
    ActionAskAddress,
    ActionFindOffice,
    ActionMyGrid,
    ValidateAddressForm,
)
from core.clock import SHANGHAI
from grids.directory import Directory
from grids.service import DirectoryUnavailable, InMemoryDirectoryService

NOW = datetime(2024, 5, 8, 10, 30, tzinfo=SHANGHAI)
DOMAIN: dict[str, Any] = {
    "slots": {"address": {"type": "text", "mappings": [{"type": "from_text"}]},
              "address_hint": {"type": "text", "mappings": [{"type": "custom"}]},
              "address_attempts": {"type": "float", "mappings": [{"type": "custom"}]},
              "grid_request": {"type": "text", "mappings": [{"type": "custom"}]}},
    "forms": {"address_form": {"required_slots": ["address"]}},
}


def tracker(text: str, metadata: dict[str, str] | None = None, slots: dict[str, Any] | None = None,
            events: list[dict[str, Any]] | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": "find_office"}, "entities": [],
               "metadata": metadata or {}}
    user = {"event": "user", "text": text, "parse_data": message, "metadata": metadata or {}}
    return Tracker("u1", slots or {}, message, [user, *(events or [])], False, None, {}, None)


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture(scope="module")
def group(sample: Directory) -> Any:
    return next(g for g in sample.groups.values() if g.platform == "wecom")


async def test_group_message_names_its_grids_office(memory_service: Any, sample: Directory,
                                                    group: Any) -> None:
    action = ActionFindOffice(service=lambda: memory_service, clock=lambda: NOW)
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker("@云博士 最近的工会服务站在哪？", {
        "platform": group.platform, "group_id": group.external_id}), DOMAIN)
    office = sample.offices[sample.grids[group.grid_code].office_code]
    reply = texts(dispatcher)
    assert office.name in reply and office.address in reply and office.phone in reply
    assert "今天（周三）" in reply and "正在开放" in reply
    assert sample.grids[group.grid_code].name in reply
    assert not any(e.get("event") == "followup" for e in events)


async def test_my_grid_from_group_names_the_coordinator(memory_service: Any, sample: Directory,
                                                        group: Any) -> None:
    action = ActionMyGrid(service=lambda: memory_service, clock=lambda: NOW)
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker("我们是哪个网格", {"platform": group.platform,
                                                           "group_id": group.external_id}), DOMAIN)
    grid = sample.grids[group.grid_code]
    coordinator = sample.coordinators[grid.coordinator_code or ""]
    reply = texts(dispatcher)
    assert grid.name in reply and coordinator.name in reply and coordinator.phone in reply


async def test_unknown_chat_asks_for_the_address_then_answers(memory_service: Any) -> None:
    service = lambda: memory_service  # noqa: E731
    dispatcher = CollectingDispatcher()
    events = await ActionFindOffice(service=service, clock=lambda: NOW).run(
        dispatcher, tracker("@云博士 最近的工会服务站在哪？", {"platform": "wecom", "group_id": "nope"}),
        DOMAIN)
    assert events[-1] == {"event": "followup", "name": "address_form", "timestamp": None}
    assert slot_events(events)["grid_request"] == "find_office" and not dispatcher.messages

    ask = CollectingDispatcher()
    await ActionAskAddress().run(ask, tracker("最近的工会服务站在哪？"), DOMAIN)
    assert texts(ask) == ASK

    validate = CollectingDispatcher()
    reply = tracker("我住联盟小区5号楼", slots={"grid_request": "find_office", "requested_slot": "address",
                                         "address": "我住联盟小区5号楼"},
                    events=[{"event": "slot", "name": "address", "value": "我住联盟小区5号楼"}])
    filled = slot_events(await ValidateAddressForm(service=service).run(validate, reply, DOMAIN))
    assert filled["address"] == "我住联盟小区5号楼" and not validate.messages

    answer = CollectingDispatcher()
    done = tracker("我住联盟小区5号楼", slots={"grid_request": "find_office", **filled})
    events = await ActionAnswerAddress(service=service, clock=lambda: NOW).run(answer, done, DOMAIN)
    assert "福景社区工会服务站" in texts(answer) and "联盟街道福景社区" in texts(answer)
    assert slot_events(events)["address"] is None


async def test_address_in_the_question_is_answered_at_once(memory_service: Any) -> None:
    dispatcher = CollectingDispatcher()
    await ActionFindOffice(service=lambda: memory_service, clock=lambda: NOW).run(
        dispatcher, tracker("我住聯盟小區五號樓，最近的工會在哪"), DOMAIN)
    assert "福景社区工会服务站" in texts(dispatcher)


async def test_shared_name_asks_which_street_then_uses_the_reply(memory_service: Any) -> None:
    service = lambda: memory_service  # noqa: E731
    dispatcher = CollectingDispatcher()
    events = await ActionMyGrid(service=service, clock=lambda: NOW).run(
        dispatcher, tracker("幸福家园3号楼的网格员是谁"), DOMAIN)
    assert "哪个街道" in texts(dispatcher)
    slots = slot_events(events)
    assert slots["address_hint"] == "幸福家园3号楼的网格员是谁"

    ask = CollectingDispatcher()
    await ActionAskAddress().run(ask, tracker("幸福家园3号楼的网格员是谁", events=[
        {"event": "bot", "text": texts(dispatcher)}]), DOMAIN)
    assert not ask.messages  # the sharper question was already asked

    validate = CollectingDispatcher()
    state = {**slots, "requested_slot": "address", "address": "联盟街道的"}
    filled = slot_events(await ValidateAddressForm(service=service).run(
        validate, tracker("联盟街道的", slots=state,
                          events=[{"event": "slot", "name": "address", "value": "联盟街道的"}]),
        DOMAIN))
    assert filled["address"] and "联盟街道的" in filled["address"]
    answer = CollectingDispatcher()
    await ActionAnswerAddress(service=service, clock=lambda: NOW).run(
        answer, tracker("联盟街道的", slots={**slots, **filled}), DOMAIN)
    assert "网格员" in texts(answer) and "联盟街道" in texts(answer)


async def test_two_unusable_replies_fall_back_to_the_district(memory_service: Any) -> None:
    service = lambda: memory_service  # noqa: E731
    form = ValidateAddressForm(service=service)
    slots: dict[str, Any] = {"grid_request": "find_office", "address_attempts": 0.0,
                             "requested_slot": "address"}
    for number, reply in enumerate(("不知道", "火星基地")):
        dispatcher = CollectingDispatcher()
        state = {**slots, "address": reply}
        result = slot_events(await form.run(dispatcher, tracker(reply, slots=state, events=[
            {"event": "slot", "name": "address", "value": reply}]), DOMAIN))
        slots.update(result)
        if number == 0:
            assert result["address"] is None and "没有找到" in texts(dispatcher)
    assert slots["address"] == "火星基地"
    answer = CollectingDispatcher()
    await ActionAnswerAddress(service=service, clock=lambda: NOW).run(
        answer, tracker("火星基地", slots=slots), DOMAIN)
    assert "区总工会" in texts(answer) and "云溪区总工会" in texts(answer)


async def test_missing_directory_gets_a_clear_chinese_reply() -> None:
    def broken() -> Any:
        raise DirectoryUnavailable("数据库连接失败或尚未初始化")

    for action in (ActionFindOffice(service=broken), ActionMyGrid(service=broken)):
        dispatcher = CollectingDispatcher()
        await action.run(dispatcher, tracker("工会在哪", {"platform": "wecom", "group_id": "x"}), DOMAIN)
        assert "网格目录暂时无法读取" in texts(dispatcher) and "12351" in texts(dispatcher)
    empty = InMemoryDirectoryService(Directory())
    dispatcher = CollectingDispatcher()
    await ActionFindOffice(service=lambda: empty).run(dispatcher, tracker("工会在哪"), DOMAIN)
    assert "网格目录还是空的" in texts(dispatcher)


async def test_inconsistent_directory_still_answers(sample: Directory, resolver: Any,
                                                    group: Any) -> None:
    grid = sample.grids[group.grid_code]
    broken_grid = dataclasses.replace(grid, office_code="NO-SUCH-OFFICE", coordinator_code="NOBODY")
    orphan = dataclasses.replace(group, external_id="orphan", grid_code="NO-SUCH-GRID")
    directory = Directory(**{k: dict(getattr(sample, k)) for k in (
        "streets", "communities", "estates", "coordinators", "offices", "grids", "groups")})
    directory.grids[grid.code] = broken_grid
    directory.groups[orphan.key] = orphan
    service = InMemoryDirectoryService(directory)

    dispatcher = CollectingDispatcher()
    await ActionFindOffice(service=lambda: service, clock=lambda: NOW).run(
        dispatcher, tracker("服务站在哪", {"platform": group.platform, "group_id": group.external_id}),
        DOMAIN)
    assert "工会服务站" in texts(dispatcher) or "区总工会" in texts(dispatcher)

    dispatcher = CollectingDispatcher()
    await ActionMyGrid(service=lambda: service, clock=lambda: NOW).run(
        dispatcher, tracker("网格员是谁", {"platform": group.platform, "group_id": group.external_id}),
        DOMAIN)
    assert "暂未登记网格员" in texts(dispatcher)

    dispatcher = CollectingDispatcher()
    events = await ActionFindOffice(service=lambda: service, clock=lambda: NOW).run(
        dispatcher, tracker("服务站在哪", {"platform": orphan.platform, "group_id": "orphan"}), DOMAIN)
    assert events[-1]["name"] == "address_form"


def test_action_server_registers_exactly_the_grid_actions() -> None:
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions.grids")
    assert {"action_find_office", "action_my_grid", "action_answer_address",
            "action_ask_address", "validate_address_form"} <= set(executor.actions)


async def test_form_activation_does_not_validate_the_cleared_slot(memory_service: Any) -> None:
    """On activation the form validates the `address` the action just cleared: stay silent."""
    dispatcher = CollectingDispatcher()
    state = {"grid_request": "find_office", "address_hint": "幸福家园3号楼", "address": None,
             "requested_slot": None}
    events = await ValidateAddressForm(service=lambda: memory_service).run(
        dispatcher, tracker("幸福家园3号楼那边的工会在哪", slots=state,
                            events=[{"event": "slot", "name": "address", "value": None}]), DOMAIN)
    assert not dispatcher.messages
    assert slot_events(events).get("address") is None


async def test_form_activation_ignores_the_address_already_asked_about(memory_service: Any) -> None:
    """Rasa re-extracts the `address` entity of the question on activation: no second question."""
    dispatcher = CollectingDispatcher()
    state = {"grid_request": "find_office", "address_hint": "幸福家园3号楼那边的工会在哪",
             "address": "幸福家园3号楼", "requested_slot": None}
    events = await ValidateAddressForm(service=lambda: memory_service).run(
        dispatcher, tracker("幸福家园3号楼那边的工会在哪", slots=state,
                            events=[{"event": "slot", "name": "address", "value": "幸福家园3号楼"}]),
        DOMAIN)
    assert not dispatcher.messages
    assert slot_events(events)["address"] is None


async def test_the_resolution_from_nlu_is_reused_not_resolved_again(
        memory_service: Any, sample: Directory) -> None:
    text = "我住联盟小区5号楼，最近的工会在哪"
    resolution = memory_service.resolve(text)
    entity = {"entity": "address", "value": "联盟小区5号楼", "resolution": resolution.as_dict()}
    calls: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(memory_service, name)

        def resolve(self, query: str) -> Any:
            calls.append(query)
            return memory_service.resolve(query)

    track = tracker(text)
    track.latest_message["entities"] = [entity]
    dispatcher = CollectingDispatcher()
    await ActionFindOffice(service=lambda: Counting(), clock=lambda: NOW).run(  # type: ignore[arg-type,return-value]
        dispatcher, track, DOMAIN)
    office = sample.offices[resolution.candidates[0].office_code or ""]
    assert office.name in texts(dispatcher)
    assert calls == []
    entity["resolution"] = {"query": text}   # malformed: resolved again, no crash
    dispatcher = CollectingDispatcher()
    await ActionFindOffice(service=lambda: Counting(), clock=lambda: NOW).run(  # type: ignore[arg-type,return-value]
        dispatcher, track, DOMAIN)
    assert calls == [text] and office.name in texts(dispatcher)

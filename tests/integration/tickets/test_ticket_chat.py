"""The chat side of the back office with a real ticket service on SQLite: the
hand-off and status actions (trackers built from dicts), the coordinator's
`#回复` / `#转办` commands and the asker's 满意 / 不满意 (the connectors' BackOffice)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.tickets import ActionCreateTicket, ActionTicketStatus, question_of, relay
from connectors.backoffice import BackOffice
from core.clock import SHANGHAI
from core.db import create
from core.normalize import MentionMatcher
from platforms.message import IncomingMessage
from tickets import db as tickets_db
from tickets import offices
from tickets.holidays import HolidayCalendar
from tickets.model import Kind, Status
from tickets.service import TicketService

GRID = "D001-S01-C01-G01"


@dataclass
class Coordinator:
    name: str
    accounts: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def svc(tmp_path: Path) -> TicketService:
    engine = create(f"sqlite:///{tmp_path / 't.db'}")
    tickets_db.upgrade(engine)
    clock = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI).timestamp
    return TicketService(engine, offices.load(), HolidayCalendar(), clock=clock,
                         coordinator_of={GRID: Coordinator("张网格员", {"onebot": "10001"})}.get)


def user(text: str, intent: str, faq: str | None = None, **metadata: Any) -> dict[str, Any]:
    parse: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9},
                             "entities": [], "metadata": metadata}
    if faq:
        key = f"faq/{faq}"
        parse["response_selector"] = {"faq": {"response": {"intent_response_key": key,
                                                           "confidence": 0.9},
                                              "ranking": [{"intent_response_key": key,
                                                           "confidence": 0.9}]}}
    return {"event": "user", "text": text, "parse_data": parse, "metadata": metadata}


def tracker(*events: dict[str, Any]) -> Tracker:
    latest = events[-1]["parse_data"]
    return Tracker("onebot:g1:20002", {}, latest, list(events), False, None, {}, None)


META = {"platform": "onebot", "group_id": "g1", "user_id": "20002", "user_name": "王师傅"}


def message(text: str, user_id: str = "10001", name: str = "张网格员") -> IncomingMessage:
    return IncomingMessage("onebot", "m1", user_id, name, text, group_id="g1")


async def test_a_handoff_after_two_misses_becomes_a_ticket_with_the_question(svc) -> None:
    track = tracker(user("公司三个月没发工资了老板也联系不上", "nlu_fallback", **META),
                    user("就是欠薪", "nlu_fallback", **META),
                    user("转人工", "human_handoff", **META))
    dispatcher = CollectingDispatcher()
    await ActionCreateTicket(service=lambda: svc, grid=lambda p, g: GRID).run(dispatcher, track, {})
    reply = dispatcher.messages[0]["text"]
    assert "T-000001" in reply and "张网格员" in reply
    ticket = svc.get("T-000001")
    assert ticket.question == "就是欠薪" and ticket.asker.name == "王师傅"
    assert ticket.grid_code == GRID and ticket.group_id == "g1"
    assert ticket.turns[-1] == "转人工" and len(ticket.turns) == 3


async def test_a_relayed_question_records_relayer_and_resident(svc) -> None:
    text = "替楼里刘阿姨问一下，她被单位辞退了没给补偿，能找工会吗"
    question, _, _ = question_of(tracker(user(text, "faq", **META),
                                         user("帮我转给工作人员", "human_handoff", **META)))
    assert question == text and relay(text) == "刘阿姨"
    track = tracker(user(text, "faq", **META), user("帮我转给工作人员", "human_handoff", **META))
    await ActionCreateTicket(service=lambda: svc, grid=lambda p, g: GRID).run(
        CollectingDispatcher(), track, {})
    ticket = svc.get("T-000001")
    assert ticket.resident == "刘阿姨" and ticket.relayed_by is not None


async def test_status_lists_only_the_askers_own_tickets(svc) -> None:
    track = tracker(user("我要投诉单位不交社保", "faq", **META), user("转人工", "human_handoff", **META))
    await ActionCreateTicket(service=lambda: svc, grid=lambda p, g: GRID).run(
        CollectingDispatcher(), track, {})
    mine = CollectingDispatcher()
    await ActionTicketStatus(service=lambda: svc).run(
        mine, tracker(user("我的问题有回复了吗", "ticket_status", **META)), {})
    assert "T-000001" in mine.messages[0]["text"]
    other = {**META, "user_id": "99999"}
    theirs = CollectingDispatcher()
    await ActionTicketStatus(service=lambda: svc).run(
        theirs, tracker(user("T-000001 办得怎么样了", "ticket_status", **other)), {})
    assert theirs.messages[0]["text"] == "这个工单只有提问人本人可以查看。"


async def test_commands_and_ratings_in_the_group(svc) -> None:
    track = tracker(user("工伤认定怎么申请", "faq", **META), user("转人工", "human_handoff", **META))
    await ActionCreateTicket(service=lambda: svc, grid=lambda p, g: GRID).run(
        CollectingDispatcher(), track, {})
    office = BackOffice(MentionMatcher(("云博士",)), service=lambda: svc)
    # someone else's #回复 is refused and changes nothing
    refused = await office.handle(message("#回复 T-000001 我来答", user_id="55555", name="路人"))
    assert refused is not None and "只有负责" in refused
    assert svc.get("T-000001").status is Status.ASSIGNED
    done = await office.handle(message("@云博士 #回复 T-000001 事故后30天内由单位申请，单位不申请的一年内可自己申请"))
    assert done == "已答复 T-000001，答复已发给提问人。"
    assert svc.get("T-000001").status is Status.ANSWERED
    assert await office.handle(message("满意", user_id="20002", name="王师傅")) == "谢谢您的评价！"
    assert svc.get("T-000001").status is Status.CLOSED
    assert await office.handle(message("满意", user_id="20002")) is None   # nothing to rate
    assert await office.handle(message("今天天气不错")) is None
    assert "格式" in (await office.handle(message("#转办 没有编号")) or "")


async def test_transfer_by_command_and_unknown_office(svc) -> None:
    track = tracker(user("想申请法律援助打官司", "faq", "legal_aid", **META), user("转人工", "human_handoff", **META))
    await ActionCreateTicket(service=lambda: svc, grid=lambda p, g: GRID).run(
        CollectingDispatcher(), track, {})
    office = BackOffice(MentionMatcher(("云博士",)), service=lambda: svc)
    unknown = await office.handle(message("#转办 T-000001 不存在的部门 原因"))
    assert unknown is not None and "没有这个部门" in unknown
    moved = await office.handle(message("#转办 T-000001 法律援助中心 需要律师代理"))
    assert moved == "T-000001 已转给法律援助中心，已告知提问人。"
    assert svc.get("T-000001").office_code == "flyz"
    assert svc.get("T-000001").kind is Kind.HELP

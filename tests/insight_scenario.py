"""A small world for the statistics' tests, with figures worked out by hand: two
streets, one grid each, a registered WeCom group and QQ group, an unregistered web
room; conversations generated with Rasa's own event classes (the JSON its event
brokers publish); tickets and deliveries with known times.

Period P is 2026-03-02 … 03-03 (Shanghai). In P: 6 questions from 4 askers, 4
answered, 1 fallback, 1 hand-off (see EXPECTED)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from broadcast import db as broadcast_db
from broadcast.tables import DeliveryRow, NoticeRow
from core.clock import SHANGHAI
from grids import db as grids_db
from grids import repository
from grids.directory import (
    ChatGroup,
    Community,
    Directory,
    Grid,
    OfficeLevel,
    Street,
    UnionOffice,
)
from insight import db as insight_db
from insight.ingest import rasa_events_table
from insight.model import Period
from tickets import db as tickets_db
from tickets.tables import EventRow, TicketRow

SECRET = b"test-statistics-key-0123456789"
S1, S2 = "D001-S01", "D001-S02"
GA, GB = "D001-S01-C01-G01", "D001-S02-C01-G01"
WECOM_GROUP, QQ_GROUP, WEB_ROOM = "wx-ga", "9001", "room:unknown"
P = Period(date(2026, 3, 2), date(2026, 3, 3))
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=SHANGHAI).timestamp()


def at(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


def migrate(engine: Engine) -> None:
    for upgrade in (grids_db.upgrade, broadcast_db.upgrade, tickets_db.upgrade,
                    insight_db.upgrade):
        upgrade(engine)


def seed_directory(engine: Engine, extra_groups: Sequence[ChatGroup] = ()) -> None:
    hours = ((),) * 7
    directory = Directory.of(
        streets=[Street(S1, "联盟街道", "云溪区"), Street(S2, "明珠街道", "云溪区")],
        communities=[Community(f"{S1}-C01", "福景社区", S1), Community(f"{S2}-C01", "青馨社区", S2)],
        offices=[UnionOffice("D001-O01", "区总工会", OfficeLevel.DISTRICT, "一号", "12351", hours)],
        grids=[Grid(GA, "福景社区第1网格", f"{S1}-C01", None, "D001-O01"),
               Grid(GB, "青馨社区第1网格", f"{S2}-C01", None, "D001-O01")],
        groups=[ChatGroup("wecom", WECOM_GROUP, "福景1群", GA, "webhook", "https://x.invalid/a"),
                ChatGroup("onebot", QQ_GROUP, "青馨1群", GB, "onebot", QQ_GROUP),
                *extra_groups])
    with Session(engine, future=True) as session, session.begin():
        repository.upsert(session, directory)


# --- conversations ---------------------------------------------------------------------
def faq(key: str, confidence: float = 0.95) -> dict[str, Any]:
    return {"intent": {"name": "faq", "confidence": confidence},
            "intent_ranking": [{"name": "faq", "confidence": confidence}],
            "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{key}",
                                                       "confidence": 0.9}, "ranking": []}},
            "entities": []}


def intent(name: str, confidence: float = 0.9) -> dict[str, Any]:
    return {"intent": {"name": name, "confidence": confidence},
            "intent_ranking": [{"name": name, "confidence": confidence}], "entities": []}


def nlu_fallback(closest: str) -> dict[str, Any]:
    return {"intent": {"name": "nlu_fallback", "confidence": 0.7},
            "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.7},
                               {"name": "faq", "confidence": 0.3}],
            "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{closest}",
                                                       "confidence": 0.5}, "ranking": []}},
            "entities": []}


def turn(platform: str, group: str | None, user: str, text: str, parse: dict[str, Any],
         when: float, actions: Sequence[str] = ("utter_faq",), reply: str | None = "答复",
         input_channel: str | None = None) -> tuple[str, list[Event]]:
    """One turn as Rasa records it: the user message (with the connector's metadata),
    the bot's actions and reply, then action_listen."""
    metadata = {"platform": platform, "group_id": group, "user_id": user,
                "user_name": f"职工{user}", "message_id": f"m-{when}"}
    sender = f"{platform}:{group or 'direct'}:{user}"
    events: list[Event] = [UserUttered(text, parse.get("intent"), parse.get("entities", []),
                                       parse_data={**parse, "text": text}, timestamp=when,
                                       input_channel=input_channel or platform,
                                       message_id=f"m-{when}", metadata=metadata)]
    step = 0.1
    for name in actions:
        events.append(ActionExecuted(name, policy="RulePolicy", confidence=1.0,
                                     timestamp=when + step))
        step += 0.1
    if reply:
        events.append(BotUttered(reply, timestamp=when + step))
    events.append(ActionExecuted("action_listen", timestamp=when + step + 0.1))
    return sender, events


def conversations() -> list[tuple[str, list[Event]]]:
    """The turns, in the order they happened."""
    return [
        # the previous period (2026-02-28 … 03-01)
        turn("onebot", QQ_GROUP, "u3", "工资拖欠了", faq("wage_arrears"), at(2, 28, 8)),
        turn("onebot", QQ_GROUP, "u5", "老板不发工资", faq("wage_arrears"), at(2, 28, 9)),
        turn("wecom", WECOM_GROUP, "u1", "怎么入会", faq("join_union"), at(3, 1, 8)),
        # P: just after midnight in Shanghai (still 03-01 in UTC)
        turn("wecom", WECOM_GROUP, "u1", "农民工怎么入会", faq("join_union"), at(3, 2, 0, 10)),
        turn("wecom", WECOM_GROUP, "u2", "那个东西咋弄 我电话13812345678",
             nlu_fallback("union_dues"), at(3, 2, 9, 5),
             actions=("action_cloud_doctor_fallback",), reply="抱歉，没太看懂"),
        turn("wecom", WECOM_GROUP, "u2", "转人工", intent("human_handoff"), at(3, 2, 9, 6),
             actions=("action_create_ticket",), reply="已登记 T-000001"),
        turn("onebot", QQ_GROUP, "u3", "入会要什么材料", faq("join_union"), at(3, 2, 10)),
        turn("onebot", QQ_GROUP, "u3", "老板拖欠工资", faq("wage_arrears"), at(3, 3, 11)),
        turn("web", WEB_ROOM, "u4", "你好", intent("greet"), at(3, 3, 12),
             actions=("utter_greet",), input_channel="webchat"),
        # after P: 00:00:30 on 03-04 in Shanghai
        turn("wecom", WECOM_GROUP, "u1", "入会", faq("join_union"), at(3, 4, 0, 0, 30)),
    ]


def broker_dicts(turns: Sequence[tuple[str, list[Event]]] | None = None) -> list[dict[str, Any]]:
    """What an event broker publishes for the turns (`{"sender_id", **event.as_dict()}`)."""
    out = []
    for sender, events in turns if turns is not None else conversations():
        for event in events:
            out.append({"sender_id": sender, **event.as_dict()})
    return out


def write_events(engine: Engine, dicts: Sequence[dict[str, Any]], ids: Sequence[int] | None = None
                 ) -> None:
    """Rows as Rasa's SQLEventBroker writes them (ids given to make holes)."""
    table = rasa_events_table()
    table.metadata.create_all(engine)
    rows = [{"sender_id": d["sender_id"], "data": json.dumps(d)} for d in dicts]
    if ids is not None:
        rows = [{**r, "id": i} for r, i in zip(rows, ids, strict=True)]
    with engine.begin() as connection:
        connection.execute(insert(table), rows)


EXPECTED = {
    "questions": 6, "askers": 4, "answered": 4, "fallbacks": 1, "handoffs": 1,
    "by_street": {S1: (3, 2, 1, 1, 1), S2: (2, 1, 2, 0, 0), None: (1, 1, 1, 0, 0)},
    "by_platform": {"wecom": 3, "onebot": 2, "web": 1},
    "per_day": [("2026-03-02", 4, 3), ("2026-03-03", 2, 2)],
    "top_topics": [("join_union", 2, 0.4), ("human_handoff", 1, 0.2),
                   ("union_dues", 1, 0.2), ("wage_arrears", 1, 0.2)],
    "rising": [("human_handoff", 1, 0, 1), ("join_union", 2, 1, 1), ("union_dues", 1, 0, 1)],
    "turns": 10,
}


# --- tickets and deliveries ------------------------------------------------------------
def seed_tickets(engine: Engine) -> None:
    def ticket(grid: str, created: float, respond_by: float, resolve_by: float,
               status: str, **values: Any) -> dict[str, Any]:
        return {"question": values.pop("question", "宿舍漏水，电话13812345678"), "turns": [],
                "topic": values.pop("topic", "complaint_report"), "kind": "complaint",
                "status": status, "asker_platform": values.pop("platform", "wecom"),
                "asker_id": "u9", "asker_name": "王师傅", "group_id": None, "grid_code": grid,
                "resident": "", "created_at": created, "clock_started_at": created,
                "respond_by": respond_by, "resolve_by": resolve_by, "flagged": False,
                "reopened": values.pop("reopened", False),
                "escalation": values.pop("escalation", 0), "generation": 0,
                "office_code": values.pop("office_code", None),
                **{k: None for k in ("responded_at", "answer", "answered_at", "rating",
                                     "closed_at")}, **values}

    rows = [
        ticket(GA, at(3, 2, 10), at(3, 2, 14), at(3, 4, 10), "closed",
               responded_at=at(3, 2, 11), answered_at=at(3, 3, 10), answer="已上门维修",
               rating="satisfied"),
        ticket(GA, at(3, 2, 10), at(3, 2, 12), at(3, 3, 10), "answered", office_code="legal",
               responded_at=at(3, 2, 13), answered_at=at(3, 3, 12), answer="请带合同",
               rating="unsatisfied", reopened=True, escalation=1),
        ticket(GB, at(3, 3, 9), at(3, 3, 11), at(3, 4, 9), "assigned", escalation=2,
               platform="onebot"),
        ticket(GB, at(3, 3, 15), NOW + 3600, NOW + 86400, "assigned", platform="onebot"),
        ticket(GA, at(2, 20, 9), at(2, 20, 12), at(2, 22, 9), "closed",
               responded_at=at(2, 20, 10), answered_at=at(2, 20, 11), answer="好"),
        ticket(GA, at(3, 3, 16), NOW + 7200, NOW + 90000, "new"),
    ]
    with engine.begin() as connection:
        connection.execute(insert(TicketRow), rows)
        connection.execute(insert(EventRow), [
            {"ticket_id": 4, "kind": "reminded", "at": at(3, 3, 16), "actor": "system",
             "note": "", "office_code": None},
            {"ticket_id": 6, "kind": "reminded", "at": at(3, 3, 10), "actor": "system",
             "note": "an earlier clock", "office_code": None}])


def seed_deliveries(engine: Engine) -> None:
    def notice(created: float) -> dict[str, Any]:
        return {"title": "通知", "body": "内容", "body_format": "text", "author": "李干事",
                "targets": ["all"], "target_label": "全部", "schedule_kind": "now",
                "timezone": "Asia/Shanghai", "status": "done", "total": 0,
                "created_at": created}

    def delivery(notice_id: int, platform: str, group: str, grid: str, state: str,
                 reason: str | None = None) -> dict[str, Any]:
        return {"notice_id": notice_id, "platform": platform, "external_id": group,
                "group_name": group, "grid_code": grid, "send_via": "webhook",
                "send_target": "x", "state": state, "attempts": 1, "parts_sent": 0,
                "parts_total": 1, "due_at": at(3, 2, 9), "reason": reason,
                "updated_at": at(3, 2, 9)}

    with engine.begin() as connection:
        connection.execute(insert(NoticeRow), [notice(at(3, 2, 9)), notice(at(2, 1, 9))])
        connection.execute(insert(DeliveryRow), [
            delivery(1, "wecom", WECOM_GROUP, GA, "sent"),
            delivery(1, "onebot", QQ_GROUP, GB, "failed", "群不存在"),
            delivery(1, "dingtalk", "dd-gb", GB, "failed", "机器人地址无效"),
            delivery(1, "feishu", "fs-ga", GA, "pending"),
            delivery(2, "wecom", WECOM_GROUP, GA, "sent"),
        ])


# --- the figures, checked on any database ------------------------------------------------
def check_conversation(stats: Any) -> None:
    from insight.model import By, Scope

    everything = Scope.everything()
    overall = stats.conversation(P, everything).records()
    assert len(overall) == 1
    row = overall[0]
    assert (row["questions"], row["askers"], row["answered"], row["fallbacks"],
            row["handoffs"]) == (6, 4, 4, 1, 1)
    assert row["answer_rate"] == round(4 / 6, 4)
    assert row["fallback_rate"] == row["handoff_rate"] == round(1 / 6, 4)

    by_street = {r["key"]: (r["questions"], r["askers"], r["answered"], r["fallbacks"],
                            r["handoffs"]) for r in stats.conversation(P, everything,
                                                                      By.STREET).records()}
    assert by_street == EXPECTED["by_street"]
    labels = {r["key"]: r["label"] for r in stats.conversation(P, everything,
                                                               By.STREET).records()}
    assert labels == {S1: "联盟街道", S2: "明珠街道", None: "未登记"}
    by_platform = {r["key"]: r["questions"]
                   for r in stats.conversation(P, everything, By.PLATFORM).records()}
    assert by_platform == EXPECTED["by_platform"]
    by_grid = {r["key"]: r["questions"] for r in stats.conversation(P, everything,
                                                                   By.GRID).records()}
    assert by_grid == {GA: 3, GB: 2, None: 1}

    # scopes: a coordinator's grid, a street, nothing
    assert stats.conversation(P, Scope.of_grids({GA})).records()[0]["questions"] == 3
    assert stats.conversation(P, Scope.of_street(S2)).records()[0]["questions"] == 2
    assert stats.conversation(P, Scope.of_grids(set())).records()[0]["questions"] == 0
    assert {r["key"] for r in stats.conversation(P, Scope.of_grids({GA}),
                                                 By.STREET).records()} == {S1}

    days = [(r["day"], r["questions"], r["askers"])
            for r in stats.questions_per_day(P, everything).records()]
    assert days == EXPECTED["per_day"]
    gb_days = [(r["day"], r["questions"])
               for r in stats.questions_per_day(P, Scope.of_grids({GB})).records()]
    assert gb_days == [("2026-03-02", 1), ("2026-03-03", 1)]

    top = [(r["topic"], r["questions"], r["share"])
           for r in stats.top_topics(P, everything).records()]
    assert top == EXPECTED["top_topics"]
    rising = [(r["topic"], r["questions"], r["previous"], r["change"])
              for r in stats.rising_topics(P, everything).records()]
    assert rising == EXPECTED["rising"]
    assert stats.rising_topics(P, everything).records()[1]["growth"] == 1.0

    page = stats.unanswered(everything)
    assert page.total == 2
    assert [r["why"] for r in page.table.records()] == ["转人工", "没听懂"]
    assert page.table.records()[1]["text"] == "那个东西咋弄 我电话138****5678"
    assert page.table.records()[1]["topic"] == "union_dues"
    assert stats.unanswered(Scope.of_street(S2)).total == 0


def check_tickets(stats: Any) -> None:
    from insight.model import By, Scope

    everything = Scope.everything()
    row = stats.tickets(P, everything).records()[0]
    assert row["tickets"] == 5 and row["responded"] == 2 and row["answered"] == 2
    assert row["response_hours"] == 2.0 and row["answer_hours"] == 25.0
    assert row["response_on_time"] == round(1 / 3, 4)
    assert row["answer_on_time"] == round(1 / 3, 4)
    assert (row["escalated"], row["escalated_district"]) == (2, 1)
    assert (row["rated"], row["satisfied_share"], row["reopened"]) == (2, 0.5, 1)
    offices = {r["key"]: (r["tickets"], r["label"])
               for r in stats.tickets(P, everything, By.OFFICE).records()}
    assert offices == {None: (4, "网格员（未转办）"), "legal": (1, "legal")}
    streets = {r["key"]: r["tickets"] for r in stats.tickets(P, everything, By.STREET).records()}
    assert streets == {S1: 3, S2: 2}
    assert stats.tickets(P, Scope.of_grids({GB})).records()[0]["tickets"] == 2
    assert stats.tickets(P, Scope.of_street(S1)).records()[0]["tickets"] == 3

    lights = {r["key"]: (r["green"], r["yellow"], r["red"])
              for r in stats.ticket_lights(everything, By.STREET).records()}
    assert lights == {S1: (1, 0, 0), S2: (0, 1, 1)}
    queue = stats.tickets_queue(Scope.of_grids({GB}))
    assert queue.total == 2
    assert [r["number"] for r in queue.table.records()] == ["T-000004", "T-000003"]
    assert queue.table.records()[0]["question"] == "宿舍漏水，电话138****5678"
    everything_queue = stats.tickets_queue(everything, limit=2, offset=1)
    assert everything_queue.total == 6
    assert [r["number"] for r in everything_queue.table.records()] == ["T-000005", "T-000004"]


def check_deliveries(stats: Any) -> None:
    from insight.model import By, Scope

    everything = Scope.everything()
    row = stats.deliveries(P, everything).records()[0]
    assert (row["notices"], row["targeted"], row["delivered"], row["failed"],
            row["pending"]) == (1, 4, 1, 2, 1)
    assert row["delivered_share"] == 0.25
    streets = {r["key"]: (r["targeted"], r["delivered"], r["failed"])
               for r in stats.deliveries(P, everything, By.STREET).records()}
    assert streets == {S1: (2, 1, 0), S2: (2, 0, 2)}
    platforms = {r["key"]: r["targeted"]
                 for r in stats.deliveries(P, everything, By.PLATFORM).records()}
    assert platforms == {"wecom": 1, "onebot": 1, "dingtalk": 1, "feishu": 1}
    failures = {(r["reason"], r["platform"]): r["deliveries"]
                for r in stats.delivery_failures(P, everything).records()}
    assert failures == {("群不存在", "onebot"): 1, ("机器人地址无效", "dingtalk"): 1}
    assert stats.deliveries(P, Scope.of_grids({GA})).records()[0]["targeted"] == 2
    assert stats.delivery_failures(P, Scope.of_grids({GA})).rows == ()

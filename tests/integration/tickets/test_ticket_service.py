"""The back office on a real database (SQLite and PostgreSQL) with a controlled clock:
creation and routing, permissions, answer, rating, transfer, lights, timers on
working-time boundaries, a restart in the middle of a deadline, two processes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import SHANGHAI
from core.db import create
from tests.pg import PostgresSchemas, schemas_or_skip
from tickets import db as tickets_db
from tickets import offices as office_config
from tickets.holidays import HolidayCalendar
from tickets.model import EventKind, Kind, Light, NotAllowed, Person, Status, TicketDraft
from tickets.service import TicketService
from tickets.tables import MessageRow

GRID = "D001-S01-C01-G01"
COORDINATOR = Person("onebot", "10001", "张网格员")
ASKER = Person("onebot", "20002", "王师傅")
STRANGER = Person("onebot", "30003", "路人")


@dataclass
class Coordinator:
    name: str
    accounts: dict[str, str] = field(default_factory=dict)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def at(self, *args: int) -> None:
        self.now = datetime(*args, tzinfo=SHANGHAI).timestamp()  # type: ignore[misc]

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pg() -> Iterator[PostgresSchemas]:
    yield from schemas_or_skip()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickets.db'}"
    return request.getfixturevalue("pg").new_url()


def service(url: str, clock: Clock) -> TicketService:
    engine = create(url)
    tickets_db.upgrade(engine)
    directory = {GRID: Coordinator("张网格员", {"onebot": "10001", "wecom": "zhang"})}
    return TicketService(engine, office_config.load(), HolidayCalendar(), clock=clock,
                         coordinator_of=directory.get)


def draft(question: str = "公司拖欠我三个月工资，电话13812345678，怎么办") -> TicketDraft:
    return TicketDraft(question=question, asker=ASKER, group_id="qq-group-1", grid_code=GRID,
                       topic="wage_arrears", kind=Kind.HELP)


def messages(svc: TicketService) -> list[MessageRow]:
    with svc.session() as session:
        return list(session.execute(select(MessageRow).order_by(MessageRow.id)).scalars())


def test_the_loop_create_answer_rate(url: str) -> None:
    clock = Clock(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))   # Monday 10:00
    svc = service(url, clock)
    ticket, reply = svc.create(draft())
    assert ticket.number == "T-000001" and ticket.status is Status.ASSIGNED
    assert ticket.assignee == COORDINATOR
    assert "T-000001" in reply and "张网格员" in reply and "12月2日" in reply
    # first response within 4 working hours: 10:00-12:00 + 13:30-15:30
    assert ticket.respond_by == datetime(2026, 11, 30, 15, 30, tzinfo=SHANGHAI)
    group, direct = messages(svc)
    assert (group.group_id, group.mention_id) == ("qq-group-1", "10001")
    assert "138****5678" in group.text and "13812345678" not in group.text   # masked in groups
    assert direct.user_id == "10001" and "13812345678" in direct.text       # the assignee sees it
    # a forged #回复 from someone else changes nothing
    with pytest.raises(NotAllowed):
        svc.answer(ticket.number, STRANGER, "随便答一下")
    assert svc.get(ticket.number).status is Status.ASSIGNED
    clock.at(2026, 11, 30, 11, 0)
    answered = svc.answer(ticket.number, COORDINATOR, "请带劳动合同和工资条到街道工会服务站，电话 13900001111")
    assert answered.status is Status.ANSWERED
    post = messages(svc)[-1]
    assert post.mention_id == ASKER.user_id and "139****1111" in post.text and "满意" in post.text
    assert svc.light(answered) is None
    # 不满意 reopens once, then a second 不满意 closes with the rating
    assert "重新办理" in (svc.rate(ASKER, satisfied=False) or "")
    assert svc.get(ticket.number).status is Status.REOPENED
    svc.answer(ticket.number, COORDINATOR, "已联系劳动监察大队，本周内上门处理")
    assert svc.rate(ASKER, satisfied=False) == "谢谢您的评价！"
    final = svc.get(ticket.number)
    assert final.status is Status.CLOSED and final.rating == "unsatisfied"
    kinds = [e.kind for e in svc.history(ticket.number)]
    assert kinds == [EventKind.CREATED, EventKind.ASSIGNED, EventKind.ANSWERED, EventKind.RATED,
                     EventKind.REOPENED, EventKind.ANSWERED, EventKind.RATED, EventKind.CLOSED]
    assert svc.rate(ASKER, satisfied=True) is None   # nothing left to rate


def test_transfer_restarts_the_clock_and_tells_the_asker(url: str) -> None:
    clock = Clock(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    svc = service(url, clock)
    ticket, _ = svc.create(draft())
    clock.at(2026, 11, 30, 14, 0)
    moved = svc.transfer(ticket.number, "法律援助中心", COORDINATOR, "需要律师")
    assert moved.status is Status.TRANSFERRED and moved.office_code == "flyz"
    assert moved.clock_started_at == datetime(2026, 11, 30, 14, 0, tzinfo=SHANGHAI)
    assert moved.respond_by == datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)   # 3.5 h + 0.5 h
    told = [m for m in messages(svc) if m.mention_id == ASKER.user_id]
    assert told and "法律援助中心" in told[-1].text
    staff = Person("wecom", "demo-flyz-1", "法援中心钱律师")
    assert svc.answer(ticket.number, staff, "可以申请法律援助").status is Status.ANSWERED


def test_only_the_asker_sees_a_ticket(url: str) -> None:
    svc = service(url, Clock(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)))
    ticket, _ = svc.create(draft())
    assert "T-000001" in svc.status_reply(ASKER) and "已派给网格员" in svc.status_reply(ASKER)
    assert svc.status_reply(STRANGER, ticket.number) == "这个工单只有提问人本人可以查看。"
    assert "T-000001" not in svc.status_reply(STRANGER)


def test_lights_and_timers_fire_once_on_working_time_boundaries(url: str) -> None:
    clock = Clock(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
    svc = service(url, clock)
    ticket, _ = svc.create(draft())
    clock.at(2026, 11, 30, 11, 59)
    assert svc.sweep("w1") == [] and svc.light(svc.get(ticket.number)) is Light.GREEN
    clock.at(2026, 11, 30, 12, 0)     # half of 4 working hours: the end of the morning span
    assert [(f.kind, f.level) for f in svc.sweep("w1")] == [("remind", 0)]
    assert svc.light(svc.get(ticket.number)) is Light.YELLOW
    clock.at(2026, 11, 30, 13, 0)     # lunch break: nothing more to fire
    assert svc.sweep("w1") == []
    # a restart in the middle of the deadline: a new service on the same database
    clock.at(2026, 11, 30, 15, 30)
    again = service(url, clock)
    assert [(f.kind, f.level) for f in again.sweep("w2")] == [("escalate", 1)]
    assert again.sweep("w1") == [] and svc.sweep("w1") == []
    late = again.get(ticket.number)
    assert late.escalation == 1 and svc.light(late) is Light.RED
    escalated_to = [m.user_id for m in messages(svc) if "红灯" in m.text]
    assert escalated_to == ["demo-s01-1"]   # the street union's staff


def test_nothing_fires_at_night_and_it_waits_for_the_morning(url: str) -> None:
    clock = Clock(datetime(2026, 11, 27, 15, 0, tzinfo=SHANGHAI))   # Friday 15:00
    svc = service(url, clock)
    svc.create(draft())          # the reminder is due at 17:00 (15:00 + 2 h); nobody sweeps
    clock.at(2026, 11, 28, 22, 0)                                   # Saturday night
    assert svc.sweep("w") == []
    clock.at(2026, 11, 30, 9, 5)                                    # Monday morning
    assert [f.kind for f in svc.sweep("w")] == ["remind"]
    clock.at(2026, 11, 30, 10, 29)
    assert svc.sweep("w") == []
    clock.at(2026, 11, 30, 10, 30)            # 2.5 h on Friday + 1.5 h on Monday
    assert [(f.kind, f.level) for f in svc.sweep("w")] == [("escalate", 1)]


@pytest.mark.postgres
def test_two_processes_on_postgresql_fire_each_timer_once(pg: PostgresSchemas) -> None:
    url = pg.new_url()
    clock = Clock(datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))
    first = service(url, clock)
    for i in range(30):
        first.create(draft(f"第{i}个问题：工资被拖欠"))
    second = service(url, clock)
    clock.at(2026, 11, 30, 11, 30)   # every reminder is due
    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda i: (first, second)[i % 2].sweep(f"w{i}", limit=7),
                                range(12)))
    fired = [f.number for batch in batches for f in batch]
    assert sorted(fired) == sorted({f"T-{i:06d}" for i in range(1, 31)})

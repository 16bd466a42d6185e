"""The small read APIs the console added to the domain packages, on SQLite: the
inbox's lights in SQL equal `TicketService.light()`, filters and scope; reassigning;
the grid tree with groups per platform; an import preview writes nothing; the
deliveries changed since a moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from broadcast.db import upgrade_all
from broadcast.model import NoticeDraft, Targets
from broadcast.outbox import Outbox
from core.clock import SHANGHAI
from core.db import create
from grids import repository
from grids.generator import generate
from grids.importer import import_path, preview_path
from grids.tree import grids_of_coordinator, grids_of_street, group_tree
from tickets import db as tickets_db
from tickets import offices as office_config
from tickets.holidays import default_calendar
from tickets.inbox import InboxQuery, counts_by_light, search
from tickets.model import EventKind, InvalidTicket, Light, Person, TicketDraft
from tickets.service import TicketService


@dataclass
class Coordinator:
    name: str
    accounts: dict[str, str] = field(default_factory=dict)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service(tmp_path: Path) -> TicketService:
    engine = create(f"sqlite:///{tmp_path / 't.db'}")
    tickets_db.upgrade(engine)
    coordinators = {"G1": Coordinator("张网格员", {"onebot": "10001"})}
    return TicketService(engine, office_config.load(), default_calendar(),
                         coordinator_of=coordinators.get, clock=Clock())


def _create(service: TicketService, grid: str | None, topic: str = "wage_arrears") -> str:
    ticket, _ = service.create(TicketDraft(question="问题", asker=Person("onebot", "2", "王"),
                                           group_id="g", grid_code=grid, topic=topic))
    return ticket.number


def test_lights_in_sql_are_the_services(service: TicketService) -> None:
    clock = service.clock
    assert isinstance(clock, Clock)
    numbers = []
    for i in range(12):                       # created over a working day, an hour apart
        numbers.append(_create(service, "G1" if i % 2 else "G2"))
        clock.now += 1800
    service.answer(numbers[0], Person("staff", "li", "李"), "答复", trusted=True)
    for _ in range(8):
        expected = {n: service.light(service.get(n)) for n in numbers}
        page = search(service, InboxQuery(status=None, limit=500))
        assert {r.ticket.number: r.light for r in page.rows} == expected
        for light in Light:
            found = search(service, InboxQuery(light=light, limit=500))
            assert {r.ticket.number for r in found.rows} == {
                n for n, x in expected.items() if x is light}
            assert counts_by_light(service)[light] == found.total
        clock.now += 3600


def test_filters_scope_and_paging(service: TicketService) -> None:
    a, b = _create(service, "G1"), _create(service, "G2", topic="legal_aid")
    c = _create(service, None)
    assert [r.ticket.number for r in search(service, InboxQuery(grids={"G1"})).rows] == [a]
    assert search(service, InboxQuery(grids=set())).total == 0
    assert {r.ticket.number for r in search(service, InboxQuery()).rows} == {a, b, c}
    assert [r.ticket.number for r in search(service, InboxQuery(topic="legal_aid")).rows] == [b]
    page = search(service, InboxQuery(limit=1, offset=1))
    assert page.total == 3 and len(page.rows) == 1


def test_reassign(service: TicketService) -> None:
    number = _create(service, "G1")
    other = Person("onebot", "10002", "李网格员")
    ticket = service.reassign(number, other, Person("staff", "li", "李"), "休假", trusted=True)
    assert ticket.assignee == other and ticket.status.value == "assigned"
    event = service.history(number)[-1]
    assert event.kind is EventKind.ASSIGNED and event.note == "改派给 李网格员：休假"
    with pytest.raises(Exception, match="不能改派|改派"):
        service.reassign(number, other, Person("onebot", "9", "路人"))
    service.close(number, Person("staff", "li", "李"), trusted=True)
    with pytest.raises(InvalidTicket, match="不能改派"):
        service.reassign(number, other, Person("staff", "li", "李"), trusted=True)


@pytest.fixture
def directory_engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade_all(engine)
    with Session(engine, future=True) as session, session.begin():
        repository.upsert(session, generate())
    return engine


def test_grid_tree_counts_groups_per_platform(directory_engine) -> None:  # type: ignore[no-untyped-def]
    with Session(directory_engine, future=True) as session:
        tree = group_tree(session)
        groups = repository.placed_groups(session)
        street = grids_of_street(session, "D001-S01")
        mine = grids_of_coordinator(session, "D001-P0001")
        part = group_tree(session, set(mine))
    assert sum(s.total for s in tree) == len(groups)
    s01 = next(s for s in tree if s.code == "D001-S01")
    assert s01.total == sum(1 for p in groups if p.street_code == "D001-S01")
    assert s01.groups["web"] == sum(1 for p in groups if p.street_code == "D001-S01"
                                    and p.group.platform == "web")
    assert {g.code for c in s01.children for g in c.children} == set(street)
    assert [g.code for s in part for c in s.children for g in c.children] == mine


def test_import_preview_writes_nothing(directory_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "streets.csv"
    bad.write_text("街道编码,街道名称,所属区县\n,无编码,示例区\n", encoding="utf-8")
    good = tmp_path / "communities.csv"
    good.write_text("社区编码,社区名称,街道编码\nD001-S01-C99,新社区,D001-S01\n", encoding="utf-8")
    with Session(directory_engine, future=True) as session:
        before = repository.revision(session)
    found = preview_path(directory_engine, bad)
    assert not found.ok and [(e.line, e.column) for e in found.errors] == [(2, 1)]
    found = preview_path(directory_engine, good)
    assert found.ok and found.report.created["communities"] == 1
    with Session(directory_engine, future=True) as session:
        assert repository.revision(session) == before
    assert import_path(directory_engine, good).created["communities"] == 1


def test_deliveries_changed_since(directory_engine) -> None:  # type: ignore[no-untyped-def]
    outbox = Outbox(directory_engine)
    notice = outbox.create(NoticeDraft("t", "b", "a", Targets(grids=("D001-S01-C01-G01",))))
    all_of_them = outbox.deliveries(notice)
    assert outbox.deliveries_changed(notice, 0.0) == all_of_them
    newest = max(d.updated_at for d in all_of_them)
    assert outbox.deliveries_changed(notice, newest + 1) == []

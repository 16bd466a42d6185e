"""Every figure of the statistics against hand-computed values (tests/insight_scenario.py),
on SQLite, from events ingested like the broker's; scopes; grouping errors."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from insight.events import Keys
from insight.ingest import Ingester, Source
from insight.model import By, Period, Scope
from insight.service import Statistics
from tests.insight_scenario import (
    NOW,
    SECRET,
    P,
    broker_dicts,
    check_conversation,
    check_deliveries,
    check_tickets,
    seed_deliveries,
    seed_tickets,
    write_events,
)


@pytest.fixture
def stats(engine: Engine, source_engine: Engine) -> Statistics:
    write_events(source_engine, broker_dicts())
    Ingester(engine, Source.sql_broker(source_engine), Keys(SECRET)).ingest_all()
    seed_tickets(engine)
    seed_deliveries(engine)
    return Statistics(engine, clock=lambda: NOW)


def test_conversation_figures(stats: Statistics) -> None:
    check_conversation(stats)


def test_ticket_figures(stats: Statistics) -> None:
    check_tickets(stats)


def test_delivery_figures(stats: Statistics) -> None:
    check_deliveries(stats)


def test_an_empty_period_has_zero_rows(stats: Statistics) -> None:
    empty = Period.month(2025, 1)
    assert stats.conversation(empty, Scope.everything()).records()[0]["questions"] == 0
    assert stats.conversation(empty, Scope.everything()).records()[0]["answer_rate"] is None
    days = stats.questions_per_day(empty, Scope.everything())
    assert len(days.rows) == 31 and set(days.column("questions")) == {0}
    assert stats.tickets(empty, Scope.everything()).records()[0]["tickets"] == 0


def test_groupings_that_do_not_apply_are_refused(stats: Statistics) -> None:
    with pytest.raises(ValueError):
        stats.conversation(P, Scope.everything(), By.OFFICE)
    with pytest.raises(ValueError):
        stats.deliveries(P, Scope.everything(), By.TOPIC)


def test_overview_has_every_table(stats: Statistics) -> None:
    tables = stats.overview(P, Scope.of_street("D001-S01"), By.STREET)
    assert set(tables) == {"conversation_by_street", "questions_per_day_by_none", "top_topics",
                           "rising_topics", "tickets_by_street", "ticket_lights_by_street",
                           "deliveries_by_street", "delivery_failures"}


def test_period_and_scope_rules() -> None:
    assert Period.month(2026, 2).days == 28
    assert Period.month(2026, 12).last.isoformat() == "2026-12-31"
    assert P.previous() == Period(date(2026, 2, 28), date(2026, 3, 1))
    start, end = P.epoch_range()
    assert end - start == 2 * 86400
    with pytest.raises(ValueError):
        Scope(grids=frozenset({"G"}), street="S")
    with pytest.raises(ValueError):
        Period(P.last, P.first)

"""The same figures on PostgreSQL (a throw-away schema): events in an `events` table
of the same database, ingested (cursor row locked), every hand-computed figure; and
two ingesters racing on one source count each turn once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from core.db import create
from insight import rollup
from insight.events import Keys
from insight.ingest import Ingester, Source
from insight.service import Statistics
from insight.tables import TurnRow
from tests.insight_scenario import (
    EXPECTED,
    NOW,
    SECRET,
    broker_dicts,
    check_conversation,
    check_deliveries,
    check_tickets,
    migrate,
    seed_deliveries,
    seed_directory,
    seed_tickets,
    write_events,
)
from tests.pg import PostgresSchemas
from tests.unit.insight.test_rollups import PERIODS, SCOPES, figures, random_events, snapshot

pytestmark = pytest.mark.postgres


def test_every_figure_on_postgres(pg: PostgresSchemas) -> None:
    engine = create(pg.new_url())
    migrate(engine)
    seed_directory(engine)
    write_events(engine, broker_dicts())
    ingester = Ingester(engine, Source.sql_broker(engine), Keys(SECRET), gap_wait=0.5)
    assert ingester.ingest_all() == len(broker_dicts())
    seed_tickets(engine)
    seed_deliveries(engine)
    stats = Statistics(engine, clock=lambda: NOW)
    check_conversation(stats)
    check_tickets(stats)
    check_deliveries(stats)
    engine.dispose()


def test_racing_ingesters_count_once(pg: PostgresSchemas) -> None:
    engine = create(pg.new_url())
    migrate(engine)
    seed_directory(engine)
    write_events(engine, broker_dicts())

    def ingest() -> int:
        ingester = Ingester(engine, Source.sql_broker(engine), Keys(SECRET), batch=5)
        return ingester.ingest_all()

    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda _: ingest(), range(2)))
    assert sum(counts) == len(broker_dicts())
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(TurnRow)).scalar_one() == EXPECTED["turns"]
        assert c.execute(select(func.sum(TurnRow.fallback))).scalar_one() == 1
    engine.dispose()


def test_rollups_equal_the_turns_on_postgres(pg: PostgresSchemas) -> None:
    """Random conversations in small batches (racing ingesters), then the rollups
    against the turns and against their rebuild."""
    engine = create(pg.new_url())
    migrate(engine)
    seed_directory(engine)
    write_events(engine, random_events(5, 120))

    def ingest() -> int:
        return Ingester(engine, Source.sql_broker(engine), Keys(SECRET), batch=3,
                        gap_wait=0.5).ingest_all()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: ingest(), range(2)))
    with engine.begin() as c:
        kept = snapshot(c)
        for period in PERIODS:
            for scope in SCOPES:
                assert figures(c, period, scope, from_turns=False) == \
                    figures(c, period, scope, from_turns=True), (period, scope)
        rollup.rebuild(c)
        assert snapshot(c) == kept
    engine.dispose()

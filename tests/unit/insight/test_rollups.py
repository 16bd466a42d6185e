"""The rollups equal the figures counted from the turns, on random conversations
ingested in small batches (bot events in a later batch than their user message),
with a racing ingester refused and everything ingested again."""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.clock import SHANGHAI
from insight import conversation, rollup
from insight.events import Keys
from insight.ingest import Ingester, Source
from insight.model import By, Period, Scope
from insight.tables import CursorRow
from tests.insight_scenario import (
    GA,
    GB,
    QQ_GROUP,
    S1,
    S2,
    SECRET,
    WEB_ROOM,
    WECOM_GROUP,
    broker_dicts,
    faq,
    intent,
    nlu_fallback,
    turn,
    write_events,
)

GROUPS = (("wecom", WECOM_GROUP), ("onebot", QQ_GROUP), ("web", WEB_ROOM), ("onebot", "7777"))
ACTIONS = (("utter_faq",), ("action_cloud_doctor_fallback",), ("action_create_ticket",),
           ("action_ticket_status",), ())
PERIODS = (Period.month(2025, 12), Period.month(2026, 1), Period.month(2026, 2),
           Period(date(2026, 1, 1), date(2026, 12, 31)), Period(date(2026, 1, 7), date(2026, 1, 7)),
           Period(date(2025, 12, 20), date(2026, 2, 9)), Period(date(2026, 1, 3), date(2026, 1, 30)))
SCOPES = (Scope.everything(), Scope.of_street(S1), Scope.of_street(S2), Scope.of_grids({GA}),
          Scope.of_grids({GA, GB}), Scope.of_grids(set()))
BYS = (By.NONE, By.STREET, By.GRID, By.PLATFORM, By.TOPIC)


def random_events(seed: int, n: int = 160) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2025, 12, 1, tzinfo=SHANGHAI).timestamp()
    queues: dict[str, list[dict[str, Any]]] = {}
    when = start
    for _ in range(n):
        when += rng.random() * 80 * 86400 / n
        platform, group = rng.choice(GROUPS)
        parse = rng.choice([faq(rng.choice(["join_union", "wage_arrears", "union_dues"])),
                            nlu_fallback("union_dues"), intent("greet"),
                            intent("human_handoff")])
        sender, events = turn(platform, group, f"u{rng.randrange(8)}", "问题", parse, when,
                              actions=rng.choice(ACTIONS), reply=rng.choice(["答复", None]))
        queues.setdefault(sender, []).extend(broker_dicts([(sender, events)]))
    out: list[dict[str, Any]] = []
    while queues:    # the senders' events interleaved, each sender's in order
        sender = rng.choice(sorted(queues))
        out.append(queues[sender].pop(0))
        if not queues[sender]:
            del queues[sender]
    return out


def ingester(engine: Engine, source_engine: Engine, batch: int) -> Ingester:
    return Ingester(engine, Source.sql_broker(source_engine), Keys(SECRET), batch=batch)


def snapshot(c: Connection) -> list[list[tuple[Any, ...]]]:
    return [sorted(tuple(r) for r in c.execute(select(t)))
            for t in (rollup.places_rollup, rollup.topics_rollup, rollup.askers)]


def figures(c: Connection, period: Period, scope: Scope, *, from_turns: bool) -> list[Any]:
    tables = [conversation.summary(c, period, scope, by, from_turns=from_turns) for by in BYS]
    tables += [conversation.per_day(c, period, scope, by, from_turns=from_turns)
               for by in (By.NONE, By.GRID)]
    tables += [conversation.top_topics(c, period, scope, 3, include, from_turns=from_turns)
               for include in (False, True)]
    tables += [conversation.rising_topics(c, period, scope, 3, include, from_turns=from_turns)
               for include in (False, True)]
    return [t.rows for t in tables]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_the_turns(engine: Engine, source_engine: Engine, seed: int) -> None:
    write_events(source_engine, random_events(seed))
    rng = random.Random(seed)
    first = ingester(engine, source_engine, batch=rng.randint(2, 7))
    for _ in range(25):
        first.ingest_batch()
    with engine.begin() as c:      # a second ingester from a stale mark cannot count twice
        mark = c.execute(select(CursorRow.last_id)).scalar_one()
        c.execute(update(CursorRow).values(last_id=mark - 30))
    with pytest.raises(IntegrityError):
        ingester(engine, source_engine, batch=50).ingest_batch()
    with engine.begin() as c:
        c.execute(update(CursorRow).values(last_id=mark))
    first.ingest_all()
    assert ingester(engine, source_engine, batch=5).ingest_all() == 0   # again: nothing

    with engine.begin() as c:
        kept = snapshot(c)
        assert sum(r[5] for r in kept[0]) > 100
        for period in PERIODS:
            for scope in SCOPES:
                assert figures(c, period, scope, from_turns=False) == \
                    figures(c, period, scope, from_turns=True), (period, scope)
        rollup.rebuild(c)
        assert snapshot(c) == kept


def test_the_migration_backfills_the_rollups(engine: Engine, source_engine: Engine) -> None:
    from insight import db as insight_db

    write_events(source_engine, random_events(4, 60))
    ingester(engine, source_engine, batch=4).ingest_all()
    with engine.connect() as c:
        kept = snapshot(c)
    insight_db.downgrade(engine, "i0001")
    insight_db.upgrade(engine)
    with engine.connect() as c:
        assert snapshot(c) == kept

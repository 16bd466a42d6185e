"""The shared pacer on a real database: one upsert per booking, and concurrent
bookings from several threads and engines (standing in for dispatcher processes)
never overrun a budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, create_mock_engine, event
from sqlalchemy.engine import Engine

from broadcast import db as broadcast_db
from broadcast.outbox import Outbox
from broadcast.pacing import Limit, MemoryPacer, SqlPacer
from tests.pg import PostgresSchemas, schemas_or_skip

NOW = 5000.0
LIMIT = Limit(rate=2.0, burst=3)  # 3 at once, then one per 0.5 s


def clock() -> float:
    return NOW


@pytest.fixture
def pg() -> Iterator[PostgresSchemas]:
    yield from schemas_or_skip()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pacing.db'}"
    return request.getfixturevalue("pg").new_url()


@pytest.fixture
def new_pacer() -> Iterator[Callable[[Engine], SqlPacer]]:
    made: list[SqlPacer] = []

    def make(engine: Engine) -> SqlPacer:
        made.append(SqlPacer(engine, clock))
        return made[-1]

    yield make
    for pacer in made:
        pacer.close()


def engine_for(url: str) -> Engine:
    pool = {} if url.startswith("sqlite") else {"pool_size": 8}
    engine = create_engine(url, future=True, **pool)
    broadcast_db.upgrade(engine)
    return engine


def count_statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: seen.append(statement))
    return seen


def test_one_statement_per_booking_and_the_exact_schedule(url: str, new_pacer) -> None:
    engine = engine_for(url)
    pacer = new_pacer(engine)
    statements = count_statements(pacer.engine)
    waits = [pacer.reserve("wecom:robot-1", LIMIT) for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0, 1.5])
    assert len([s for s in statements if "bc_pacing" in s]) == 6
    # peek answers from what this pacer saw, without a query
    before = len(statements)
    assert pacer.peek("wecom:robot-1", LIMIT) == pytest.approx(2.0)
    assert pacer.peek("wecom:other", LIMIT) == 0.0
    assert len(statements) == before


def test_concurrent_bookings_from_two_engines_share_one_budget(url: str, new_pacer) -> None:
    engines = [engine_for(url) for _ in range(2)]
    pacers = [new_pacer(engine) for engine in engines]
    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(lambda i: pacers[i % 2].reserve("feishu:bot", LIMIT), range(40)))
    # every slot handed out exactly once: 3 at once, then one per 0.5 s
    expected = [0.0, 0.0] + [0.5 * k for k in range(38)]
    assert sorted(waits) == pytest.approx(expected)
    # a pacer that did not see the other's last bookings underestimates with peek;
    # its next reserve learns the truth
    last = pacers[0].reserve("feishu:bot", LIMIT)
    assert last == pytest.approx(0.5 * 38)
    assert pacers[0].peek("feishu:bot", LIMIT) == pytest.approx(0.5 * 39)


def test_hold_pushes_the_budget_past_the_platform_reset(url: str, new_pacer) -> None:
    engine = engine_for(url)
    pacer = new_pacer(engine)
    pacer.hold("dingtalk:robot", NOW + 600, LIMIT)
    other = new_pacer(engine)  # another process learns it from the database
    assert other.reserve("dingtalk:robot", LIMIT) == pytest.approx(600.0)
    pacer.hold("dingtalk:robot", NOW + 10, LIMIT)  # an earlier reset never moves it back
    assert other.reserve("dingtalk:robot", LIMIT) == pytest.approx(600.5)


def test_refuses_a_database_it_cannot_upsert_into() -> None:
    engine = create_mock_engine("mysql://", lambda *args, **kwargs: None)
    with pytest.raises(ValueError, match="PostgreSQL or SQLite"):
        SqlPacer(engine)  # type: ignore[arg-type]


def test_a_batch_books_like_one_booking_after_another(url: str, new_pacer) -> None:
    engine = engine_for(url)
    pacer = new_pacer(engine)
    other = Limit(rate=0.25, burst=1)
    requests = [("a", LIMIT), ("b", other), ("a", LIMIT), ("c", LIMIT), ("a", LIMIT),
                ("b", other), ("a", LIMIT)]
    statements = count_statements(pacer.engine)
    waits = pacer.reserve_many(requests)
    reference = MemoryPacer(clock)
    assert waits == pytest.approx([reference.reserve(k, lim) for k, lim in requests])
    # rounds: {a, b, c} split by interval (2 statements), then {a, b}, then {a}, then {a}
    assert len([s for s in statements if "bc_pacing" in s]) == 2 + 2 + 1 + 1


def test_overlapping_batches_from_two_engines_neither_deadlock_nor_overrun(url: str,
                                                                          new_pacer) -> None:
    pacers = [new_pacer(engine_for(url)) for _ in range(2)]
    keys = [f"wecom:robot-{i}" for i in range(30)]

    def book(i: int) -> list[float]:
        order = keys if i % 2 else list(reversed(keys))  # opposite orders would deadlock
        return pacers[i % 2].reserve_many([(key, LIMIT) for key in order])

    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(book, range(16)))
    for k in range(len(keys)):  # each key booked 16 times: exactly the GCRA schedule
        key_waits = sorted(batch[k if i % 2 else len(keys) - 1 - k]
                           for i, batch in enumerate(batches))
        assert key_waits == pytest.approx([0.0, 0.0] + [0.5 * j for j in range(14)])


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _a_new_process_pacer(url: str, engine: Engine, clock: Clock,
                         made: list[SqlPacer]) -> MemoryPacer | SqlPacer:
    """What a new dispatcher process builds: on SQLite an in-memory pacer restored
    from the saved budgets, otherwise the shared pacer."""
    if url.startswith("sqlite"):
        pacer = MemoryPacer(clock)
        pacer.restore(Outbox(engine).load_pacing(), lambda key: LIMIT)
        return pacer
    made.append(SqlPacer(engine, clock))
    return made[-1]


def test_a_robot_idle_long_enough_gets_its_whole_burst_in_a_new_process(url: str) -> None:
    engine = engine_for(url)
    clock, made = Clock(NOW), []
    first = _a_new_process_pacer(url, engine, clock, made)
    assert [first.reserve("wecom:robot", LIMIT) for _ in range(3)] == [0.0, 0.0, 0.0]
    Outbox(engine).record("w1", [], pacing=first.snapshot())   # what the dispatcher saves
    try:
        # Minutes later, a second `broadcast send` (a new process): the full burst again.
        clock.now = NOW + 300
        second = _a_new_process_pacer(url, engine, clock, made)
        assert [second.reserve("wecom:robot", LIMIT) for _ in range(4)] == pytest.approx(
            [0.0, 0.0, 0.0, 0.5])
        Outbox(engine).record("w2", [], pacing=second.snapshot())
        # Right after, a third process may not burst into the budget just spent.
        clock.now = NOW + 300.1
        third = _a_new_process_pacer(url, engine, clock, made)
        assert third.reserve("wecom:robot", LIMIT) > 0.5
    finally:
        for pacer in made:
            pacer.close()


@pytest.mark.postgres
def test_processes_starting_together_migrate_one_after_the_other(pg: PostgresSchemas) -> None:
    """Every schema upgraded from several engines at once (processes starting together):
    the migration lock serialises them, none fails on a half-created table."""
    from core import db as core_db
    from grids import db as grid_db
    from tickets import db as tickets_db

    url = pg.new_url()
    engines = [create_engine(url, future=True) for _ in range(4)]

    def migrate(engine: Engine) -> None:
        for upgrade in (grid_db.upgrade, broadcast_db.upgrade, tickets_db.upgrade):
            upgrade(engine)

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(migrate, engines))
        assert core_db.current_revision(engines[0], tickets_db.VERSION_TABLE) == "t0001"
    finally:
        for engine in engines:
            engine.dispose()

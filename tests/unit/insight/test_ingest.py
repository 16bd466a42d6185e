"""The ingester on SQLite, fed real Rasa event JSON (generated from rasa's event
classes): turns and flags, the high-water mark, idempotency, holes, privacy."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from insight.events import Keys
from insight.ingest import Ingester, Source
from insight.tables import CursorRow, TurnRow
from tests.insight_scenario import (
    EXPECTED,
    GA,
    S1,
    SECRET,
    broker_dicts,
    conversations,
    write_events,
)


def ingester(engine: Engine, source_engine: Engine, **options: object) -> Ingester:
    return Ingester(engine, Source.sql_broker(source_engine), Keys(SECRET), **options)  # type: ignore[arg-type]


def turns(engine: Engine) -> list[TurnRow]:
    with engine.connect() as c:
        return list(c.execute(select(TurnRow.__table__).order_by(TurnRow.id)))


def test_no_source_table_yet_is_nothing_to_do(engine: Engine, source_engine: Engine) -> None:
    assert ingester(engine, source_engine).ingest_all() == 0


def test_turns_and_flags_from_rasa_events(engine: Engine, source_engine: Engine) -> None:
    dicts = broker_dicts()
    write_events(source_engine, dicts)
    assert ingester(engine, source_engine).ingest_all() == len(dicts)
    rows = turns(engine)
    assert len(rows) == EXPECTED["turns"]
    by_text = {r.event_id: r for r in rows}
    first_in_p = rows[3]
    assert str(first_in_p.day) == "2026-03-02"          # 00:10 in Shanghai, 03-01 in UTC
    assert (first_in_p.platform, first_in_p.grid_code, first_in_p.street_code) == ("wecom", GA, S1)
    assert first_in_p.topic == "join_union" and first_in_p.answered == 1
    assert first_in_p.text is None                      # answered: its text is not kept
    fallback, handoff = rows[4], rows[5]
    assert (fallback.fallback, fallback.handoff, fallback.answered, fallback.attention) == (1, 0, 0, 1)
    assert fallback.topic == "union_dues"
    assert fallback.text == "那个东西咋弄 我电话138****5678"
    assert (handoff.fallback, handoff.handoff, handoff.answered) == (0, 1, 0)
    assert handoff.topic == "human_handoff"
    web = rows[8]
    assert (web.platform, web.grid_code, web.topic) == ("web", None, "greet")
    assert len(by_text) == len(rows)


def test_no_raw_user_id_is_stored(engine: Engine, source_engine: Engine) -> None:
    write_events(source_engine, broker_dicts())
    ingester(engine, source_engine).ingest_all()
    rows = turns(engine)
    stored = " ".join(str(v) for r in rows for v in r)
    for raw in ("u1", "u2", "u3", "wecom:wx-ga", "13812345678"):
        assert raw not in stored
    keys = Keys(SECRET)
    assert rows[3].asker_key == keys.of("wecom:u1") == rows[0 + 2].asker_key
    assert Keys(b"another-key-0123456789").of("wecom:u1") != rows[3].asker_key


def test_batches_move_the_mark_and_a_turn_split_across_batches_is_completed(
        engine: Engine, source_engine: Engine) -> None:
    dicts = broker_dicts()
    write_events(source_engine, dicts)
    ing = ingester(engine, source_engine, batch=3)
    marks = []
    while True:
        result = ing.ingest_batch()
        if not result.events:
            break
        with engine.connect() as c:
            marks.append(c.execute(select(CursorRow.last_id)).scalar_one())
    assert marks == list(range(3, len(dicts), 3)) + ([len(dicts)] if len(dicts) % 3 else [])
    rows = turns(engine)
    assert len(rows) == EXPECTED["turns"]
    # the fallback turn's user event and its fallback action are in different batches
    assert [r.fallback for r in rows] == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert [r.handoff for r in rows] == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert sum(r.answered for r in rows) == 8


def test_ingesting_again_adds_nothing_and_new_events_continue(engine: Engine,
                                                              source_engine: Engine) -> None:
    turns_ = conversations()
    write_events(source_engine, broker_dicts(turns_[:4]))
    first = ingester(engine, source_engine)
    assert first.ingest_all() > 0
    assert first.ingest_all() == 0
    assert ingester(engine, source_engine).ingest_all() == 0     # a restarted process
    write_events(source_engine, broker_dicts(turns_[4:]))
    ingester(engine, source_engine).ingest_all()
    assert len(turns(engine)) == EXPECTED["turns"]


def test_a_failed_batch_leaves_the_mark_and_is_read_again(engine: Engine, source_engine: Engine,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    write_events(source_engine, broker_dicts())
    ing = ingester(engine, source_engine)

    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ing, "_apply", broken)
    with pytest.raises(RuntimeError):
        ing.ingest_batch()
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(TurnRow)).scalar_one() == 0
        assert c.execute(select(func.count()).select_from(CursorRow)).scalar_one() == 0
    monkeypatch.undo()
    ing.ingest_all()
    assert len(turns(engine)) == EXPECTED["turns"]


def test_a_second_ingester_from_a_stale_mark_cannot_count_twice(engine: Engine,
                                                               source_engine: Engine) -> None:
    write_events(source_engine, broker_dicts())
    ingester(engine, source_engine).ingest_all()
    with engine.begin() as c:
        c.execute(text("UPDATE in_cursors SET last_id = 0"))
    with pytest.raises(IntegrityError):
        ingester(engine, source_engine).ingest_batch()
    assert len(turns(engine)) == EXPECTED["turns"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_hole_in_the_ids_is_waited_for_then_skipped(engine: Engine,
                                                     source_engine: Engine) -> None:
    dicts = broker_dicts(conversations()[:2])      # 2 turns, 4 events each
    ids = [1, 2, 3, 4, 6, 7, 8, 9]                  # 5: a writer still in its transaction
    write_events(source_engine, dicts, ids=ids)
    clock = Clock()
    ing = ingester(engine, source_engine, gap_wait=5.0, clock=clock)
    result = ing.ingest_batch()
    assert (result.events, result.turns, result.waiting_for) == (4, 1, 5)
    clock.now += 2
    assert ing.ingest_batch().events == 0           # still waiting
    clock.now += 4
    result = ing.ingest_batch()                     # given up: a rolled-back insert
    assert (result.events, result.turns, result.waiting_for) == (4, 1, None)
    assert len(turns(engine)) == 2


def test_a_hole_that_fills_in_time_is_ingested_in_order(engine: Engine,
                                                        source_engine: Engine) -> None:
    dicts = broker_dicts(conversations()[:2])
    write_events(source_engine, dicts[:4] + dicts[5:], ids=[1, 2, 3, 4, 6, 7, 8])
    clock = Clock()
    ing = ingester(engine, source_engine, gap_wait=5.0, clock=clock)
    assert ing.ingest_batch().waiting_for == 5
    write_events(source_engine, [dicts[4]], ids=[5])  # the late commit
    clock.now += 1
    result = ing.ingest_batch()
    assert (result.events, result.waiting_for) == (4, None)
    assert [r.answered for r in turns(engine)] == [1, 1]


def test_sqlite_sources_do_not_wait_for_holes(engine: Engine, source_engine: Engine) -> None:
    write_events(source_engine, broker_dicts(conversations()[:2]), ids=[1, 2, 3, 4, 10, 11, 12, 13])
    assert ingester(engine, source_engine).ingest_all() == 8


def test_a_follow_up_is_counted_under_the_topic_it_follows(engine: Engine,
                                                         source_engine: Engine) -> None:
    from tests.insight_scenario import WECOM_GROUP, at, faq, intent, nlu_fallback, turn

    def follow_up(user: str, when: float) -> tuple[str, list]:
        return turn("wecom", WECOM_GROUP, user, "那要带啥材料？", intent("follow_up"), when,
                    actions=("action_follow_up",))

    t = at(3, 2, 9)
    first = broker_dicts([
        turn("wecom", WECOM_GROUP, "u1", "农民工怎么入会", faq("join_union"), t),
        follow_up("u1", t + 60),                       # right after: join_union
        follow_up("u9", t + 70),                       # another asker: no context
        turn("wecom", WECOM_GROUP, "u3", "会费交多少", faq("union_dues"), t + 1000)])
    later = broker_dicts([
        follow_up("u1", t + 60 + 11 * 60),             # 11 minutes on: out of scope
        turn("wecom", WECOM_GROUP, "u2", "那个咋弄", nlu_fallback("union_dues"), t + 900,
             actions=("action_cloud_doctor_fallback",)),
        follow_up("u2", t + 960),                      # after a question back: out of scope
        follow_up("u3", t + 1100)])                    # its question is stored already
    write_events(source_engine, first)
    ing = ingester(engine, source_engine)
    ing.ingest_all()
    write_events(source_engine, later, ids=range(len(first) + 1, len(first) + len(later) + 1))
    ing.ingest_all()
    assert [r.topic for r in turns(engine)] == [
        "join_union", "join_union", "out_of_scope", "union_dues",
        "out_of_scope", "union_dues", "out_of_scope", "union_dues"]

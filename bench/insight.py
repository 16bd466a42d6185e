"""Statistics benchmark: one year (2026) of activity for the 805-grid sample, on
SQLite and on PostgreSQL:

- 1,000,000 user messages (turns) in `in_turns`, each standing for the four or so
  broker events of its turn (user, action, bot, action_listen), written with
  executemany; 50,000 tickets; 500 notices with their deliveries (a tenth to every
  group, the rest to one street);
- ingestion: 20,000 Rasa-shaped broker events through `insight.ingest` (events/s);
- the statistics page for a month (June) and for the year: every table of
  `Statistics.overview` for each grouping, and the CSV export of all of them;
- the same figures computed by a naive Python loop over the rows (fetched in the
  same run), compared with the SQL figures, and the ratio.

    .venv/bin/python bench/insight.py [--quick] [--no-postgres] [--turns N]

Exit status 0 when the SQL and naive figures agree, 1 when not. Timings are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from broadcast import db as broadcast_db  # noqa: E402
from broadcast.tables import DeliveryRow, NoticeRow  # noqa: E402
from core.clock import SHANGHAI  # noqa: E402
from core.db import create  # noqa: E402
from core.topics import contract  # noqa: E402
from grids import db as grids_db  # noqa: E402
from grids import repository  # noqa: E402
from grids.generator import SAMPLE_DIR  # noqa: E402
from grids.importer import import_path  # noqa: E402
from insight import db as insight_db  # noqa: E402
from insight import rollup  # noqa: E402
from insight.events import Keys  # noqa: E402
from insight.export import csv_bytes  # noqa: E402
from insight.ingest import Ingester, Source, rasa_events_table  # noqa: E402
from insight.model import By, Period, Scope  # noqa: E402
from insight.service import DELIVERY_GROUPS, TICKET_GROUPS, Statistics  # noqa: E402
from insight.tables import TurnRow  # noqa: E402
from tickets import db as tickets_db  # noqa: E402
from tickets.tables import EventRow, TicketRow  # noqa: E402

PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
YEAR = Period(date(2026, 1, 1), date(2026, 12, 31))
MONTH = Period.month(2026, 6)
NOW = datetime(2027, 1, 2, 12, tzinfo=SHANGHAI).timestamp()
SECRET = b"bench-statistics-key-0123456789"
CHUNK = 50_000
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


# --- generating a year -------------------------------------------------------------------
def topic_weights() -> tuple[list[str], list[float]]:
    keys = [k for k, t in contract().items()]
    weights = [1.0 + (7 if contract()[k].kind == "faq" else 2) * random.random() for k in keys]
    return keys, weights


def turns(n: int, groups: list[tuple[str, str, str, str]], seed: int) -> Iterator[list[dict[str, Any]]]:
    random.seed(seed)
    keys, weights = topic_weights()
    rising = keys.index("wage_arrears")
    start = datetime(2026, 1, 1, tzinfo=SHANGHAI).timestamp()
    askers = [f"{i:016x}" for i in range(60_000)]
    rows: list[dict[str, Any]] = []
    for i in range(n):
        at = start + random.random() * 365 * 86400
        day = datetime.fromtimestamp(at, SHANGHAI).date()
        if random.random() < 0.05:
            platform, group, grid, street = "web", f"room:x{i % 50}", None, None
        else:
            platform, group, grid, street = random.choice(groups)
        w = list(weights)
        w[rising] *= 1 + 3 * (day.timetuple().tm_yday / 365)   # rises through the year
        topic = random.choices(keys, w)[0]
        fallback = 1 if random.random() < 0.08 else 0
        handoff = 1 if not fallback and random.random() < 0.03 else 0
        replied = 1 if random.random() < 0.99 else 0
        attention = 1 if fallback or handoff else 0
        rows.append({"source": "bench", "event_id": i + 1, "at": at, "day": day,
                     "sender_key": askers[i % 40_000], "asker_key": random.choice(askers),
                     "platform": platform, "group_id": group, "grid_code": grid,
                     "street_code": street, "topic": topic,
                     "confidence": round(random.random(), 4), "fallback": fallback,
                     "handoff": handoff, "replied": replied,
                     "answered": 1 if replied and not attention else 0, "attention": attention,
                     "text": "那个怎么弄 电话138****5678" if attention else None})
        if len(rows) >= CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def tickets(n: int, grids: list[str], seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    random.seed(seed)
    start = datetime(2026, 1, 1, tzinfo=SHANGHAI).timestamp()
    offices = [None, None, None, "legal", "rights", "hardship", "women"]
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i in range(n):
        created = start + random.random() * 365 * 86400
        respond_by, resolve_by = created + 4 * 3600 + random.random() * 86400, \
            created + 2 * 86400 + random.random() * 3 * 86400
        done = random.random() < 0.95
        responded = created + random.expovariate(1 / 14400) if done else None
        answered = (responded + random.expovariate(1 / 86400)) if responded else None
        status = random.choice(["closed", "answered"]) if answered else \
            random.choice(["new", "assigned", "transferred"])
        rated = answered is not None and random.random() < 0.6
        rows.append({"question": "宿舍漏水，电话138****5678", "turns": [],
                     "topic": random.choice(["wage_arrears", "complaint_report", "legal_aid"]),
                     "kind": "consult", "status": status,
                     "asker_platform": random.choice(["wecom", "onebot", "dingtalk"]),
                     "asker_id": str(i), "asker_name": "", "group_id": None,
                     "grid_code": random.choice(grids), "resident": "",
                     "office_code": random.choice(offices), "created_at": created,
                     "clock_started_at": created, "respond_by": respond_by,
                     "resolve_by": resolve_by, "flagged": False, "responded_at": responded,
                     "answer": "已答复" if answered else None, "answered_at": answered,
                     "closed_at": None,
                     "rating": (random.choice(["satisfied"] * 4 + ["unsatisfied"])
                                if rated else None),
                     "reopened": random.random() < 0.05, "escalation": random.choice([0] * 8 + [1, 2]),
                     "generation": 0})
        if not done and random.random() < 0.5:
            events.append({"ticket_id": i + 1, "kind": "reminded", "at": created + 7200,
                           "actor": "system", "note": "", "office_code": None})
    return rows, events


def notices(n: int, groups: list[tuple[str, str, str, str]], seed: int
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    random.seed(seed)
    start = datetime(2026, 1, 1, tzinfo=SHANGHAI).timestamp()
    streets = sorted({g[3] for g in groups})
    reasons = ["群不存在", "机器人地址无效", "签名校验失败", "超过重试次数"]
    heads, rows = [], []
    for i in range(n):
        created = start + random.random() * 365 * 86400
        heads.append({"title": f"通知{i}", "body": "内容", "body_format": "text", "author": "李干事",
                      "targets": ["all"], "target_label": "全部", "schedule_kind": "now",
                      "timezone": "Asia/Shanghai", "status": "done", "total": 0,
                      "created_at": created})
        street = random.choice(streets)
        chosen = groups if random.random() < 0.1 else [g for g in groups if g[3] == street]
        for platform, group, grid, _ in chosen:
            failed = random.random() < 0.03
            rows.append({"notice_id": i + 1, "platform": platform, "external_id": group,
                         "group_name": group, "grid_code": grid, "send_via": "webhook",
                         "send_target": "x", "state": "failed" if failed else "sent",
                         "attempts": 1, "parts_sent": 1, "parts_total": 1, "due_at": created,
                         "reason": random.choice(reasons) if failed else None,
                         "updated_at": created})
    return heads, rows


def load(engine: Engine, n_turns: int, n_tickets: int, n_notices: int) -> dict[str, Any]:
    for upgrade in (grids_db.upgrade, broadcast_db.upgrade, tickets_db.upgrade,
                    insight_db.upgrade):
        upgrade(engine)
    import_path(engine, SAMPLE_DIR)
    with Session(engine, future=True) as session:
        placed = [(p.group.platform, p.group.external_id, p.group.grid_code, p.street_code)
                  for p in repository.placed_groups(session)]
    grids = sorted({g[2] for g in placed})
    started = time.perf_counter()
    for chunk in turns(n_turns, placed, seed=1):
        with engine.begin() as c:
            c.execute(insert(TurnRow), chunk)
    turns_s = time.perf_counter() - started
    ticket_rows, ticket_events = tickets(n_tickets, grids, seed=2)
    heads, deliveries = notices(n_notices, placed, seed=3)
    with engine.begin() as c:
        for i in range(0, len(ticket_rows), CHUNK):
            c.execute(insert(TicketRow), ticket_rows[i:i + CHUNK])
        c.execute(insert(EventRow), ticket_events)
        c.execute(insert(NoticeRow), heads)
        for i in range(0, len(deliveries), CHUNK):
            c.execute(insert(DeliveryRow), deliveries[i:i + CHUNK])
    analyse(engine)
    return {"turns": n_turns, "turn_load_s": turns_s, "tickets": n_tickets,
            "notices": n_notices, "deliveries": len(deliveries), "groups": len(placed)}


def analyse(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load, as a live database would have."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")


def ingestion(engine: Engine, source_engine: Engine, n_turns: int) -> tuple[int, float]:
    """Rasa-shaped broker events (user, action, bot, action_listen per turn) ingested."""
    table = rasa_events_table()
    table.metadata.create_all(source_engine)
    start = datetime(2026, 7, 1, tzinfo=SHANGHAI).timestamp()
    rows: list[dict[str, Any]] = []
    for i in range(n_turns):
        sender = f"onebot:9010000{i % 300:02d}:{i % 997}"
        at = start + i * 7.0
        parse = {"intent": {"name": "faq", "confidence": 0.9}, "entities": [],
                 "intent_ranking": [{"name": "faq", "confidence": 0.9}],
                 "response_selector": {"faq": {"response": {
                     "intent_response_key": "faq/join_union", "confidence": 0.8}}}}
        meta = {"platform": "onebot", "group_id": f"9010000{i % 300:02d}", "user_id": str(i % 997),
                "user_name": "", "message_id": str(i)}
        for event in ({"event": "user", "timestamp": at, "metadata": meta, "text": "农民工怎么入会",
                       "parse_data": parse, "input_channel": "onebot", "message_id": str(i)},
                      {"event": "action", "timestamp": at + 0.1, "name": "utter_faq"},
                      {"event": "bot", "timestamp": at + 0.2, "text": "答复", "data": {},
                       "metadata": {}},
                      {"event": "action", "timestamp": at + 0.3, "name": "action_listen"}):
            rows.append({"sender_id": sender, "data": json.dumps({"sender_id": sender, **event})})
    with source_engine.begin() as c:
        c.execute(insert(table), rows)
    ingester = Ingester(engine, Source.sql_broker(source_engine), Keys(SECRET), gap_wait=0)
    count, seconds = timed(ingester.ingest_all)
    with engine.begin() as c:   # keep the year's figures as generated
        c.execute(TurnRow.__table__.delete().where(TurnRow.source == "sql:events"))
    return count, seconds


def build_rollups(engine: Engine) -> float:
    """The rollups of the turns loaded directly (the migration's backfill), analysed."""
    started = time.perf_counter()
    with engine.begin() as c:
        rollup.rebuild(c)
    seconds = time.perf_counter() - started
    analyse(engine)
    return seconds


# --- the page, in SQL and naively ----------------------------------------------------------
def page(stats: Statistics, period: Period) -> dict[str, Any]:
    """Every table of the statistics page, each grouping once."""
    everything = Scope.everything()
    tables = [stats.questions_per_day(period, everything), stats.top_topics(period, everything),
              stats.rising_topics(period, everything), stats.delivery_failures(period, everything),
              stats.unanswered(everything).table, stats.tickets_queue(everything).table]
    tables += [stats.conversation(period, everything, by)
               for by in (By.NONE, By.STREET, By.GRID, By.PLATFORM, By.TOPIC)]
    tables += [stats.tickets(period, everything, by) for by in TICKET_GROUPS]
    tables += [stats.ticket_lights(everything, by) for by in TICKET_GROUPS]
    tables += [stats.deliveries(period, everything, by) for by in DELIVERY_GROUPS]
    return {t.name: t for t in tables}


def figures(stats: Statistics, period: Period) -> dict[str, Any]:
    """The tables holding exactly the figures `naive` computes."""
    everything = Scope.everything()
    tables = [stats.conversation(period, everything), stats.conversation(period, everything,
                                                                          By.STREET),
              stats.conversation(period, everything, By.GRID),
              stats.conversation(period, everything, By.TOPIC),
              stats.questions_per_day(period, everything),
              stats.tickets(period, everything, By.OFFICE),
              stats.deliveries(period, everything, By.PLATFORM)]
    return {t.name: t for t in tables}


def naive(engine: Engine, period: Period) -> dict[str, Any]:
    """The same headline figures by a Python loop over the raw turn rows (not the
    rollups)."""
    start, end = period.epoch_range()
    t = TurnRow.__table__
    out: dict[str, Any] = {}
    with engine.connect() as c:
        rows = c.execute(select(t.c.day, t.c.street_code, t.c.grid_code, t.c.platform,
                                t.c.topic, t.c.asker_key, t.c.answered, t.c.fallback,
                                t.c.handoff).where(t.c.day >= period.first,
                                                   t.c.day <= period.last)).all()
        by_street: dict[Any, list[Any]] = defaultdict(lambda: [0, set(), 0, 0, 0])
        by_grid: Counter[Any] = Counter()
        per_day: Counter[Any] = Counter()
        topics: Counter[Any] = Counter()
        askers = set()
        for r in rows:
            s = by_street[r.street_code]
            s[0] += 1
            s[1].add(r.asker_key)
            s[2] += r.answered
            s[3] += r.fallback
            s[4] += r.handoff
            by_grid[r.grid_code] += 1
            per_day[str(r.day)] += 1
            topics[r.topic] += 1
            askers.add(r.asker_key)
        out["questions"] = len(rows)
        out["askers"] = len(askers)
        out["by_street"] = {k: (v[0], len(v[1]), v[2], v[3], v[4]) for k, v in by_street.items()}
        out["by_grid"] = dict(by_grid)
        out["per_day"] = dict(per_day)
        out["topics"] = dict(topics)
        tk = TicketRow.__table__
        tickets_rows = c.execute(select(tk.c.office_code, tk.c.responded_at, tk.c.respond_by,
                                        tk.c.rating).where(tk.c.created_at >= start,
                                                           tk.c.created_at < end)).all()
        offices: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r in tickets_rows:
            o = offices[r.office_code]
            o[0] += 1
            o[1] += 1 if r.responded_at is not None and r.responded_at <= r.respond_by else 0
            o[2] += 1 if r.rating is not None else 0
            o[3] += 1 if r.rating == "satisfied" else 0
        out["offices"] = {k: tuple(v) for k, v in offices.items()}
        d, n = DeliveryRow.__table__, NoticeRow.__table__
        delivery_rows = c.execute(select(d.c.platform, d.c.state, n.c.created_at)
                                  .join(n, n.c.id == d.c.notice_id)).all()
        platforms: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for r in delivery_rows:
            if start <= r.created_at < end:
                p = platforms[r.platform]
                p[0] += 1
                p[1] += 1 if r.state == "sent" else 0
        out["platforms"] = {k: tuple(v) for k, v in platforms.items()}
    return out


def from_sql(tables: dict[str, Any], period: Period) -> dict[str, Any]:
    head = tables["conversation_by_none"].records()[0]
    days = {r["day"]: r["questions"] for r in tables["questions_per_day_by_none"].records()
            if r["questions"]}
    return {
        "questions": head["questions"], "askers": head["askers"],
        "by_street": {r["key"]: (r["questions"], r["askers"], r["answered"], r["fallbacks"],
                                 r["handoffs"]) for r in tables["conversation_by_street"].records()},
        "by_grid": {r["key"]: r["questions"] for r in tables["conversation_by_grid"].records()},
        "per_day": days,
        "topics": {r["key"]: r["questions"] for r in tables["conversation_by_topic"].records()},
        "offices": {r["key"]: (r["tickets"], None, r["rated"], None)
                    for r in tables["tickets_by_office"].records()},
        "platforms": {r["key"]: (r["targeted"], r["delivered"])
                      for r in tables["deliveries_by_platform"].records()},
    }


def agree(sql: dict[str, Any], loop: dict[str, Any]) -> bool:
    loop = dict(loop)
    loop["offices"] = {k: (v[0], None, v[2], None) for k, v in loop["offices"].items()}
    return all(sql[k] == loop[k] for k in sql)


def export_all(tables: dict[str, Any]) -> list[bytes]:
    return [csv_bytes(x) for x in tables.values()]


def run(label: str, engine: Engine, source_url: str, sizes: tuple[int, int, int],
        ingest_turns: int) -> bool:
    print(f"\n== {label} ==", flush=True)
    loaded, seconds = timed(lambda: load(engine, *sizes))
    print(f"generated {loaded['turns']:,} turns (~{4 * loaded['turns']:,} broker events), "
          f"{loaded['tickets']:,} tickets, {loaded['notices']} notices / "
          f"{loaded['deliveries']:,} deliveries to {loaded['groups']} groups in {seconds:.1f} s "
          f"(turns {loaded['turn_load_s']:.1f} s)", flush=True)
    count, ingest_s = ingestion(engine, create(source_url), ingest_turns)
    print(f"ingestion: {count:,} broker events in {ingest_s:.2f} s "
          f"({count / ingest_s:,.0f} events/s)", flush=True)
    print(f"rollups rebuilt from the turns in {build_rollups(engine):.1f} s", flush=True)
    stats = Statistics(engine, clock=lambda: NOW)
    page(stats, MONTH)   # warm the places read model and the caches once
    ok = True
    for name, period in (("month", MONTH), ("year", YEAR)):
        tables, page_s = timed(partial(page, stats, period))
        blobs, csv_s = timed(partial(export_all, tables))
        same_tables, sql_s = timed(partial(figures, stats, period))
        loop, naive_s = timed(partial(naive, engine, period))
        same = agree(from_sql({**tables, **same_tables}, period), loop)
        ok &= same
        headline = tables["conversation_by_none"].records()[0]
        print(f"{name:5s}: the whole page ({len(tables)} tables, each grouping once) "
              f"{page_s * 1000:.0f} ms ({headline['questions']:,} questions, "
              f"{headline['askers']:,} askers, answer rate {headline['answer_rate']}); "
              f"CSV of all {csv_s * 1000:.0f} ms ({sum(len(b) for b in blobs) / 1024:.0f} KiB)",
              flush=True)
        print(f"       the same figures: SQL {sql_s * 1000:.0f} ms ({len(same_tables)} tables), "
              f"naive loop {naive_s * 1000:.0f} ms (figures {'identical' if same else 'DIFFERENT'}); "
              f"naive / SQL = {naive_s / sql_s:.1f}", flush=True)
        one, one_s = timed(partial(stats.conversation, period, Scope.everything(), By.STREET))
        coordinator, coord_s = timed(partial(
            stats.conversation, period, Scope.of_grids({"D001-S01-C01-G01", "D001-S01-C01-G02"})))
        print(f"       one table (by street) {one_s * 1000:.0f} ms; a coordinator's 2 grids "
              f"{coord_s * 1000:.1f} ms ({coordinator.records()[0]['questions']} questions)",
              flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 turns, 5,000 tickets")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--turns", type=int, default=None)
    args = parser.parse_args(argv)
    sizes = (100_000, 5_000, 100) if args.quick else (1_000_000, 50_000, 500)
    if args.turns:
        sizes = (args.turns, sizes[1], sizes[2])
    ingest_turns = 1_000 if args.quick else 5_000
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        engine = create(f"sqlite:///{Path(tmp) / 'bench.db'}")
        ok &= run("SQLite", engine, f"sqlite:///{Path(tmp) / 'events.db'}", sizes, ingest_turns)
        engine.dispose()
    if not args.no_postgres:
        admin = create(PG_SERVER)
        schema = f"insight_bench_{uuid.uuid4().hex[:8]}"
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
        try:
            engine = create(url)
            ok &= run("PostgreSQL", engine, url, sizes, ingest_turns)
            engine.dispose()
        finally:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

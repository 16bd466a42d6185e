"""The rollups the conversation figures read instead of the turns (`insight.tables`:
`in_rollup_places`, `in_rollup_topics`, `in_askers`), kept by the ingester in the
transaction of the turns they count, and rebuilt from `in_turns` by the migration.

Counts (questions, answered, fallbacks, hand-offs) add up, so they are kept per day
and per calendar month; a period is read as its whole months plus the days at its
edges (`covering`). Flag changes of a stored turn (its bot events came in a later
batch) are applied as deltas. Distinct askers do not add up: `in_askers` holds exact
counts per day (everyone), per calendar month and per calendar year (everyone, and
per street, grid, platform, topic), incremented when a new turn is its asker's first
of that span and key. Whether it is, is looked up in the asker's own turns of the
year (`ix_in_turns_asker`) before the new ones are inserted; batches are serialised
(SQLite has one writer; on PostgreSQL a transaction-scoped advisory lock, so that two
sources' ingesters cannot both take an asker for new). Other periods and scopes are
counted from the turns (`insight.conversation`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.schema import Table

from insight.model import Period
from insight.tables import AskersRow, PlaceRollupRow, TopicRollupRow, TurnRow

places_rollup: Table = PlaceRollupRow.__table__
topics_rollup: Table = TopicRollupRow.__table__
askers: Table = AskersRow.__table__
turns: Table = TurnRow.__table__

COUNTS = ("questions", "answered", "fallbacks", "handoffs")
FLAGS = (("answered", "answered"), ("fallback", "fallbacks"), ("handoff", "handoffs"))
PLACE = ("day", "grid_code", "street_code", "platform", "topic")   # what a count is keyed by
KINDS = ("all", "street", "grid", "platform", "topic")
LOCK = 0x696E7369   # "insi": the PostgreSQL advisory lock of the rollups
CHUNK = 500


# --- periods --------------------------------------------------------------------------
def month_last(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1) - timedelta(days=1)


def pieces(period: Period) -> list[tuple[str, date, date]]:
    """The period as ranges of rollup rows: ("m", first month, last month) for the
    whole months inside it, ("d", first, last) for the days at its edges."""
    out: list[tuple[str, date, date]] = []
    d = period.first
    while d <= period.last:
        end = month_last(d)
        if d.day == 1 and end <= period.last:
            if out and out[-1][0] == "m":
                out[-1] = ("m", out[-1][1], d)
            else:
                out.append(("m", d, d))
        else:
            end = min(end, period.last)
            out.append(("d", d, end))
        d = end + timedelta(days=1)
    return out


def covering(table: Table, period: Period) -> ColumnElement[bool]:
    """The rows of `table` that add up to exactly `period`."""
    return or_(*[and_(table.c.span == span, table.c.start >= first, table.c.start <= last)
                 for span, first, last in pieces(period)])


def asker_span(period: Period, kind: str) -> tuple[str, date] | None:
    """The `in_askers` span holding the period's distinct askers, if there is one."""
    if kind == "all" and period.first == period.last:
        return "d", period.first
    if period.first.day == 1 and period.last == month_last(period.first):
        return "m", period.first
    if (period.first == date(period.first.year, 1, 1)
            and period.last == date(period.first.year, 12, 31)):
        return "y", period.first
    return None


# --- kept by the ingester -------------------------------------------------------------
def record(session: Session, new: Sequence[Mapping[str, Any]],
           changed: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> None:
    """Count `new` turns (their values, final flags) and the flag changes of stored
    turns (`(values now, flags before)`); call before the new turns are inserted."""
    if not new and not changed:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK})
    by_place: Counter[tuple[Any, ...]] = Counter()
    by_topic: Counter[tuple[Any, ...]] = Counter()
    for values in new:
        _add(by_place, by_topic, values, {"questions": 1, **{
            c: int(values[f]) for f, c in FLAGS}})
    for values, before in changed:
        _add(by_place, by_topic, values, {c: int(values[f]) - int(before[f]) for f, c in FLAGS})
    _upsert(session, places_rollup, ("span", "start", "grid_code", "street_code", "platform"),
            by_place)
    _upsert(session, topics_rollup, ("span", "start", "street_code", "topic"), by_topic)
    _count_new_askers(session, new)


def _add(by_place: Counter[tuple[Any, ...]], by_topic: Counter[tuple[Any, ...]],
         v: Mapping[str, Any], delta: Mapping[str, int]) -> None:
    day = v["day"]
    grid, street = v["grid_code"] or "", v["street_code"] or ""
    for span, start in (("d", day), ("m", day.replace(day=1))):
        for counter, key in ((by_place, (span, start, grid, street, v["platform"])),
                             (by_topic, (span, start, street, v["topic"]))):
            for column, n in delta.items():
                if n:
                    counter[key + (column,)] += n


def _upsert(session: Session, table: Table, keys: tuple[str, ...],
            deltas: Counter[tuple[Any, ...]]) -> None:
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (*key, column), n in deltas.items():
        row = rows.setdefault(tuple(key), {**dict(zip(keys, key, strict=True)),
                                           **dict.fromkeys(_counts(table), 0)})
        row[column] += n
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={
        c: table.c[c] + stmt.excluded[c] for c in _counts(table)})
    session.execute(stmt, list(rows.values()))


def _counts(table: Table) -> tuple[str, ...]:
    return ("askers",) if table is askers else COUNTS


def memberships(v: Mapping[str, Any]) -> Iterator[tuple[str, date, str, str]]:
    """(span, start, kind, key) of every `in_askers` count a turn's asker is in."""
    day = v["day"]
    yield "d", day, "all", ""
    keys = {"all": "", "street": v["street_code"] or "", "grid": v["grid_code"] or "",
            "platform": v["platform"], "topic": v["topic"]}
    for span, start in (("m", day.replace(day=1)), ("y", day.replace(month=1, day=1))):
        for kind in KINDS:
            yield span, start, kind, keys[kind]


def _count_new_askers(session: Session, new: Sequence[Mapping[str, Any]]) -> None:
    if not new:
        return
    t = turns.c
    first = min(v["day"] for v in new).replace(month=1, day=1)
    last = date(max(v["day"] for v in new).year, 12, 31)
    seen: set[tuple[Any, ...]] = set()
    keys = sorted({v["asker_key"] for v in new})
    for i in range(0, len(keys), CHUNK):
        stmt = select(t.asker_key, t.day, t.street_code, t.grid_code, t.platform, t.topic) \
            .where(t.asker_key.in_(keys[i:i + CHUNK]), t.day >= first, t.day <= last).distinct()
        for row in session.execute(stmt):
            seen.update(m + (row.asker_key,) for m in memberships(row._mapping))
    delta: Counter[tuple[Any, ...]] = Counter()
    for v in new:
        for m in memberships(v):
            member = m + (v["asker_key"],)
            if member not in seen:
                seen.add(member)
                delta[m + ("askers",)] += 1
    _upsert(session, askers, ("span", "start", "kind", "key"), delta)


# --- rebuilt from the turns -----------------------------------------------------------
def rebuild(connection: Connection) -> None:
    """Every rollup recomputed from `in_turns` (the migration's backfill; a repair)."""
    for table in (places_rollup, topics_rollup, askers):
        connection.execute(table.delete())
    for statement in rebuild_sql(connection.dialect.name):
        connection.execute(text(statement))


def rebuild_sql(dialect: str) -> Iterable[str]:
    def start(span: str) -> str:
        if span == "d":
            return "day"
        unit = {"m": "month", "y": "year"}[span]
        if dialect == "postgresql":
            return f"CAST(date_trunc('{unit}', day) AS DATE)"
        return f"date(day, 'start of {unit}')"

    sums = "COUNT(*), SUM(answered), SUM(fallback), SUM(handoff)"
    for span in ("d", "m"):
        yield (f"INSERT INTO in_rollup_places (span, start, grid_code, street_code, platform, "
               f"{', '.join(COUNTS)}) SELECT '{span}', {start(span)}, COALESCE(grid_code, ''), "
               f"COALESCE(street_code, ''), platform, {sums} FROM in_turns GROUP BY 2, 3, 4, 5")
        yield (f"INSERT INTO in_rollup_topics (span, start, street_code, topic, "
               f"{', '.join(COUNTS)}) SELECT '{span}', {start(span)}, "
               f"COALESCE(street_code, ''), topic, {sums} FROM in_turns GROUP BY 2, 3, 4")
    keys = {"all": "''", "street": "COALESCE(street_code, '')",
            "grid": "COALESCE(grid_code, '')", "platform": "platform", "topic": "topic"}
    for span, kinds in (("d", ("all",)), ("m", KINDS), ("y", KINDS)):
        for kind in kinds:
            yield (f"INSERT INTO in_askers (span, start, kind, key, askers) SELECT '{span}', "
                   f"{start(span)}, '{kind}', {keys[kind]}, COUNT(DISTINCT asker_key) "
                   f"FROM in_turns GROUP BY {'2' if kind == 'all' else '2, 4'}")

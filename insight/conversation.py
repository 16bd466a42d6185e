"""Conversation figures, each one SQL aggregate: questions, distinct askers, answer /
fallback / hand-off rates per group, questions per day, the most-asked topics and the
rising ones (this period against the previous one of the same length).

They read the rollups (`insight.rollup`: a period's whole months plus its edge days)
whenever those hold the figure exactly: counts always (topics for everything or a
street); distinct askers for a calendar month or year (a day, for everyone) of
everything, of a street (not grouped, or by street), or of grids by grid. Otherwise
(an arbitrary period's distinct askers, topics of some grids) one aggregate over the
turns in a range of Shanghai days (`ix_in_turns_day`, or the grid / street index for a
scope); `from_turns=True` asks for that everywhere (the tests compare the two)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, case, func, literal, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from core.topics import contract
from insight import rollup
from insight.model import BY_LABELS, By, Period, Scope, Table, share, table
from insight.scoping import (
    apply_where,
    constant_key,
    group_by,
    label,
    labeller,
    scope_condition,
)
from insight.tables import TurnRow

turns = TurnRow.__table__
CHITCHAT = tuple(sorted(k for k, t in contract().items() if t.kind == "chitchat"))

SUMMARY_COLUMNS = (("key", "编码"), ("label", "名称"), ("questions", "提问数"),
                   ("askers", "提问人数"), ("answered", "已回答"), ("fallbacks", "没听懂"),
                   ("handoffs", "转人工"), ("answer_rate", "回答率"),
                   ("fallback_rate", "没听懂率"), ("handoff_rate", "转人工率"))


def group_key(by: By) -> ColumnElement[Any]:
    columns = {By.STREET: turns.c.street_code, By.GRID: turns.c.grid_code,
               By.PLATFORM: turns.c.platform, By.TOPIC: turns.c.topic}
    if by is By.NONE:
        return constant_key()
    if by not in columns:
        raise ValueError(f"conversation figures cannot be grouped by {by.value}")
    return columns[by]


def _in(stmt: Select, period: Period, scope: Scope) -> Select:
    return apply_where(stmt, turns.c.day >= period.first, turns.c.day <= period.last,
                       scope_condition(turns.c.grid_code, turns.c.street_code, scope))


def summary(connection: Connection, period: Period, scope: Scope, by: By = By.NONE, *,
            from_turns: bool = False) -> Table:
    group_key(by)     # refuses the groupings that do not apply
    kind = _asker_kind(scope, by)
    span = rollup.asker_span(period, kind[0]) if kind else None
    if from_turns or kind is None or span is None:
        return _summary_of_turns(connection, period, scope, by)
    r = rollup.topics_rollup if by is By.TOPIC else rollup.places_rollup
    raw = _rollup_key(r, by)
    counts = apply_where(select(raw.label("k"), *[func.sum(r.c[c]).label(c)
                                                  for c in rollup.COUNTS]),
                         rollup.covering(r, period), _rollup_scope(r, scope))
    counts = (counts if by is By.NONE else counts.group_by(raw)).subquery()
    a = rollup.askers
    joined = counts.outerjoin(a, and_(a.c.span == span[0], a.c.start == span[1],
                                      a.c.kind == kind[0],
                                      a.c.key == (counts.c.k if kind[1] is None else kind[1])))
    key = constant_key() if by is By.NONE else (
        func.nullif(counts.c.k, "") if by in (By.STREET, By.GRID) else counts.c.k)
    questions = func.coalesce(counts.c.questions, 0)
    labelled = key.label("key")
    stmt = select(labelled, questions.label("questions"),
                  func.coalesce(a.c.askers, 0).label("askers"), counts.c.answered,
                  counts.c.fallbacks, counts.c.handoffs).select_from(joined) \
        .order_by(questions.desc(), labelled)
    return _summary_table(connection, by, connection.execute(stmt))


def _asker_kind(scope: Scope, by: By) -> tuple[str, str | None] | None:
    """Which `in_askers` counts give the askers of each group (kind, and the one key
    when not the group's), if any do."""
    kinds = {By.NONE: "all", By.STREET: "street", By.GRID: "grid", By.PLATFORM: "platform",
             By.TOPIC: "topic"}
    if scope.is_everything:
        return kinds[by], "" if by is By.NONE else None
    if scope.street is not None and by in (By.NONE, By.STREET):
        return "street", scope.street
    if scope.grids is not None and by is By.GRID:
        return "grid", None
    return None


def _rollup_key(r: Any, by: By) -> ColumnElement[Any]:
    if by is By.NONE:
        return literal("")
    return r.c[{By.STREET: "street_code", By.GRID: "grid_code", By.PLATFORM: "platform",
                By.TOPIC: "topic"}[by]]


def _rollup_scope(r: Any, scope: Scope) -> ColumnElement[bool] | None:
    """A scope on a rollup (grids only on `in_rollup_places`)."""
    if scope.grids is not None:
        return scope_condition(r.c.grid_code, None, scope)
    return scope_condition(r.c.street_code, r.c.street_code, scope)


def _summary_of_turns(connection: Connection, period: Period, scope: Scope, by: By) -> Table:
    key = group_key(by).label("key")
    stmt = _in(select(key, func.count().label("questions"),
                      func.count(turns.c.asker_key.distinct()).label("askers"),
                      func.sum(turns.c.answered).label("answered"),
                      func.sum(turns.c.fallback).label("fallbacks"),
                      func.sum(turns.c.handoff).label("handoffs")), period, scope)
    stmt = group_by(stmt, key, by).order_by(func.count().desc(), key)
    return _summary_table(connection, by, connection.execute(stmt))


def _summary_table(connection: Connection, by: By, found: Any) -> Table:
    labels = labeller(connection, by)
    rows = []
    for r in found:
        q = int(r.questions)
        rows.append((r.key, label(labels, r.key), q, int(r.askers), int(r.answered or 0),
                     int(r.fallbacks or 0), int(r.handoffs or 0), share(r.answered, q),
                     share(r.fallbacks, q), share(r.handoffs, q)))
    return table(f"conversation_by_{by.value}", f"提问与回答（按{_by(by)}）", SUMMARY_COLUMNS,
                 rows)


def per_day(connection: Connection, period: Period, scope: Scope, by: By = By.NONE, *,
            from_turns: bool = False) -> Table:
    """Questions and distinct askers per day (every day of the period, zeros included,
    when not grouped)."""
    key = group_key(by).label("key")
    if by is By.NONE and scope.is_everything and not from_turns:
        r, a = rollup.topics_rollup, rollup.askers
        daily = select(r.c.start.label("day"), func.sum(r.c.questions).label("questions")) \
            .where(r.c.span == "d", r.c.start >= period.first, r.c.start <= period.last) \
            .group_by(r.c.start).subquery()
        joined = daily.outerjoin(a, and_(a.c.span == "d", a.c.start == daily.c.day,
                                         a.c.kind == "all", a.c.key == ""))
        stmt = select(daily.c.day, key, daily.c.questions,
                      func.coalesce(a.c.askers, 0).label("askers")).select_from(joined) \
            .order_by(daily.c.day)
    else:
        stmt = _in(select(turns.c.day, key, func.count().label("questions"),
                          func.count(turns.c.asker_key.distinct()).label("askers")),
                   period, scope)
        stmt = group_by(stmt.group_by(turns.c.day), key, by).order_by(turns.c.day, key)
    labels = labeller(connection, by)
    found = [(_day(r.day), r.key, label(labels, r.key), int(r.questions), int(r.askers))
             for r in connection.execute(stmt)]
    if by is By.NONE:
        counts = {day: row for day, *row in found}
        found = [(d.isoformat(), *counts.get(d.isoformat(), ("all", label(labels, "all"), 0, 0)))
                 for d in period.each_day()]
    return table(f"questions_per_day_by_{by.value}", "每日提问", (
        ("day", "日期"), ("key", "编码"), ("label", "名称"), ("questions", "提问数"),
        ("askers", "提问人数")), found)


def top_topics(connection: Connection, period: Period, scope: Scope, limit: int = 10,
               include_chitchat: bool = False, *, from_turns: bool = False) -> Table:
    if scope.grids is None and not from_turns:
        r = rollup.topics_rollup
        where = (rollup.covering(r, period), _rollup_scope(r, scope),
                 None if include_chitchat else r.c.topic.not_in(CHITCHAT))
        questions = func.sum(r.c.questions)
        stmt = apply_where(select(r.c.topic, questions.label("questions"),
                                  func.sum(r.c.answered).label("answered")), *where) \
            .group_by(r.c.topic).order_by(questions.desc(), r.c.topic).limit(limit)
        total_stmt = apply_where(select(func.coalesce(questions, 0)), *where)
        return _top_table(connection, stmt, total_stmt)
    stmt = _in(select(turns.c.topic, func.count().label("questions"),
                      func.sum(turns.c.answered).label("answered")), period, scope)
    total_stmt = _in(select(func.count()), period, scope)
    if not include_chitchat:
        stmt = stmt.where(turns.c.topic.not_in(CHITCHAT))
        total_stmt = total_stmt.where(turns.c.topic.not_in(CHITCHAT))
    stmt = stmt.group_by(turns.c.topic).order_by(func.count().desc(), turns.c.topic).limit(limit)
    return _top_table(connection, stmt, total_stmt)


def _top_table(connection: Connection, stmt: Select, total_stmt: Select) -> Table:
    total = int(connection.execute(total_stmt).scalar_one())
    labels = labeller(connection, By.TOPIC)
    rows = [(r.topic, label(labels, r.topic), int(r.questions), share(r.questions, total),
             share(r.answered, r.questions)) for r in connection.execute(stmt)]
    return table("top_topics", "问得最多的话题", (
        ("topic", "话题"), ("label", "名称"), ("questions", "提问数"), ("share", "占比"),
        ("answer_rate", "回答率")), rows)


def rising_topics(connection: Connection, period: Period, scope: Scope, limit: int = 10,
                  include_chitchat: bool = False, *, from_turns: bool = False) -> Table:
    """Topics asked more in `period` than in the period of the same length before it,
    by how many more."""
    before = period.previous()
    if scope.grids is None and not from_turns:
        r = rollup.topics_rollup
        zero = literal(0, Integer)
        parts = [apply_where(select(r.c.topic, r.c.questions.label("cur"), zero.label("prev")),
                             rollup.covering(r, period), _rollup_scope(r, scope)),
                 apply_where(select(r.c.topic, zero.label("cur"), r.c.questions.label("prev")),
                             rollup.covering(r, before), _rollup_scope(r, scope))]
        u = union_all(*parts).subquery()
        current, previous = func.sum(u.c.cur), func.sum(u.c.prev)
        stmt = select(u.c.topic, current.label("current"), previous.label("previous"))
        if not include_chitchat:
            stmt = stmt.where(u.c.topic.not_in(CHITCHAT))
        stmt = (stmt.group_by(u.c.topic).having(current > previous)
                .order_by((current - previous).desc(), u.c.topic).limit(limit))
        return _rising_table(connection, stmt, before)
    current = func.sum(case((turns.c.day >= period.first, 1), else_=0))
    previous = func.sum(case((turns.c.day < period.first, 1), else_=0))
    stmt = _in(select(turns.c.topic, current.label("current"), previous.label("previous")),
               Period(before.first, period.last), scope)
    if not include_chitchat:
        stmt = stmt.where(turns.c.topic.not_in(CHITCHAT))
    stmt = (stmt.group_by(turns.c.topic).having(current > previous)
            .order_by((current - previous).desc(), turns.c.topic).limit(limit))
    return _rising_table(connection, stmt, before)


def _rising_table(connection: Connection, stmt: Select, before: Period) -> Table:
    labels = labeller(connection, By.TOPIC)
    rows = []
    for r in connection.execute(stmt):
        cur, prev = int(r.current), int(r.previous)
        growth = round(cur / prev - 1, 4) if prev else None
        rows.append((r.topic, label(labels, r.topic), cur, prev, cur - prev, growth))
    return table("rising_topics", "上升的话题", (
        ("topic", "话题"), ("label", "名称"), ("questions", "本期提问"),
        ("previous", "上期提问"), ("change", "增加"), ("growth", "增幅")), rows,
        notes=(f"上期：{before.first.isoformat()} 至 {before.last.isoformat()}",))


def _by(by: By) -> str:
    return BY_LABELS[by]


def _day(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)

"""Figures of the tickets for the statistics (`insight`), each one SQL aggregate over
`tk_tickets` (and `tk_events` for the reminders behind a yellow light):

- `summary`: per group, tickets created in [start, end), first response and answer
  against their deadlines (`respond_by`, `resolve_by`: the current holder's, a
  transfer restarts them), the share on time (among those answered or already past
  their deadline), escalations, ratings (share 满意) and reopenings;
- `lights`: the open tickets now, green / yellow (reminded at half time) / red (past
  the first-response deadline), per group;
- `queue`: the newest tickets, masked question and answer, paged.

Scope and grouping come from the caller: `grids` is None (all), grid codes, or a
sub-select of grid codes; grouping by street needs `places`, a table with
`grid_code` and `street_code` columns (the statistics' copy of the directory).
Times are wall-clock seconds; the deadlines are in working time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, case, exists, false, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, FromClause, Select

from tickets.masking import short
from tickets.model import EventKind, Status, number_of
from tickets.tables import EventRow, TicketRow

tickets = TicketRow.__table__
events = EventRow.__table__
OPEN = tuple(s.value for s in Status if s.open)
SATISFIED = "satisfied"
GROUPS = ("none", "street", "grid", "platform", "topic", "office")


def _group(key: ColumnElement[Any], by: str) -> Any:
    """GROUP BY the key; nothing for "none" (one row, even when nothing matched)."""
    return () if by == "none" else (key,)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _key(by: str, places: FromClause | None) -> ColumnElement[Any]:
    if by == "none":
        return literal_column("'all'", String)
    if by == "street":
        if places is None:
            raise ValueError("grouping tickets by street needs the grid places")
        return places.c.street_code
    columns = {"grid": tickets.c.grid_code, "platform": tickets.c.asker_platform,
               "topic": tickets.c.topic, "office": tickets.c.office_code}
    if by not in columns:
        raise ValueError(f"tickets cannot be grouped by {by}")
    return columns[by]


def _scoped(stmt: Select, grids: Any, by: str, places: FromClause | None) -> Select:
    if by == "street" and places is not None:
        stmt = stmt.select_from(tickets.outerjoin(places,
                                                  places.c.grid_code == tickets.c.grid_code))
    if grids is not None:
        if isinstance(grids, Select):
            stmt = stmt.where(tickets.c.grid_code.in_(grids))
        else:
            codes = list(grids)
            stmt = stmt.where(tickets.c.grid_code.in_(codes) if codes else false())
    return stmt


@dataclass(frozen=True)
class TicketFigures:
    key: str | None
    tickets: int
    responded: int
    responded_on_time: int
    response_overdue: int        # not responded, past respond_by
    mean_response_hours: float | None
    answered: int
    answered_on_time: int
    answer_overdue: int          # not answered, past resolve_by
    mean_answer_hours: float | None
    escalated: int               # to the street (level ≥ 1)
    escalated_to_district: int   # level 2
    rated: int
    satisfied: int
    reopened: int


def summary(connection: Connection, start: float, end: float, now: float, *,
            grids: Any = None, by: str = "none",
            places: FromClause | None = None) -> list[TicketFigures]:
    t = tickets.c
    key = _key(by, places).label("key")
    stmt = select(
        key, func.count().label("tickets"),
        func.count(t.responded_at).label("responded"),
        _count(t.responded_at <= t.respond_by).label("responded_on_time"),
        _count(and_(t.responded_at.is_(None), t.respond_by < now)).label("response_overdue"),
        func.avg(t.responded_at - t.created_at).label("response_seconds"),
        func.count(t.answered_at).label("answered"),
        _count(t.answered_at <= t.resolve_by).label("answered_on_time"),
        _count(and_(t.answered_at.is_(None), t.resolve_by < now)).label("answer_overdue"),
        func.avg(t.answered_at - t.created_at).label("answer_seconds"),
        _count(t.escalation >= 1).label("escalated"),
        _count(t.escalation >= 2).label("escalated_to_district"),
        func.count(t.rating).label("rated"),
        _count(t.rating == SATISFIED).label("satisfied"),
        _count(t.reopened.is_(True)).label("reopened"),
    ).where(t.created_at >= start, t.created_at < end)
    stmt = _scoped(stmt, grids, by, places).group_by(*_group(key, by)).order_by(func.count().desc(), key)
    return [TicketFigures(
        key=r.key, tickets=int(r.tickets), responded=int(r.responded),
        responded_on_time=int(r.responded_on_time or 0),
        response_overdue=int(r.response_overdue or 0),
        mean_response_hours=_hours(r.response_seconds), answered=int(r.answered),
        answered_on_time=int(r.answered_on_time or 0),
        answer_overdue=int(r.answer_overdue or 0), mean_answer_hours=_hours(r.answer_seconds),
        escalated=int(r.escalated or 0), escalated_to_district=int(r.escalated_to_district or 0),
        rated=int(r.rated), satisfied=int(r.satisfied or 0), reopened=int(r.reopened or 0),
    ) for r in connection.execute(stmt)]


@dataclass(frozen=True)
class Lights:
    key: str | None
    green: int
    yellow: int
    red: int


def lights(connection: Connection, now: float, *, grids: Any = None, by: str = "none",
           places: FromClause | None = None) -> list[Lights]:
    """The open tickets now: red past the first-response deadline; yellow once the
    half-time reminder of the current clock fired; green otherwise."""
    t = tickets.c
    red = t.respond_by <= now
    reminded = exists().where(events.c.ticket_id == t.id,
                              events.c.kind == EventKind.REMINDED.value,
                              events.c.at >= t.clock_started_at)
    key = _key(by, places).label("key")
    stmt = select(key, _count(~red & ~reminded).label("green"),
                  _count(~red & reminded).label("yellow"), _count(red).label("red")
                  ).where(t.status.in_(OPEN))
    stmt = _scoped(stmt, grids, by, places).group_by(*_group(key, by)).order_by(key)
    return [Lights(r.key, int(r.green or 0), int(r.yellow or 0), int(r.red or 0))
            for r in connection.execute(stmt)]


@dataclass(frozen=True)
class QueuedTicket:
    number: str
    created_at: float
    status: str
    topic: str
    platform: str
    grid_code: str | None
    question: str          # masked, one line
    answer: str | None     # masked, one line; None while unanswered


def queue(connection: Connection, *, grids: Any = None, limit: int = 50,
          offset: int = 0, text_chars: int = 120) -> tuple[list[QueuedTicket], int]:
    """The newest tickets first, and how many there are in the scope."""
    t = tickets.c
    stmt = _scoped(select(t.id, t.created_at, t.status, t.topic, t.asker_platform, t.grid_code,
                          t.question, t.answer), grids, "none", None)
    total_stmt = _scoped(select(func.count()).select_from(tickets), grids, "none", None)
    rows = connection.execute(stmt.order_by(t.id.desc()).limit(limit).offset(offset))
    items = [QueuedTicket(number_of(r.id), float(r.created_at), r.status, r.topic,
                          r.asker_platform, r.grid_code, short(r.question, text_chars),
                          short(r.answer, text_chars) if r.answer else None) for r in rows]
    return items, int(connection.execute(total_stmt).scalar_one())


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


__all__: Sequence[str] = ("GROUPS", "Lights", "QueuedTicket", "TicketFigures", "lights",
                          "queue", "summary")

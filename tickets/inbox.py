"""The back office's inbox: tickets by deadline with filters and a scope, one page
at a time, for the staff console (and anything else that lists many tickets).

The light is worked out in SQL, so that filtering 10,000 open tickets by light does
not compute working time for each: red once the first-response deadline has passed;
yellow once the ticket's yellow reminder timer (due at half the first-response time,
`TicketService._start_clock`) is due or gone; green before. That is exactly
`TicketService.light()`, which the tests compare it with.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, func, select
from sqlalchemy.sql.elements import ColumnElement

from tickets.model import Light, Status, Ticket
from tickets.service import REMIND, TicketService
from tickets.store import ticket_of
from tickets.tables import TicketRow, TimerRow

OPEN = tuple(s.value for s in Status if s.open)
MAX_PAGE = 500


@dataclass(frozen=True)
class InboxQuery:
    """What to list. `status` is a `Status` value or "open" (every open status);
    `grids` limits to those grid codes (the viewer's scope), `None` meaning every
    ticket, including those without a grid."""

    status: str | None = "open"
    light: Light | None = None
    grids: Collection[str] | None = None
    office: str | None = None
    topic: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class InboxRow:
    ticket: Ticket
    light: Light | None


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int


def _remind_pending(now: float) -> ColumnElement[bool]:
    return exists().where(TimerRow.ticket_id == TicketRow.id, TimerRow.kind == REMIND,
                          TimerRow.generation == TicketRow.generation, TimerRow.due_at > now)


def light_condition(light: Light, now: float) -> ColumnElement[bool]:
    is_open = TicketRow.status.in_(OPEN)
    if light is Light.RED:
        return and_(is_open, TicketRow.respond_by <= now)
    running = and_(is_open, TicketRow.respond_by > now)
    if light is Light.YELLOW:
        return and_(running, ~_remind_pending(now))
    return and_(running, _remind_pending(now))


def _where(query: InboxQuery, now: float) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.status == "open":
        conditions.append(TicketRow.status.in_(OPEN))
    elif query.status:
        conditions.append(TicketRow.status == Status(query.status).value)
    if query.light is not None:
        conditions.append(light_condition(query.light, now))
    if query.grids is not None:
        codes = sorted(set(query.grids))
        conditions.append(TicketRow.grid_code.in_(codes) if codes else false())
    if query.office:
        conditions.append(TicketRow.office_code == query.office)
    if query.topic:
        conditions.append(TicketRow.topic == query.topic)
    return conditions


def search(service: TicketService, query: InboxQuery) -> InboxPage:
    """One page of tickets ordered by their answer deadline, with their lights."""
    now = service.clock()
    conditions = _where(query, now)
    limit = max(1, min(query.limit, MAX_PAGE))
    red = and_(TicketRow.status.in_(OPEN), TicketRow.respond_by <= now)
    yellow = and_(TicketRow.status.in_(OPEN), ~_remind_pending(now))
    with service.session() as session:
        total = session.execute(select(func.count()).select_from(TicketRow)
                                .where(*conditions)).scalar() or 0
        stmt = (select(TicketRow, red.label("red"), yellow.label("yellow"))
                .where(*conditions).order_by(TicketRow.resolve_by, TicketRow.id)
                .limit(limit).offset(max(0, query.offset)))
        rows = []
        for row, is_red, is_yellow in session.execute(stmt):
            ticket = ticket_of(row)
            light = (None if not ticket.status.open else Light.RED if is_red
                     else Light.YELLOW if is_yellow else Light.GREEN)
            rows.append(InboxRow(ticket, light))
    return InboxPage(rows, int(total))


def counts_by_light(service: TicketService, grids: Collection[str] | None = None
                    ) -> dict[Light, int]:
    """Open tickets per light within a scope (the inbox's summary)."""
    now = service.clock()
    scope = [] if grids is None else [TicketRow.grid_code.in_(sorted(set(grids)))
                                      if grids else false()]
    result = {}
    with service.session() as session:
        for light in Light:
            result[light] = int(session.execute(
                select(func.count()).select_from(TicketRow)
                .where(light_condition(light, now), *scope)).scalar() or 0)
    return result


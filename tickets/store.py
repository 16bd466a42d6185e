"""Rows ⇄ domain objects for tickets and events (the only module that maps them)."""

from __future__ import annotations

from datetime import datetime

from core.clock import SHANGHAI
from tickets.model import Event, EventKind, Kind, Person, Status, Ticket
from tickets.tables import EventRow, TicketRow


def when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, SHANGHAI)


def _person(spec: str | None, name: str | None) -> Person | None:
    if not spec:
        return None
    platform, _, user_id = spec.partition(":")
    return Person(platform, user_id, name or "")


def ticket_of(row: TicketRow) -> Ticket:
    assignee = (Person(row.assignee_platform, row.assignee_id, row.assignee_name or "")
                if row.assignee_platform and row.assignee_id else None)
    return Ticket(
        id=row.id, question=row.question,
        asker=Person(row.asker_platform, row.asker_id, row.asker_name),
        group_id=row.group_id, grid_code=row.grid_code, topic=row.topic, kind=Kind(row.kind),
        status=Status(row.status), assignee=assignee, office_code=row.office_code,
        created_at=when(row.created_at), clock_started_at=when(row.clock_started_at),
        respond_by=when(row.respond_by), resolve_by=when(row.resolve_by),
        flagged=bool(row.flagged), answer=row.answer,
        answered_at=when(row.answered_at) if row.answered_at else None, rating=row.rating,
        reopened=bool(row.reopened), escalation=row.escalation,
        relayed_by=_person(row.relayed_by, row.relayed_name), resident=row.resident or "",
        turns=tuple(row.turns or ()))


def event_of(row: EventRow) -> Event:
    return Event(row.ticket_id, EventKind(row.kind), when(row.at), row.actor, row.note or "",
                 row.office_code)

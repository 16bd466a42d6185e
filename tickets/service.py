"""What the back office does with tickets: create and route (大前台+多后台), answer,
transfer, close, reopen, rate, look up; every change an event, every message to a
person a row of the outbox (`tk_messages`), both in the change's own transaction.

Permission: a ticket is answered, transferred or closed only by its assignee, the
grid's coordinator, staff of the office that holds it, or (once escalated) the
street's or district's staff; `trusted=True` is for the CLI and the staff API,
which authenticate their users themselves.

Deadlines are working time (`tickets.workhours`). Timers (`tk_timers`) remind the
assignee at half the first-response time (yellow) and escalate at the deadline
(red: street, then district at the resolution deadline); `sweep()` claims due
timers under `FOR UPDATE SKIP LOCKED` and fires each in the transaction that
deletes it, so several processes never fire one twice. Nothing fires outside
working hours: a timer due at night waits for the next working moment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.clock import SHANGHAI
from tickets import texts
from tickets.holidays import HolidayCalendar
from tickets.model import (
    EVENT_LABELS,
    STATUS_LABELS,
    Event,
    EventKind,
    InvalidTicket,
    Kind,
    Light,
    NotAllowed,
    Person,
    Status,
    Ticket,
    TicketDraft,
    TicketNotFound,
    id_of,
    number_of,
)
from tickets.offices import OfficeBook
from tickets.store import event_of, ticket_of
from tickets.tables import EventRow, MessageRow, TicketRow, TimerRow
from tickets.workhours import (
    OFFICE_HOURS,
    WorkingHours,
    add_working_time,
    is_working_time,
    working_time_between,
)

logger = logging.getLogger(__name__)

# Platforms on which the bot can write to a person directly (besides the group).
DIRECT = frozenset({"onebot", "feishu"})
REMIND, ESCALATE = "remind", "escalate"
# A timer due at the end of a working span (12:00, 17:30) still fires right then.
GRACE = 120.0


@dataclass(frozen=True)
class Fired:
    number: str
    kind: str
    level: int


class TicketService:
    def __init__(self, engine: Engine, offices: OfficeBook, calendar: HolidayCalendar,
                 *, coordinator_of: Callable[[str], Any] | None = None,
                 hours: WorkingHours = OFFICE_HOURS, clock: Callable[[], float] = time.time,
                 lease: float = 60.0) -> None:
        self.engine = engine
        self.offices = offices
        self.calendar = calendar
        self.hours = hours
        self.clock = clock
        self.lease = lease
        self._coordinator_of = coordinator_of or (lambda code: None)

    # --- helpers ---------------------------------------------------------------------
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), SHANGHAI)

    def session(self) -> Session:
        return Session(self.engine, future=True, expire_on_commit=False)

    def _row(self, session: Session, number: str) -> TicketRow:
        row = session.get(TicketRow, id_of(number), with_for_update=True)
        if row is None:
            raise TicketNotFound(number)
        return row

    def _event(self, session: Session, row: TicketRow, kind: EventKind, actor: str,
               note: str = "") -> None:
        session.add(EventRow(ticket_id=row.id, kind=kind.value, at=self.clock(), actor=actor,
                             note=note[:2000], office_code=row.office_code))

    def _message(self, session: Session, row: TicketRow, text: str, *, person: Person | None = None,
                 group: bool = False, mention: Person | None = None) -> None:
        """A group post (in the asker's group, @`mention`) or a direct message to `person`."""
        now = self.clock()
        if group:
            if not row.group_id:
                return
            session.add(MessageRow(ticket_id=row.id, platform=row.asker_platform,
                                   group_id=row.group_id, user_id=None,
                                   mention_id=mention.user_id if mention else None,
                                   mention_name=mention.name if mention else None, text=text,
                                   state="pending", attempts=0, due_at=now, created_at=now))
        elif person is not None and person.user_id:
            session.add(MessageRow(ticket_id=row.id, platform=person.platform, group_id=None,
                                   user_id=person.user_id, mention_id=None, mention_name=None,
                                   text=text, state="pending", attempts=0, due_at=now,
                                   created_at=now))

    def _coordinator(self, grid_code: str | None, platform: str) -> Person | None:
        found = self._coordinator_of(grid_code) if grid_code else None
        if found is None:
            return None
        accounts = getattr(found, "accounts", {}) or {}
        return Person(platform, str(accounts.get(platform, "")), str(getattr(found, "name", "")))

    def _is_coordinator(self, person: Person, grid_code: str | None) -> bool:
        found = self._coordinator_of(grid_code) if grid_code else None
        accounts = getattr(found, "accounts", {}) or {}
        return bool(person.user_id) and accounts.get(person.platform) == person.user_id

    def _may_act(self, row: TicketRow, by: Person) -> bool:
        if row.assignee_platform == by.platform and row.assignee_id == by.user_id and by.user_id:
            return True
        return (self._is_coordinator(by, row.grid_code)
                or self.offices.is_staff_of(by, row.office_code)
                or self.offices.is_escalation_staff(by, row.grid_code, row.escalation))

    def _check(self, row: TicketRow, by: Person, trusted: bool, action: str) -> None:
        if not trusted and not self._may_act(row, by):
            logger.info("Ticket %s: %s refused for %s", number_of(row.id), action, by.key)
            raise NotAllowed(texts.NOT_ALLOWED.format(action=action))

    def _start_clock(self, session: Session, row: TicketRow, start: datetime) -> None:
        """(Re)start the deadlines from `start` with the holder's time limits."""
        sla = self.offices.sla(Kind(row.kind), row.office_code)
        respond = add_working_time(start, sla.first_response, self.hours, self.calendar)
        resolve = add_working_time(start, self.hours.days(sla.resolution_days), self.hours,
                                   self.calendar)
        half = add_working_time(start, sla.first_response / 2, self.hours, self.calendar)
        row.clock_started_at = start.timestamp()
        row.respond_by = respond.at.timestamp()
        row.resolve_by = resolve.at.timestamp()
        row.flagged = respond.flagged or resolve.flagged
        row.escalation = 0
        row.generation = (row.generation or 0) + 1
        session.execute(delete(TimerRow).where(TimerRow.ticket_id == row.id))
        for kind, level, due in ((REMIND, 0, half.at), (ESCALATE, 1, respond.at),
                                 (ESCALATE, 2, resolve.at)):
            session.add(TimerRow(ticket_id=row.id, kind=kind, level=level,
                                 due_at=due.timestamp(), generation=row.generation))

    # --- the front desk ----------------------------------------------------------------
    def create(self, draft: TicketDraft) -> tuple[Ticket, str]:
        """A ticket for the grid's coordinator; returns it and the one short message
        for the asker (ticket id and when to expect an answer)."""
        draft.validate()
        now = self._now()
        coordinator = self._coordinator(draft.grid_code, draft.asker.platform)
        office = None if coordinator is not None else self.offices.for_topic(draft.topic)
        with self.session() as session, session.begin():
            row = TicketRow(
                question=draft.question.strip(), turns=list(draft.turns[-6:]),
                topic=draft.topic, kind=draft.kind.value, status=Status.NEW.value,
                asker_platform=draft.asker.platform, asker_id=draft.asker.user_id,
                asker_name=draft.asker.name[:64], group_id=draft.group_id,
                grid_code=draft.grid_code,
                relayed_by=draft.relayed_by.key if draft.relayed_by else None,
                relayed_name=draft.relayed_by.name if draft.relayed_by else None,
                resident=draft.resident[:64], office_code=office.code if office else None,
                created_at=now.timestamp(), clock_started_at=now.timestamp(),
                respond_by=now.timestamp(), resolve_by=now.timestamp(), generation=0)
            session.add(row)
            session.flush()
            self._event(session, row, EventKind.CREATED, draft.asker.key, draft.question[:200])
            self._start_clock(session, row, now)
            if coordinator is not None:
                row.assignee_platform, row.assignee_id = coordinator.platform, coordinator.user_id
                row.assignee_name = coordinator.name
                row.status = Status.ASSIGNED.value
                self._event(session, row, EventKind.ASSIGNED, "system", f"网格员 {coordinator.name}")
                ticket = ticket_of(row)
                self._message(session, row, texts.to_assignee_in_group(ticket), group=True,
                              mention=coordinator)
                if coordinator.platform in DIRECT:
                    self._message(session, row, texts.to_assignee_direct(ticket),
                                  person=coordinator)
            else:
                row.status = Status.ASSIGNED.value if office else Status.NEW.value
                note = office.name if office else "无网格员，待区总工会派单"
                self._event(session, row, EventKind.ASSIGNED, "system", note)
                ticket = ticket_of(row)
                staff = office.staff if office else self.offices.district_staff
                for person in staff:
                    self._message(session, row, texts.to_assignee_direct(ticket), person=person)
            ticket = ticket_of(row)
        logger.info("Ticket %s created (%s, grid %s)", ticket.number, ticket.kind.value,
                    ticket.grid_code)
        return ticket, texts.created(ticket, office.name if office else None)

    # --- the back offices ----------------------------------------------------------------
    def answer(self, number: str, by: Person, text: str, *, trusted: bool = False) -> Ticket:
        if not text.strip():
            raise InvalidTicket("答复内容不能为空：#回复 T-000457 答复内容")
        with self.session() as session, session.begin():
            row = self._row(session, number)
            self._check(row, by, trusted, "答复")
            if row.status == Status.CLOSED.value:
                raise InvalidTicket(f"工单 {number_of(row.id)} 已办结")
            now = self.clock()
            row.answer, row.answered_at = text.strip()[:2000], now
            row.responded_at = row.responded_at or now
            row.status = Status.ANSWERED.value
            session.execute(delete(TimerRow).where(TimerRow.ticket_id == row.id))
            self._event(session, row, EventKind.ANSWERED, by.key, text[:200])
            ticket = ticket_of(row)
            who = by.name or ("工作人员" if trusted else "网格员")
            asker = Person(row.asker_platform, row.asker_id, row.asker_name)
            if row.group_id:
                self._message(session, row, texts.answered(ticket, who), group=True,
                              mention=asker)
            else:
                self._message(session, row, texts.answered(ticket, who), person=asker)
        return ticket

    def transfer(self, number: str, office_name: str, by: Person, reason: str = "", *,
                 trusted: bool = False) -> Ticket:
        office = self.offices.by_name(office_name)
        if office is None:
            names = "、".join(o.name for o in self.offices.offices.values())
            raise InvalidTicket(f"没有这个部门：“{office_name[:20]}”（可转：{names}）")
        with self.session() as session, session.begin():
            row = self._row(session, number)
            self._check(row, by, trusted, "转办")
            if not Status(row.status).open:
                raise InvalidTicket(f"工单 {number_of(row.id)} 已{'办结' if row.status == 'closed' else '答复'}，不能转办")
            row.office_code = office.code
            row.assignee_platform = row.assignee_id = row.assignee_name = None
            row.status = Status.TRANSFERRED.value
            row.responded_at = row.responded_at or self.clock()
            self._start_clock(session, row, self._now())
            self._event(session, row, EventKind.TRANSFERRED, by.key,
                        f"{office.name}：{reason}"[:200])
            ticket = ticket_of(row)
            for person in office.staff:
                self._message(session, row, texts.to_assignee_direct(ticket), person=person)
            asker = Person(row.asker_platform, row.asker_id, row.asker_name)
            self._message(session, row, texts.transferred(ticket, office.name),
                          group=bool(row.group_id), mention=asker,
                          person=None if row.group_id else asker)
        return ticket

    def reassign(self, number: str, assignee: Person, by: Person, reason: str = "", *,
                 trusted: bool = False) -> Ticket:
        """Hand an open ticket to another person (a coordinator standing in, a colleague
        of the office); the deadlines keep running, the new holder is told."""
        if not assignee.user_id:
            raise InvalidTicket("改派需要经办人的平台账号")
        with self.session() as session, session.begin():
            row = self._row(session, number)
            self._check(row, by, trusted, "改派")
            if not Status(row.status).open:
                raise InvalidTicket(f"工单 {number_of(row.id)} 已{'办结' if row.status == 'closed' else '答复'}，不能改派")
            row.assignee_platform, row.assignee_id = assignee.platform, assignee.user_id
            row.assignee_name = assignee.name[:64]
            if row.status == Status.NEW.value:
                row.status = Status.ASSIGNED.value
            note = f"改派给 {assignee.name or assignee.user_id}" + (f"：{reason}" if reason else "")
            self._event(session, row, EventKind.ASSIGNED, by.key, note[:200])
            ticket = ticket_of(row)
            if assignee.platform in DIRECT:
                self._message(session, row, texts.to_assignee_direct(ticket), person=assignee)
            self._message(session, row, texts.to_assignee_in_group(ticket), group=True,
                          mention=assignee)
        return ticket

    def close(self, number: str, by: Person, *, trusted: bool = False) -> Ticket:
        with self.session() as session, session.begin():
            row = self._row(session, number)
            self._check(row, by, trusted, "办结")
            if row.status == Status.CLOSED.value:  # a second "closed" would skew the statistics
                raise InvalidTicket(f"工单 {number_of(row.id)} 已办结")
            row.status, row.closed_at = Status.CLOSED.value, self.clock()
            session.execute(delete(TimerRow).where(TimerRow.ticket_id == row.id))
            self._event(session, row, EventKind.CLOSED, by.key)
            return ticket_of(row)

    def reopen(self, number: str, by: Person, reason: str = "", *,
               trusted: bool = False) -> Ticket:
        with self.session() as session, session.begin():
            row = self._row(session, number)
            self._check(row, by, trusted, "重新办理")
            if Status(row.status).open:  # it would only restart the clock and hide a red light
                raise InvalidTicket(f"工单 {number_of(row.id)} 正在办理中"
                                    f"（{STATUS_LABELS[Status(row.status)]}），不需要重新办理")
            self._reopen(session, row, by.key, reason)
            return ticket_of(row)

    def _reopen(self, session: Session, row: TicketRow, actor: str, reason: str) -> None:
        row.status, row.reopened, row.closed_at = Status.REOPENED.value, True, None
        self._start_clock(session, row, self._now())
        self._event(session, row, EventKind.REOPENED, actor, reason[:200])
        ticket = ticket_of(row)
        holder = (Person(row.assignee_platform or "", row.assignee_id or "", row.assignee_name or "")
                  if row.assignee_id else None)
        if holder is not None:
            self._message(session, row, texts.to_assignee_direct(ticket), person=holder)
            self._message(session, row, texts.to_assignee_in_group(ticket), group=True,
                          mention=holder)
        for person in self.offices.offices[row.office_code].staff if row.office_code else ():
            self._message(session, row, texts.to_assignee_direct(ticket), person=person)

    # --- the asker -------------------------------------------------------------------------
    def rate(self, asker: Person, satisfied: bool) -> str | None:
        """The asker's 满意 / 不满意 for their latest answered ticket; None when there is
        none to rate (the message is then not a rating)."""
        with self.session() as session, session.begin():
            row = session.execute(
                select(TicketRow).where(TicketRow.asker_platform == asker.platform,
                                        TicketRow.asker_id == asker.user_id,
                                        TicketRow.status == Status.ANSWERED.value,
                                        TicketRow.rating.is_(None) | (TicketRow.reopened.is_(True)))
                .order_by(TicketRow.answered_at.desc()).limit(1).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                return None
            row.rating = "satisfied" if satisfied else "unsatisfied"
            self._event(session, row, EventKind.RATED, asker.key, row.rating)
            if satisfied or row.reopened:
                row.status, row.closed_at = Status.CLOSED.value, self.clock()
                self._event(session, row, EventKind.CLOSED, "system", "评价后办结")
                return texts.THANKS_RATED
            self._reopen(session, row, asker.key, "提问人不满意")
            return texts.REOPENED.format(number=number_of(row.id))

    def of_asker(self, asker: Person, limit: int = 5) -> list[Ticket]:
        with self.session() as session:
            rows = session.execute(
                select(TicketRow).where(TicketRow.asker_platform == asker.platform,
                                        TicketRow.asker_id == asker.user_id)
                .order_by(TicketRow.id.desc()).limit(limit)).scalars()
            return [ticket_of(r) for r in rows]

    def status_reply(self, asker: Person, number: str | None = None) -> str:
        """"我的问题有回复了吗" / "T-000457 办得怎么样了": the asker's own tickets only."""
        if number is not None:
            ticket = self.get(number)
            if ticket.asker.key != asker.key:
                return texts.NOT_YOURS
            tickets = [ticket]
        else:
            tickets = self.of_asker(asker)
        if not tickets:
            return texts.NO_TICKETS
        lines = []
        for ticket in tickets:
            latest = self.history(ticket.number)[-1]
            lines.append(texts.status_line(ticket, self.light(ticket),
                                           f"{texts.day_time(latest.at)} {EVENT_LABELS[latest.kind]}"))
        return "\n".join(lines)

    # --- reading -----------------------------------------------------------------------------
    def get(self, number: str) -> Ticket:
        with self.session() as session:
            row = session.get(TicketRow, id_of(number))
            if row is None:
                raise TicketNotFound(number)
            return ticket_of(row)

    def quoted(self, platform: str, platform_message_id: str) -> str | None:
        """The ticket a message of ours was about (a quote of it answers the ticket)."""
        if not platform_message_id:
            return None
        with self.session() as session:
            ticket_id = session.execute(
                select(MessageRow.ticket_id).where(
                    MessageRow.platform == platform,
                    MessageRow.platform_message_id == platform_message_id).limit(1)).scalar()
        return number_of(ticket_id) if ticket_id else None

    def history(self, number: str) -> list[Event]:
        with self.session() as session:
            rows = session.execute(select(EventRow).where(EventRow.ticket_id == id_of(number))
                                   .order_by(EventRow.id)).scalars()
            return [event_of(r) for r in rows]

    def tickets(self, status: str | None = None, limit: int = 100) -> list[Ticket]:
        with self.session() as session:
            stmt = select(TicketRow)
            if status:
                stmt = stmt.where(TicketRow.status == status)
            rows = session.execute(stmt.order_by(TicketRow.resolve_by).limit(limit)).scalars()
            return [ticket_of(r) for r in rows]

    def light(self, ticket: Ticket, now: datetime | None = None) -> Light | None:
        """Green, yellow from half the first-response time, red when it is overdue (and
        stays red until answered); None once answered."""
        if not ticket.status.open:
            return None
        now = now or self._now()
        deadline = ticket.respond_by
        if now >= deadline:
            return Light.RED
        allowed = working_time_between(ticket.clock_started_at, deadline, self.hours,
                                       self.calendar)
        used = working_time_between(ticket.clock_started_at, now, self.hours, self.calendar)
        return Light.YELLOW if used * 2 >= allowed else Light.GREEN

    # --- timers ------------------------------------------------------------------------------
    def sweep(self, worker: str, limit: int = 200) -> list[Fired]:
        """Fire the due reminders and escalations (inside working hours only)."""
        now = self._now()
        stmt = select(TimerRow).where(TimerRow.due_at <= now.timestamp())
        if not is_working_time(now, self.hours, self.calendar):
            stmt = stmt.where(TimerRow.due_at > now.timestamp() - GRACE)
        fired: list[Fired] = []
        with self.session() as session, session.begin():
            due = session.execute(stmt.order_by(TimerRow.due_at).limit(limit)
                                  .with_for_update(skip_locked=True)).scalars().all()
            if not due:
                return fired
            # the tickets in one query, the timers gone in one statement (still locked)
            rows = {r.id: r for r in session.execute(select(TicketRow).where(
                TicketRow.id.in_({t.ticket_id for t in due}))).scalars()}
            session.execute(delete(TimerRow).where(TimerRow.id.in_([t.id for t in due]))
                            .execution_options(synchronize_session=False))
            for timer in due:
                row = rows.get(timer.ticket_id)
                if row is None or row.generation != timer.generation or not Status(row.status).open:
                    continue
                fired.append(self._fire(session, row, timer, worker))
        return fired

    def _fire(self, session: Session, row: TicketRow, timer: TimerRow, worker: str) -> Fired:
        ticket = ticket_of(row)
        if timer.kind == REMIND:
            self._event(session, row, EventKind.REMINDED, "system", f"黄灯提醒（{worker}）")
            holders: Sequence[Person] = (
                [Person(row.assignee_platform or "", row.assignee_id or "", row.assignee_name or "")]
                if row.assignee_id else
                (self.offices.offices[row.office_code].staff if row.office_code else ()))
            for person in holders:
                if person.platform in DIRECT:
                    self._message(session, row, texts.remind(ticket), person=person)
                else:
                    self._message(session, row, texts.remind(ticket), group=True, mention=person)
        else:
            row.escalation = max(row.escalation, timer.level)
            self._event(session, row, EventKind.ESCALATED, "system",
                        "升级到区总工会" if timer.level >= 2 else "升级到街道工会")
            for person in self.offices.escalation_staff(row.grid_code, timer.level):
                self._message(session, row, texts.escalated(ticket, timer.level), person=person)
        return Fired(number_of(row.id), timer.kind, timer.level)

    def next_due(self) -> float | None:
        with self.session() as session:
            return session.execute(select(TimerRow.due_at).order_by(TimerRow.due_at)
                                   .limit(1)).scalar()

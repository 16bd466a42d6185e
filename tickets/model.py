"""Tickets as plain domain objects: what the front desk (the assistant in the group)
could not settle, handed to the back offices (the grid coordinator first, then the
union department that owns the matter), with deadlines in working time.

Kinds follow the 12351 hotline's classification; a ticket's life is
new → assigned → answered → closed, or reopened (a "不满意" rating, once), or
transferred to a back office. Every change is an event (`EventKind`), the record
that statistics are computed from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum


class TicketError(Exception):
    """A domain error; its message is Chinese, for the person who asked."""


class TicketNotFound(TicketError):
    def __init__(self, number: str) -> None:
        super().__init__(f"没有找到工单 {number}")
        self.number = number


class NotAllowed(TicketError):
    """The person may not do this to this ticket (nothing changed)."""


class InvalidTicket(TicketError):
    pass


class Kind(str, Enum):
    CONSULT = "consult"
    HELP = "help"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"


KIND_LABELS = {Kind.CONSULT: "咨询", Kind.HELP: "求助", Kind.COMPLAINT: "投诉举报",
               Kind.SUGGESTION: "意见建议"}


class Status(str, Enum):
    NEW = "new"
    ASSIGNED = "assigned"
    TRANSFERRED = "transferred"
    ANSWERED = "answered"
    REOPENED = "reopened"
    CLOSED = "closed"

    @property
    def open(self) -> bool:
        """Waiting for an answer from the back office."""
        return self in (Status.NEW, Status.ASSIGNED, Status.TRANSFERRED, Status.REOPENED)


STATUS_LABELS = {Status.NEW: "新建", Status.ASSIGNED: "已派给网格员", Status.TRANSFERRED: "已转办",
                 Status.ANSWERED: "已答复", Status.REOPENED: "重新办理", Status.CLOSED: "已办结"}


class Light(str, Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


LIGHT_LABELS = {Light.GREEN: "绿灯", Light.YELLOW: "黄灯", Light.RED: "红灯"}


class EventKind(str, Enum):
    CREATED = "created"
    ASSIGNED = "assigned"
    REMINDED = "reminded"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    ANSWERED = "answered"
    RATED = "rated"
    CLOSED = "closed"
    REOPENED = "reopened"


EVENT_LABELS = {EventKind.CREATED: "创建", EventKind.ASSIGNED: "派单", EventKind.REMINDED: "提醒",
                EventKind.TRANSFERRED: "转办", EventKind.ESCALATED: "升级",
                EventKind.ANSWERED: "答复", EventKind.RATED: "评价", EventKind.CLOSED: "办结",
                EventKind.REOPENED: "重新办理"}

NUMBER = re.compile(r"T-?(\d{1,9})", re.IGNORECASE)


def number_of(ticket_id: int) -> str:
    """The readable id: T-000457."""
    return f"T-{ticket_id:06d}"


def id_of(number: str) -> int:
    """T-000457, t457 or 457 → 457; InvalidTicket otherwise."""
    text = number.strip()
    match = NUMBER.fullmatch(text) or (re.fullmatch(r"(\d{1,9})", text))
    if not match:
        raise InvalidTicket(f"工单号应像 T-000457，收到“{text[:20]}”")
    return int(match.group(1))


@dataclass(frozen=True)
class Person:
    """Someone on a platform: an asker, a coordinator or a member of staff."""

    platform: str
    user_id: str
    name: str = ""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Sla:
    """How long the back office has, in working time."""

    first_response: timedelta = timedelta(hours=4)
    resolution_days: int = 2

    def describe(self) -> str:
        hours = int(self.first_response.total_seconds() // 3600)
        return f"{hours} 个工作小时内响应，{self.resolution_days} 个工作日内答复"


@dataclass(frozen=True)
class Office:
    """A back office (后台): a union department that owns some matters."""

    code: str
    name: str
    topics: tuple[str, ...] = ()
    staff: tuple[Person, ...] = ()
    sla: Sla = field(default_factory=Sla)
    complaint_sla: Sla | None = None

    def sla_for(self, kind: Kind) -> Sla:
        return self.complaint_sla if kind is Kind.COMPLAINT and self.complaint_sla else self.sla


@dataclass(frozen=True)
class TicketDraft:
    question: str
    asker: Person
    group_id: str | None            # the chat group the question came from (None: 1:1)
    grid_code: str | None
    topic: str = "out_of_scope"
    kind: Kind = Kind.CONSULT
    turns: tuple[str, ...] = ()     # the last few turns of the conversation
    relayed_by: Person | None = None  # a coordinator asking for a resident
    resident: str = ""              # who the relayed question is for ("楼里刘阿姨")

    def validate(self) -> None:
        if not self.question.strip():
            raise InvalidTicket("问题不能为空")
        if len(self.question) > 2000:
            raise InvalidTicket("问题太长（最多 2000 个字）")


@dataclass(frozen=True)
class Event:
    ticket_id: int
    kind: EventKind
    at: datetime
    actor: str                      # "platform:user_id", "system" or a staff account
    note: str = ""
    office: str | None = None


@dataclass(frozen=True)
class Ticket:
    id: int
    question: str
    asker: Person
    group_id: str | None
    grid_code: str | None
    topic: str
    kind: Kind
    status: Status
    assignee: Person | None
    office_code: str | None
    created_at: datetime
    clock_started_at: datetime      # when the current holder got it (transfer restarts it)
    respond_by: datetime
    resolve_by: datetime
    flagged: bool                   # a deadline crossed days the holiday calendar does not know
    answer: str | None = None
    answered_at: datetime | None = None
    rating: str | None = None
    reopened: bool = False
    escalation: int = 0             # 0 none, 1 street staff, 2 district
    relayed_by: Person | None = None
    resident: str = ""
    turns: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        return number_of(self.id)

"""Plain records the outbox hands out and takes back: what a dispatcher claims
(`Job`) and reports (`Outcome`, `AttemptLog`, `RoomMessage`), and the read models
of notices, deliveries and attempts (never ORM rows outside the outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from broadcast.model import STATE_LABELS, STATUS_LABELS, DeliveryState, NoticeStatus

S = DeliveryState
OPEN_STATES = (S.PENDING.value, S.RETRYING.value, S.SENDING.value)
FINAL_STATES = (S.SENT.value, S.FAILED.value, S.CANCELLED.value)


@dataclass(frozen=True)
class Job:
    """A claimed delivery with what is needed to send it."""

    delivery_id: int
    notice_id: int
    platform: str
    external_id: str
    group_name: str
    send_via: str
    send_target: str
    title: str
    body: str
    body_format: str
    attempts: int
    parts_sent: int


@dataclass(frozen=True)
class AttemptLog:
    part: int
    started_at: float
    duration_ms: int
    outcome: str
    code: str | None
    answer: str


@dataclass(frozen=True)
class RoomMessage:
    """A message for a web chat room: stored with its delivery's outcome."""

    room: str
    text: str


@dataclass
class Outcome:
    """What happened to a job: progress (`SENDING`), or a final or retry state."""

    delivery_id: int
    notice_id: int
    state: DeliveryState
    parts_sent: int
    parts_total: int
    attempts: int
    due_at: float | None = None
    reason: str | None = None
    last_error: str | None = None
    logs: list[AttemptLog] = field(default_factory=list)
    room_message: RoomMessage | None = None


@dataclass(frozen=True)
class NoticeReport:
    id: int
    title: str
    author: str
    status: NoticeStatus
    target_label: str
    schedule_kind: str
    run_at: float | None
    cron: str | None
    created_at: float
    finished_at: float | None
    total: int
    counts: dict[str, int]
    failures: dict[str, int]      # reason → how many groups
    parent_id: int | None

    @property
    def open(self) -> int:
        return sum(self.counts.get(s, 0) for s in OPEN_STATES)

    def as_json(self) -> dict[str, Any]:
        """The one JSON form of a notice's report (staff API, CLI `--json`)."""
        return {
            "id": self.id, "title": self.title, "author": self.author,
            "status": self.status.value, "status_label": STATUS_LABELS[self.status],
            "target_label": self.target_label, "schedule_kind": self.schedule_kind,
            "run_at": self.run_at, "cron": self.cron, "created_at": self.created_at,
            "finished_at": self.finished_at, "total": self.total, "counts": self.counts,
            "failures": self.failures, "parent_id": self.parent_id,
        }


@dataclass(frozen=True)
class NoticeView:
    id: int
    title: str
    body: str
    body_format: str
    author: str
    targets: dict[str, Any]
    target_label: str
    schedule_kind: str
    run_at: float | None
    cron: str | None
    timezone: str
    status: str
    parent_id: int | None
    occurrence: float | None
    total: int
    created_at: float
    finished_at: float | None
    cancelled_by: str | None


@dataclass(frozen=True)
class DeliveryView:
    id: int
    notice_id: int
    platform: str
    external_id: str
    group_name: str
    grid_code: str
    send_via: str
    send_target: str
    state: str
    attempts: int
    parts_sent: int
    parts_total: int
    due_at: float
    claimed_by: str | None
    lease_until: float | None
    sent_at: float | None
    reason: str | None
    last_error: str | None
    updated_at: float

    def as_json(self) -> dict[str, Any]:
        state = DeliveryState(self.state)
        return {
            "id": self.id, "platform": self.platform, "external_id": self.external_id,
            "group_name": self.group_name, "grid_code": self.grid_code, "state": state.value,
            "state_label": STATE_LABELS[state], "attempts": self.attempts,
            "parts_sent": self.parts_sent, "parts_total": self.parts_total,
            "sent_at": self.sent_at, "reason": self.reason, "last_error": self.last_error,
            "due_at": self.due_at,
        }


@dataclass(frozen=True)
class AttemptView:
    id: int
    delivery_id: int
    part: int
    started_at: float
    duration_ms: int
    outcome: str
    code: str | None
    answer: str | None
    worker: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "delivery_id": self.delivery_id, "part": self.part,
                "started_at": self.started_at, "duration_ms": self.duration_ms,
                "outcome": self.outcome, "code": self.code, "answer": self.answer,
                "worker": self.worker}


def view_of(cls: Any, row: Any) -> Any:
    """A read model from an ORM row (the columns of the same names)."""
    return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

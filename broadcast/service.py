"""What staff do with notices, whatever the interface (CLI, HTTP API, console):
create (now, at a time, recurring), see the status, retry the failed, cancel.
The CLI, the API and the scheduler's jobs all go through `Broadcaster`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from broadcast.dispatcher import Dispatcher
from broadcast.model import (
    InvalidSchedule,
    NoticeDraft,
    NoticeStatus,
    Schedule,
    Targets,
)
from broadcast.outbox import NoticeReport, Outbox
from broadcast.records import NoticeView
from broadcast.scheduler import NoticeScheduler, cron_trigger, minute_of

logger = logging.getLogger(__name__)
DEFAULT_TZ = "Asia/Shanghai"


def parse_at(text: str, timezone: str = DEFAULT_TZ, now: float | None = None) -> float:
    """`2026-11-23 09:00` (local time of the union) or ISO 8601 → epoch seconds."""
    import pytz

    value = text.strip().replace("T", " ").replace("/", "-")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = pytz.timezone(timezone).localize(moment)
        at = moment.timestamp()
    except KeyError as exc:
        raise InvalidSchedule(f"未知的时区“{timezone}”") from exc
    except OverflowError as exc:
        raise InvalidSchedule(f"时间“{text}”超出了可用的范围") from exc
    except ValueError as exc:
        raise InvalidSchedule(f"时间“{text}”无法识别，请写成 2026-11-23 09:00") from exc
    if not 0 < at < 4102444800:  # before 2100
        raise InvalidSchedule(f"时间“{text}”超出了可用的范围")
    if at <= (time.time() if now is None else now):
        raise InvalidSchedule(f"时间“{text}”已经过去了，请选择将来的时间")
    return at


class Broadcaster:
    def __init__(self, outbox: Outbox, scheduler: NoticeScheduler,
                 on_new_work: Callable[[], None] = lambda: None) -> None:
        self.outbox = outbox
        self.scheduler = scheduler
        self.on_new_work = on_new_work

    def create(self, draft: NoticeDraft) -> int:
        schedule = draft.schedule
        if schedule.kind == "now":
            notice_id = self.outbox.create(draft)
            self.on_new_work()
            return notice_id
        if schedule.kind == "at":
            if schedule.at is None or schedule.at <= self.outbox.clock():
                raise InvalidSchedule("定时发送的时间必须是将来的时间")
            notice_id = self.outbox.create(draft, status=NoticeStatus.SCHEDULED,
                                           due_at=schedule.at)
            self.scheduler.add_at(notice_id, schedule.at)
            return notice_id
        if schedule.kind == "cron":
            if not schedule.cron:
                raise InvalidSchedule("周期发送需要填写周期，例如 0 9 * * 1（每周一 9:00）")
            cron_trigger(schedule.cron, schedule.timezone)  # validate before writing
            notice_id = self.outbox.create(draft, status=NoticeStatus.RECURRING,
                                           with_deliveries=False)
            self.scheduler.add_cron(notice_id, schedule.cron, schedule.timezone)
            return notice_id
        raise InvalidSchedule(f"未知的发送方式：{schedule.kind}")

    def cancel(self, notice_id: int, by: str) -> int:
        self.scheduler.remove(notice_id)
        return self.outbox.cancel(notice_id, by)

    def retry_failed(self, notice_id: int) -> int:
        count = self.outbox.retry_failed(notice_id)
        if count:
            self.on_new_work()
        return count

    def report(self, notice_id: int) -> NoticeReport:
        return self.outbox.report(notice_id)

    def next_run(self, notice_id: int) -> float | None:
        return self.scheduler.next_run(notice_id)

    # --- what the scheduler's jobs do -------------------------------------------------
    def fire(self, kind: str, notice_id: int) -> None:
        if kind == "at":
            if self.outbox.release(notice_id):
                logger.info("Scheduled notice %d released", notice_id)
                self.on_new_work()
        elif kind == "cron":
            self.run_occurrence(notice_id, minute_of(self.outbox.clock()))

    def run_occurrence(self, template_id: int, occurrence: float) -> int | None:
        """One firing of a recurring notice; None if cancelled or already created."""
        template = self.outbox.notice(template_id)
        if template.status != NoticeStatus.RECURRING.value:
            return None
        draft = draft_of(template, Schedule())
        try:
            child = self.outbox.create(draft, parent_id=template_id, occurrence=occurrence)
        except IntegrityError:
            logger.info("Recurring notice %d at %s already created by another dispatcher",
                        template_id, occurrence)
            return None
        logger.info("Recurring notice %d: run %d created", template_id, child)
        self.on_new_work()
        return child


def draft_of(row: NoticeView, schedule: Schedule) -> NoticeDraft:
    return NoticeDraft(title=row.title, body=row.body, author=row.author,
                       targets=Targets.from_dict(dict(row.targets)), body_format=row.body_format,
                       schedule=schedule)


@dataclass
class Running:
    """A broadcaster with its dispatcher running in this process (built by the
    composition root, `bot.compose.running`)."""

    broadcaster: Broadcaster
    dispatcher: Dispatcher
    task: asyncio.Task[object]

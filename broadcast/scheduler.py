"""Scheduled and recurring notices with APScheduler 3 and a SQLAlchemy job store
(table `bc_scheduler_jobs`), so they survive a restart.

- A notice "at" a time has its deliveries written at once, due at that time; its
  job releases it (status → sending) and wakes the dispatcher.
- A recurring notice ("0 9 * * 1", every Monday 9:00) is a template; each firing
  creates a child notice with its deliveries. Firings are keyed by (template,
  minute), so several dispatcher processes sharing the job store create it once.

APScheduler 3 does not notice jobs added by another process until it next wakes,
so the running scheduler also wakes every `poll` seconds. Numeric weekdays follow
crontab (0 or 7 = Sunday, 1 = Monday), not APScheduler's own numbering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from broadcast.model import InvalidSchedule

logger = logging.getLogger(__name__)
JOB_TABLE = "bc_scheduler_jobs"
_DOW = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]

# Job functions run in the scheduler's process; they find its outbox here.
_handlers: dict[str, Callable[[str, int], None]] = {}
_lock = threading.Lock()


def _crontab_weekdays(field: str) -> str:
    """Crontab weekdays (0 or 7 = Sunday, ranges, steps) as APScheduler day names."""
    if field in ("*", "?"):
        return "*"
    days: list[int] = []
    for item in field.split(","):
        spec, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            low, high = 0, 6
        elif "-" in spec:
            low_text, _, high_text = spec.partition("-")
            low, high = _weekday(low_text), _weekday(high_text)
        else:
            low = _weekday(spec)
            high = 6 if step_text else low
        if step < 1 or low > high:
            raise ValueError(f"weekday {item!r}")
        days.extend(d % 7 for d in range(low, high + 1, step))
    return ",".join(_DOW[d] for d in sorted(set(days)))


def _weekday(text: str) -> int:
    names = {name: i for i, name in enumerate(_DOW[:7])}
    if text.lower()[:3] in names:
        return names[text.lower()[:3]]
    value = int(text)
    if not 0 <= value <= 7:
        raise ValueError(f"weekday {text!r}")
    return value


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A crontab expression (minute hour day month weekday) → CronTrigger."""
    fields = expression.split()
    if len(fields) != 5 or len(expression) > 64:
        raise InvalidSchedule(f"周期“{expression}”应为 5 段：分 时 日 月 星期，例如 0 9 * * 1（每周一 9:00）")
    try:
        tz = _tz(timezone)
        fields[4] = _crontab_weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=tz)
    except KeyError as exc:
        raise InvalidSchedule(f"未知的时区“{timezone}”") from exc
    except ValueError as exc:
        raise InvalidSchedule(f"周期“{expression}”无法识别：{exc}") from exc


def next_times(expression: str, timezone: str, count: int = 3) -> list[datetime]:
    trigger = cron_trigger(expression, timezone)
    times: list[datetime] = []
    previous = None
    now = datetime.now(trigger.timezone)
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, previous or now)
        if fire is None:
            break
        times.append(fire)
        previous = fire
    return times


def fire(database_url: str, kind: str, notice_id: int) -> None:
    """The job function (module-level so the job store can find it again)."""
    with _lock:
        handler = _handlers.get(database_url)
    if handler is None:
        logger.warning("No broadcaster for %s in this process; notice %d skipped", kind,
                       notice_id)
        return
    handler(kind, notice_id)


class NoticeScheduler:
    """Adds, removes and (when `running`) fires the jobs of scheduled notices."""

    def __init__(self, database_url: str, timezone: str = "Asia/Shanghai",
                 poll: float = 10.0) -> None:
        self.database_url = database_url
        self.timezone = timezone
        self.poll = poll
        self._scheduler: BaseScheduler | None = None

    def _stores(self) -> dict[str, Any]:
        # APScheduler 3 uses the SQLAlchemy 1.x engine API, so it gets its own engine
        # (the application's engines are future=True).
        return {"default": SQLAlchemyJobStore(url=self.database_url, tablename=JOB_TABLE)}

    def start(self, handler: Callable[[str, int], None]) -> None:
        """Run the jobs in this process (needs a running asyncio loop)."""
        with _lock:
            _handlers[self.database_url] = handler
        scheduler = AsyncIOScheduler(jobstores=self._stores(), timezone=self.timezone,
                                     job_defaults={"misfire_grace_time": 3600,
                                                   "coalesce": True})
        scheduler.add_jobstore("memory", alias="local")
        scheduler.add_job(_noop, "interval", seconds=self.poll, jobstore="local",
                          id="wake-up")
        scheduler.start()
        self._scheduler = scheduler

    def open(self) -> None:
        """Only edit the job store (the CLI): a paused scheduler fires nothing."""
        scheduler = BackgroundScheduler(jobstores=self._stores(), timezone=self.timezone)
        scheduler.start(paused=True)
        self._scheduler = scheduler

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        with _lock:
            _handlers.pop(self.database_url, None)

    def __enter__(self) -> NoticeScheduler:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def scheduler(self) -> BaseScheduler:
        if self._scheduler is None:
            raise RuntimeError("scheduler not started")
        return self._scheduler

    def add_at(self, notice_id: int, at: float) -> None:
        self.scheduler.add_job(fire, DateTrigger(datetime.fromtimestamp(at, _tz(self.timezone))),
                               args=[self.database_url, "at", notice_id],
                               id=job_id(notice_id), replace_existing=True)

    def add_cron(self, notice_id: int, expression: str, timezone: str) -> None:
        self.scheduler.add_job(fire, cron_trigger(expression, timezone),
                               args=[self.database_url, "cron", notice_id],
                               id=job_id(notice_id), replace_existing=True)

    def remove(self, notice_id: int) -> bool:
        job = self.scheduler.get_job(job_id(notice_id))
        if job is None:
            return False
        job.remove()
        return True

    def next_run(self, notice_id: int) -> float | None:
        job = self.scheduler.get_job(job_id(notice_id))
        when = getattr(job, "next_run_time", None) if job else None
        return when.timestamp() if when else None


def job_id(notice_id: int) -> str:
    return f"notice-{notice_id}"


def _tz(name: str) -> Any:
    import pytz

    return pytz.timezone(name)


def _noop() -> None:
    """Wakes the scheduler so it sees jobs other processes added."""


def minute_of(now: float | None = None) -> float:
    moment = time.time() if now is None else now
    return float(int(moment // 60) * 60)

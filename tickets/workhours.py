"""Working time: deadlines such as "answer within 4 working hours / 2 working days",
counted only inside an office's working spans on working days, in Beijing time.

Pure functions on aware datetimes (any zone in, Asia/Shanghai out). A deadline is the
earliest moment by which the allowed working time has elapsed (11:00 + 1 h = 12:00,
not 13:30). Whole working days are skipped by the calendar's per-year tables, so the
cost does not grow with the length of the allowance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from core.clock import SHANGHAI
from tickets.holidays import HolidayCalendar

Span = tuple[time, time]
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*[-~～至到]\s*(\d{1,2}):(\d{2})$")


class InvalidWorkingHours(ValueError):
    """Raised with a Chinese reason when working spans cannot be used."""


def _us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


@dataclass(frozen=True)
class WorkingHours:
    """An office's working spans on each working day (default 09:00–12:00, 13:30–17:30)."""

    spans: tuple[Span, ...] = ((time(9), time(12)), (time(13, 30), time(17, 30)))
    _bounds: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _per_day: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.spans:
            raise InvalidWorkingHours("工作时间至少要有一段，如 09:00-17:30")
        bounds = tuple((_us(a), _us(b)) for a, b in self.spans)
        for (a, b), (start, end) in zip(self.spans, bounds, strict=True):
            if a.tzinfo or b.tzinfo:
                raise InvalidWorkingHours("工作时间写北京时间的钟点，不带时区")
            if end <= start:
                raise InvalidWorkingHours(f"{a:%H:%M}-{b:%H:%M} 的结束时间不晚于开始时间")
        for (_, end), (start, _) in zip(bounds, bounds[1:], strict=False):
            if start < end:
                raise InvalidWorkingHours(f"{self}：各段时间重叠或顺序颠倒")
        object.__setattr__(self, "_bounds", bounds)
        object.__setattr__(self, "_per_day", sum(end - start for start, end in bounds))

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """`09:00-12:00,13:30-17:30` (the notation of the office spreadsheets)."""
        spans: list[Span] = []
        for part in text.replace("，", ",").replace("：", ":").replace("、", ",").split(","):
            match = _SPAN.match(part.strip())
            if not match:
                raise InvalidWorkingHours(f"“{part.strip()}”不是工作时间，应写成 09:00-12:00，多段用逗号分隔")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            try:
                spans.append((time(h1, m1), time(h2, m2)))
            except ValueError as exc:
                raise InvalidWorkingHours(f"“{part.strip()}”里的时刻不存在") from exc
        return cls(tuple(spans))

    @property
    def per_day(self) -> timedelta:
        """Working time of one working day (7 h by default)."""
        return timedelta(microseconds=self._per_day)

    def days(self, n: float) -> timedelta:
        """An allowance of `n` working days as working time: n × (working time per day)."""
        return timedelta(microseconds=round(self._per_day * n))

    def __str__(self) -> str:
        return ",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in self.spans)


OFFICE_HOURS = WorkingHours()


@dataclass(frozen=True)
class Deadline:
    at: datetime   # in Asia/Shanghai
    flagged: bool  # True: it crossed days of a year the calendar does not know (Mon–Fri assumed)


def add_working_time(start: datetime, duration: timedelta, hours: WorkingHours,
                     calendar: HolidayCalendar) -> Deadline:
    """The moment `duration` of working time after `start`."""
    total = _total_us(duration)
    if total < 0:
        raise ValueError("duration must not be negative")
    day, position = _local(start)
    if total == 0:
        return Deadline(start.astimezone(SHANGHAI), not calendar.is_known(day))
    if calendar.is_working_day(day):
        done = _worked_before(hours, position)
        if total <= hours._per_day - done:
            return Deadline(_at(day, _position_after(hours, done + total)), not calendar.is_known(day))
        total -= hours._per_day - done
    full, rest = divmod(total - 1, hours._per_day)  # the last day needs rest + 1 in (0, per_day]
    target = calendar.nth_working_day_after(day, full + 1)
    return Deadline(_at(target, _position_after(hours, rest + 1)), not calendar.all_known(day, target))


def working_time_between(start: datetime, end: datetime, hours: WorkingHours,
                         calendar: HolidayCalendar) -> timedelta:
    """Working time from `start` to `end` (negative when `end` is earlier)."""
    if end < start:
        return -working_time_between(end, start, hours, calendar)
    first, p1 = _local(start)
    last, p2 = _local(end)
    total = calendar.working_days_between(first, last) * hours._per_day
    if calendar.is_working_day(last):
        total += _worked_before(hours, p2)
    if calendar.is_working_day(first):
        total -= _worked_before(hours, p1)
    return timedelta(microseconds=total)


def is_working_time(moment: datetime, hours: WorkingHours, calendar: HolidayCalendar) -> bool:
    """Inside a working span (start included, end excluded) of a working day."""
    day, position = _local(moment)
    return calendar.is_working_day(day) and any(a <= position < b for a, b in hours._bounds)


def next_working_moment(moment: datetime, hours: WorkingHours,
                        calendar: HolidayCalendar) -> datetime:
    """`moment` itself when it is working time, else the start of the next working span."""
    day, position = _local(moment)
    if calendar.is_working_day(day):
        for a, b in hours._bounds:
            if position < b:
                return moment.astimezone(SHANGHAI) if position >= a else _at(day, a)
    return _at(calendar.nth_working_day_after(day, 1), hours._bounds[0][0])


def _total_us(duration: timedelta) -> int:
    return (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds


def _local(moment: datetime) -> tuple[date, int]:
    """The Beijing date and the microseconds since its midnight."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment} has no time zone; pass an aware datetime")
    local = moment.astimezone(SHANGHAI)
    return local.date(), _us(local.time())


def _at(day: date, position: int) -> datetime:
    seconds, micro = divmod(position, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=SHANGHAI)


def _worked_before(hours: WorkingHours, position: int) -> int:
    """Working microseconds of a working day before `position`."""
    worked = 0
    for a, b in hours._bounds:
        if position <= a:
            break
        worked += min(position, b) - a
    return worked


def _position_after(hours: WorkingHours, worked: int) -> int:
    """The earliest position of a working day by which `worked` (0 < worked <= per day) is done."""
    for a, b in hours._bounds:
        if worked <= b - a:
            return a + worked
        worked -= b - a
    raise ValueError("more than one day's working time")

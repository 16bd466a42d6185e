"""Opening hours: the spreadsheet notation and "is it open now" in Beijing time.

A weekday is written as comma-separated spans, `09:00-12:00,14:00-17:30`, or
`休息` when closed. Times are wall-clock times in Asia/Shanghai.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from core.clock import SHANGHAI
from grids.directory import DayHours, Span

WEEKDAYS: tuple[str, ...] = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
CLOSED = "休息"

_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*[-~～至到]\s*(\d{1,2}):(\d{2})$")


class InvalidHours(ValueError):
    """Raised with a Chinese reason when a weekday's hours cannot be read."""


def parse_day(text: str) -> DayHours:
    """`09:00-12:00,14:00-17:30` → (("09:00","12:00"),("14:00","17:30")); `休息`/empty → ()."""
    cleaned = (text or "").strip().replace("，", ",").replace("：", ":").replace("、", ",")
    if not cleaned or cleaned in (CLOSED, "闭馆", "不开放", "-"):
        return ()
    spans: list[Span] = []
    for part in cleaned.split(","):
        match = _SPAN.match(part.strip())
        if not match:
            raise InvalidHours(f"“{part.strip()}”不是开放时间，应写成 09:00-12:00，多段用逗号分隔，闭馆写“休息”")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise InvalidHours(f"“{part.strip()}”里的时刻不存在")
        start, end = f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"
        if end <= start:
            raise InvalidHours(f"“{part.strip()}”的结束时间早于开始时间")
        if spans and start < spans[-1][1]:
            raise InvalidHours(f"“{part.strip()}”与前一段时间重叠或顺序颠倒")
        spans.append((start, end))
    return tuple(spans)


def format_day(day: DayHours) -> str:
    return ",".join(f"{a}-{b}" for a, b in day) if day else CLOSED


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class OpenState:
    weekday: int           # 0 = Monday
    today: DayHours
    is_open: bool
    closes_at: str | None  # when open now
    opens_at: str | None   # next opening later today, when closed now

    def describe(self) -> str:
        """One Chinese line: today's hours and whether the office is open now."""
        hours = "、".join(f"{a}-{b}" for a, b in self.today) if self.today else "休息"
        label = f"今天（{WEEKDAYS[self.weekday]}）{hours}"
        if self.is_open:
            return f"{label}，现在正在开放（{self.closes_at} 结束）"
        if self.opens_at:
            return f"{label}，现在未开放，{self.opens_at} 开门"
        return f"{label}，现在未开放"


def open_state(week: tuple[DayHours, ...], now: datetime) -> OpenState:
    """The office's state at `now` (converted to Beijing time)."""
    local = now.astimezone(SHANGHAI) if now.tzinfo else now.replace(tzinfo=SHANGHAI)
    weekday = local.weekday()
    today = week[weekday] if weekday < len(week) else ()
    minute = local.hour * 60 + local.minute
    for start, end in today:
        if _minutes(start) <= minute < _minutes(end):
            return OpenState(weekday, today, True, end, None)
    later = [start for start, _ in today if _minutes(start) > minute]
    return OpenState(weekday, today, False, None, later[0] if later else None)


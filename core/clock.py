"""Time: the union's time zone and the clocks that code takes as a parameter, so
that tests can control them (nothing calls `datetime.now()` deep inside)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

TIMEZONE_NAME = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TIMEZONE_NAME)

Clock = Callable[[], float]        # seconds since the epoch, like time.time
LocalClock = Callable[[], datetime]  # an aware datetime in the union's time zone


def now() -> float:
    return time.time()


def shanghai_now() -> datetime:
    return datetime.now(SHANGHAI)

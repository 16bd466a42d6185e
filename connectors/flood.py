"""Per-user flood limit: at most `limit` questions per `window` seconds; the first
question over the limit gets one polite notice, the rest are dropped silently."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"
    DROP = "drop"


@dataclass
class _History:
    times: deque[float] = field(default_factory=deque)
    notified: bool = False


class FloodGuard:
    def __init__(self, limit: int = 6, window: float = 60.0, max_users: int = 20_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self._max_users = max_users
        self._clock = clock
        self._users: OrderedDict[str, _History] = OrderedDict()

    def check(self, user_key: str) -> Verdict:
        now = self._clock()
        history = self._users.pop(user_key, None) or _History()
        self._users[user_key] = history  # most recently active last
        while history.times and history.times[0] <= now - self.window:
            history.times.popleft()
        if len(self._users) > self._max_users:
            self._users.popitem(last=False)
        if len(history.times) < self.limit:
            history.times.append(now)
            history.notified = False  # one notice per burst over the limit
            return Verdict.ALLOW
        if history.notified:
            return Verdict.DROP
        history.notified = True
        return Verdict.NOTIFY

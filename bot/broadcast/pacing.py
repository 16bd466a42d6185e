"""Pacing: each robot, group or account gets a budget from its platform's limit.

The algorithm is GCRA (a token bucket kept as one number, the "theoretical
arrival time"): a sender may go `burst` messages ahead of an even spacing of
`1/rate`. `reserve()` books the next slot and returns how long to wait for it,
so concurrent senders never overrun a limit. `MemoryPacer` serves one process;
`SqlPacer` keeps the same number in `bc_pacing`, row-locked, so that several
dispatcher processes on PostgreSQL share each budget.

The budgets are set a little under the documented limits, because the platform
measures arrival times, which jitter by a few milliseconds:
- WeCom / DingTalk group robot: 20 per minute → burst 5 + 14 per minute (≤ 19 in
  any 60 s); DingTalk throttles a robot for 10 minutes when it is exceeded.
- Feishu custom bot: 5 per second and 100 per minute per group → burst 4 + 90 per
  minute (≤ 5 in any second, ≤ 94 in any minute).
- QQ (OneBot) account: no published number, bursts get the account flagged; the
  reference implementations pace 1 per second, we use 1 per 1.25 s per account.
- Web rooms are our own table: 50 per second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.broadcast.tables import PacingRow


@dataclass(frozen=True)
class Limit:
    rate: float   # messages per second, sustained
    burst: int    # messages that may go at once

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def describe(self) -> str:
        per_minute = self.rate * 60
        return f"突发 {self.burst} 条，之后每分钟 {per_minute:g} 条"


DEFAULT_LIMITS: Mapping[str, Limit] = {
    "wecom": Limit(14 / 60, 5),
    "dingtalk": Limit(14 / 60, 5),
    "feishu": Limit(90 / 60, 4),
    "onebot": Limit(0.8, 1),
    "web": Limit(50.0, 50),
}


def parse_limit(text: str) -> Limit:
    """`RATE/SECONDS[:BURST]`, e.g. `20/60:5` or `1/1.25`."""
    try:
        spec, _, burst = text.partition(":")
        count, _, seconds = spec.partition("/")
        limit = Limit(float(count) / float(seconds or 1), int(burst or 1))
    except ValueError as exc:
        raise ValueError(f"pacing limit {text!r} should look like 20/60:5") from exc
    if limit.rate <= 0 or limit.burst < 1:
        raise ValueError(f"pacing limit {text!r} must be positive")
    return limit


def gcra(tat: float, now: float, limit: Limit) -> tuple[float, float]:
    """Book one message: (new theoretical arrival time, seconds to wait)."""
    tolerance = (limit.burst - 1) * limit.interval
    start = max(tat, now)
    allowed_at = start - tolerance
    wait = max(0.0, allowed_at - now)
    return start + limit.interval, wait


def _held(until: float, limit: Limit) -> float:
    """The arrival time that makes the next slot start exactly at `until`."""
    return until + (limit.burst - 1) * limit.interval


class Pacer(Protocol):
    def reserve(self, key: str, limit: Limit) -> float:
        """Book the next slot for `key`; seconds until it may be used."""

    def peek(self, key: str, limit: Limit) -> float:
        """Seconds a reservation made now would have to wait (books nothing)."""

    def hold(self, key: str, until: float, limit: Limit) -> None:
        """The platform said to wait (rate-limited): nothing for `key` before `until`."""


class MemoryPacer:
    """One process's budgets. Its state is saved with the outcomes (`snapshot`) and
    loaded at start (`restore`), so a restarted dispatcher does not burst into a
    budget its predecessor had just spent."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._tat: dict[str, float] = {}
        self._dirty: set[str] = set()
        self._clock = clock
        self._lock = threading.Lock()

    def reserve(self, key: str, limit: Limit) -> float:
        with self._lock:
            tat, wait = gcra(self._tat.get(key, 0.0), self._clock(), limit)
            self._tat[key] = tat
            self._dirty.add(key)
            return wait

    def snapshot(self) -> dict[str, float]:
        """The budgets used since the last snapshot (to be saved)."""
        with self._lock:
            saved = {key: self._tat[key] for key in self._dirty}
            self._dirty.clear()
            return saved

    def restore(self, saved: Mapping[str, float], limits: Callable[[str], Limit]) -> None:
        """Continue from saved budgets. Slots booked after the last save are unknown,
        so each budget is assumed to have spent one more full burst."""
        now = self._clock()
        with self._lock:
            for key, tat in saved.items():
                if tat > now - 3600:
                    limit = limits(key)
                    self._tat[key] = max(tat, now) + limit.burst * limit.interval

    def peek(self, key: str, limit: Limit) -> float:
        with self._lock:
            return gcra(self._tat.get(key, 0.0), self._clock(), limit)[1]

    def hold(self, key: str, until: float, limit: Limit) -> None:
        with self._lock:
            self._tat[key] = max(self._tat.get(key, 0.0), _held(until, limit))
            self._dirty.add(key)


class SqlPacer:
    """The same bookkeeping in the database, one row lock per booking."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def _row(self, session: Session, key: str) -> PacingRow:
        stmt = select(PacingRow).where(PacingRow.key == key).with_for_update()
        row = session.execute(stmt).scalar_one_or_none()
        if row is not None:
            return row
        try:
            with session.begin_nested():
                session.add(PacingRow(key=key, tat=0.0))
        except IntegrityError:
            pass  # another dispatcher created it first
        return session.execute(stmt).scalar_one()

    def reserve(self, key: str, limit: Limit) -> float:
        with Session(self._engine, future=True) as session, session.begin():
            row = self._row(session, key)
            tat, wait = gcra(float(row.tat), self._clock(), limit)
            row.tat = tat
            return wait

    def peek(self, key: str, limit: Limit) -> float:
        with Session(self._engine, future=True) as session:
            tat = session.execute(select(PacingRow.tat).where(PacingRow.key == key)).scalar()
            return gcra(float(tat or 0.0), self._clock(), limit)[1]

    def hold(self, key: str, until: float, limit: Limit) -> None:
        with Session(self._engine, future=True) as session, session.begin():
            row = self._row(session, key)
            tat = _held(until, limit)
            if tat > row.tat:
                session.execute(update(PacingRow).where(PacingRow.key == key).values(tat=tat))


def ideal_seconds(counts: Mapping[str, tuple[int, Limit]], concurrency: int,
                  latency: float) -> float:
    """A lower bound for sending `counts` (key → (messages, limit)) with `concurrency`
    requests in flight, each taking `latency`: the busiest budget or the
    concurrency, whichever binds. Used for the ETA and by the benchmark."""
    total = sum(n for n, _ in counts.values())
    if total == 0:
        return 0.0
    rounds = -(-total // max(1, concurrency))
    bound = rounds * latency
    for n, limit in counts.values():
        paced = max(0, n - limit.burst) * limit.interval + latency
        bound = max(bound, paced)
    return bound

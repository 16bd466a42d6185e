"""Pacing: each robot, group or account gets a budget from its platform's limit.

The algorithm is GCRA (a token bucket kept as one number, the "theoretical
arrival time"): a sender may go `burst` messages ahead of an even spacing of
`1/rate`. `reserve()` books the next slot and returns how long to wait for it,
so concurrent senders never overrun a limit. `MemoryPacer` serves one process;
`SqlPacer` keeps the same number in `bc_pacing`, moved on by one upsert per
booking, so that several dispatcher processes on PostgreSQL share each budget.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import TextClause


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
    shared: bool
    """True when the budgets live in the database, shared by every dispatcher process
    (calls may block on it); False for one process's budgets in memory."""

    def reserve(self, key: str, limit: Limit) -> float:
        """Book the next slot for `key`; seconds until it may be used."""

    def reserve_many(self, requests: Sequence[tuple[str, Limit]]) -> list[float]:
        """`reserve` for each (key, limit) in order; the waits, in the same order."""

    def peek(self, key: str, limit: Limit) -> float:
        """Seconds a reservation made now would have to wait (books nothing).

        Local and cheap. With budgets shared between processes it may be an
        underestimate (another process's bookings are learnt at the next
        `reserve`), never an overestimate."""

    def hold(self, key: str, until: float, limit: Limit) -> None:
        """The platform said to wait (rate-limited): nothing for `key` before `until`."""

    def snapshot(self) -> dict[str, float]:
        """Budgets changed since the last snapshot, for the outbox to save ({} when the
        budgets are already in the database)."""

    def unsaved(self, snapshot: Mapping[str, float]) -> None:
        """A snapshot could not be saved: include it in the next one."""

    def restore(self, saved: Mapping[str, float], limits: Callable[[str], Limit]) -> None:
        """Continue from saved budgets (a new process)."""

    def close(self) -> None:
        """Release what the pacer holds (its own connection pool)."""


class MemoryPacer:
    """One process's budgets. Its state is saved with the outcomes (`snapshot`) and
    loaded at start (`restore`), so a restarted dispatcher does not burst into a
    budget its predecessor had just spent."""

    shared = False

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

    def reserve_many(self, requests: Sequence[tuple[str, Limit]]) -> list[float]:
        return [self.reserve(key, limit) for key, limit in requests]

    def snapshot(self) -> dict[str, float]:
        """The budgets used since the last snapshot (to be saved)."""
        with self._lock:
            saved = {key: self._tat[key] for key in self._dirty}
            self._dirty.clear()
            return saved

    def unsaved(self, snapshot: Mapping[str, float]) -> None:
        with self._lock:
            self._dirty.update(snapshot)

    def restore(self, saved: Mapping[str, float], limits: Callable[[str], Limit]) -> None:
        """Continue from saved budgets. Slots booked after the last save are unknown,
        so each budget is assumed to have spent one more full burst right after it:
        the saved arrival time moves on by a burst. A robot idle since then has its
        whole burst again (the time passed pays it back, as in one long process)."""
        now = self._clock()
        with self._lock:
            for key, tat in saved.items():
                if tat > now - 3600:
                    limit = limits(key)
                    self._tat[key] = max(self._tat.get(key, 0.0),
                                         tat + limit.burst * limit.interval)

    def close(self) -> None:
        """Nothing to release."""

    def peek(self, key: str, limit: Limit) -> float:
        with self._lock:
            return gcra(self._tat.get(key, 0.0), self._clock(), limit)[1]

    def hold(self, key: str, until: float, limit: Limit) -> None:
        with self._lock:
            self._tat[key] = max(self._tat.get(key, 0.0), _held(until, limit))
            self._dirty.add(key)


# One statement books a batch of keys: each row is created or locked, moved on and
# read back atomically (PostgreSQL re-reads the newest row version under ON
# CONFLICT, so concurrent bookings from several processes serialise on the row).
# A key appears once per statement; all rows of a statement share `floor` and `step`.
_UPSERT = (
    "INSERT INTO bc_pacing (key, tat) VALUES {rows} "
    "ON CONFLICT (key) DO UPDATE SET tat = {fn}(bc_pacing.tat, :floor) + :step "
    "RETURNING key, tat"
)
_GREATEST = {"postgresql": "GREATEST", "sqlite": "MAX"}
_MAX_ROWS = 500


class SqlPacer:
    """The same bookkeeping in `bc_pacing`, shared by every dispatcher process: one
    `INSERT … ON CONFLICT DO UPDATE … RETURNING` round trip books a whole batch of
    keys (`reserve_many`; the dispatcher gathers what its tasks ask for while the
    previous batch is on its way). `peek` answers from the newest arrival time this
    process has seen (no query).

    On PostgreSQL the bookings go through a small pool of their own: autocommit
    (the upsert is atomic on its own, so no BEGIN/COMMIT round trips) and
    `synchronous_commit = off` (no wait for the WAL flush; a server crash can forget
    the last fraction of a second of bookings, which the platforms' own limits
    absorb the same way as a dispatcher restart)."""

    shared = True

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time,
                 pool_size: int = 8) -> None:
        fn = _GREATEST.get(engine.dialect.name)
        if fn is None:
            raise ValueError(f"SqlPacer needs PostgreSQL or SQLite, not {engine.dialect.name}")
        self._clock = clock
        self._fn = fn
        self._statements: dict[int, TextClause] = {}
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._own_engine = engine.dialect.name == "postgresql"
        if self._own_engine:
            self._engine = create_engine(engine.url, future=True, pool_size=pool_size,
                                         max_overflow=0, pool_recycle=600,
                                         isolation_level="AUTOCOMMIT")
            event.listen(self._engine, "connect", _no_commit_wait)
        else:
            self._engine = engine

    @property
    def engine(self) -> Engine:
        """Where the bookings go (on PostgreSQL, the pacer's own pool)."""
        return self._engine

    def _statement(self, rows: int) -> TextClause:
        stmt = self._statements.get(rows)
        if stmt is None:
            values = ", ".join(f"(:k{i}, :start)" for i in range(rows))
            stmt = self._statements[rows] = text(_UPSERT.format(rows=values, fn=self._fn))
        return stmt

    def _book(self, keys: Sequence[str], floor: float, step: float) -> dict[str, float]:
        """Move each key's arrival time to max(its time, floor) + step; the new times."""
        booked: dict[str, float] = {}
        keys = sorted(keys)  # rows are locked in one order in every process: no deadlock
        with self._engine.begin() as conn:
            for at in range(0, len(keys), _MAX_ROWS):
                chunk = keys[at:at + _MAX_ROWS]
                params: dict[str, object] = {f"k{i}": key for i, key in enumerate(chunk)}
                params.update(floor=floor, step=step, start=max(floor, 0.0) + step)
                for key, tat in conn.execute(self._statement(len(chunk)), params):
                    booked[key] = float(tat)
        with self._lock:
            for key, tat in booked.items():
                self._seen[key] = max(self._seen.get(key, 0.0), tat)
        return booked

    def reserve(self, key: str, limit: Limit) -> float:
        return self.reserve_many([(key, limit)])[0]

    def reserve_many(self, requests: Sequence[tuple[str, Limit]]) -> list[float]:
        """One statement per distinct interval (a platform, usually) and round of
        repeated keys, in one round trip each."""
        now = self._clock()
        waits = [0.0] * len(requests)
        pending = list(enumerate(requests))
        while pending:
            groups: dict[float, list[tuple[int, str, Limit]]] = {}
            seen: set[str] = set()
            later = []
            for index, (key, limit) in pending:
                if key in seen:  # a key once per statement: the repeat goes next round
                    later.append((index, (key, limit)))
                    continue
                seen.add(key)
                groups.setdefault(limit.interval, []).append((index, key, limit))
            for step, members in groups.items():
                booked = self._book([key for _, key, _ in members], now, step)
                for index, key, limit in members:
                    start = booked[key] - step  # = max(previous arrival time, now)
                    waits[index] = max(0.0, start - (limit.burst - 1) * limit.interval - now)
            pending = later
        return waits

    def peek(self, key: str, limit: Limit) -> float:
        with self._lock:
            return gcra(self._seen.get(key, 0.0), self._clock(), limit)[1]

    def hold(self, key: str, until: float, limit: Limit) -> None:
        self._book([key], _held(until, limit), 0.0)

    def snapshot(self) -> dict[str, float]:
        return {}  # every booking is already in the database

    def unsaved(self, snapshot: Mapping[str, float]) -> None:
        """Nothing is kept to save."""

    def restore(self, saved: Mapping[str, float], limits: Callable[[str], Limit]) -> None:
        """The budgets are read from the database at each booking."""

    def close(self) -> None:
        if self._own_engine:
            self._engine.dispose()


def _no_commit_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit = off")
    cursor.close()


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

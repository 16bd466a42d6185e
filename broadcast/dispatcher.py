"""The dispatcher: sends due deliveries from the outbox, paced and bounded.

Each claimed delivery becomes a task that books a pacing slot for its robot,
group or account, waits for it, and sends under a global concurrency cap.
Outcomes are buffered and written in small batches (one transaction every
`flush_interval`), so the database is not the bottleneck. A delivery whose
budget is exhausted for longer than `defer_over` is handed back with a later
due time instead of holding a slot. Database calls run in worker threads.

Transient failures (timeouts, 5xx, "busy", rate limits) are retried with
exponential backoff and jitter, honouring the platform's reset time; permanent
ones (bad key or signature, unknown group, message rejected) fail at once with a
reason staff can act on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from broadcast.formatting import Message, render
from broadcast.model import DeliveryState
from broadcast.outbox import Outbox
from broadcast.pacing import DEFAULT_LIMITS, Limit, MemoryPacer, Pacer
from broadcast.records import AttemptLog, Job, Outcome
from broadcast.senders import Senders
from platforms.errors import (
    DeliveryError,
    DeliveryTimeout,
    InvalidCredentials,
    RateLimited,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
S = DeliveryState


@dataclass(frozen=True)
class DispatcherConfig:
    concurrency: int = 48          # requests in flight (measured: above ~48 one process is CPU-bound)
    claim_batch: int = 256         # deliveries held in memory at most
    lease: float = 60.0            # seconds a claim lasts without renewal
    poll: float = 0.5              # idle wait between looks at the outbox
    flush_interval: float = 0.05
    max_attempts: int = 8
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    defer_over: float = 2.0
    limits: Mapping[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))

    @property
    def heartbeat(self) -> float:
        return self.lease / 3


@dataclass
class DispatchStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    messages: int = 0


def explain(exc: DeliveryError) -> str:
    """Why a delivery failed for good, in words staff can act on."""
    code = f"{exc.platform} {exc.code}" if exc.code is not None else exc.platform
    if isinstance(exc, InvalidCredentials):
        return f"机器人地址或密钥无效（{code}），请在网格目录中更新该群的发送地址"
    if exc.code == "config":
        return f"发送方式未配置（{exc}）"
    if exc.transient:
        return f"多次重试仍失败（{code}）"
    return f"平台拒收（{code}）：{str(exc).split(': ', 1)[-1]}"


class Dispatcher:
    def __init__(self, outbox: Outbox, senders: Senders, *, pacer: Pacer | None = None,
                 config: DispatcherConfig | None = None, worker_id: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self.senders = senders
        self.pacer: Pacer = pacer or MemoryPacer(clock)
        self.config = config or DispatcherConfig()
        self.worker_id = worker_id or f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.clock = clock
        self.stats = DispatchStats()
        self._db = ThreadPoolExecutor(1, thread_name_prefix="outbox")
        self._pacing = ThreadPoolExecutor(8, thread_name_prefix="pacing")
        self._pacer_in_db = self.pacer.shared
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: list[Outcome] = []
        self._semaphore = asyncio.Semaphore(self.config.concurrency)
        self._wake = asyncio.Event()
        self.started = asyncio.Event()
        self._rendered: dict[tuple[int, str], list[Message]] = {}
        self._key_locks: dict[str, asyncio.Lock] = {}
        self._queued: dict[str, int] = {}
        self._bookings: list[tuple[str, Limit, asyncio.Future[float]]] = []
        self._booker: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look at the outbox now (a notice was just created or released)."""
        self._wake.set()

    async def _in_db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(fn, *args))

    async def _pace(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._pacer_in_db:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._pacing, partial(fn, *args))

    async def _reserve(self, key: str, limit: Limit) -> float:
        """Book `key`'s next slot. With the budgets in the database, bookings asked for
        while one batch is on its way go together in the next (one round trip)."""
        if not self._pacer_in_db:
            return self.pacer.reserve(key, limit)
        booked: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._bookings.append((key, limit, booked))
        if self._booker is None or self._booker.done():
            self._booker = asyncio.create_task(self._book_batches(), name="broadcast-booking")
        return await booked

    async def _book_batches(self) -> None:
        while self._bookings:
            batch, self._bookings = self._bookings, []
            try:
                waits = await self._pace(self.pacer.reserve_many,
                                         [(key, limit) for key, limit, _ in batch])
            except BaseException as exc:
                for *_, booked in batch:
                    if not booked.done():
                        booked.set_exception(exc if isinstance(exc, Exception)
                                             else asyncio.CancelledError())
                if not isinstance(exc, Exception):
                    raise
                continue
            for (*_, booked), wait in zip(batch, waits, strict=True):
                if not booked.done():  # its task may have been cancelled meanwhile
                    booked.set_result(wait)

    # --- the loop ------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> DispatchStats:
        """Dispatch until `stop` is set (or, with `until_idle`, until nothing is open)."""
        cfg = self.config
        await self._in_db(self.outbox.register_worker, self.worker_id, cfg.lease)
        if not self.pacer.shared:  # budgets of this process: continue from the saved ones
            saved = await self._in_db(self.outbox.load_pacing)
            self.pacer.restore(saved, self._limit_of_key)
        background = {asyncio.create_task(self._flusher(stop), name="broadcast-flush"),
                      asyncio.create_task(self._heartbeat(stop), name="broadcast-heartbeat")}
        self.started.set()
        logger.info("Dispatcher %s started (concurrency %d)", self.worker_id, cfg.concurrency)
        try:
            while not stop.is_set():
                room = cfg.claim_batch - len(self._tasks)
                jobs = (await self._in_db(self.outbox.claim, self.worker_id, room, cfg.lease)
                        if room >= max(1, cfg.claim_batch // 4) else [])
                for job in jobs:
                    task = asyncio.create_task(self._deliver(job))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if jobs:
                    await asyncio.sleep(0)
                    continue
                if until_idle and not self._tasks and await self._idle():
                    break
                await self._wait_for_work()
        finally:
            stop.set()
            await self._drain()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self._flush()
            await self._in_db(self.outbox.unregister_worker, self.worker_id)
            self._db.shutdown(wait=True)
            self._pacing.shutdown(wait=True)
            self.pacer.close()
            logger.info("Dispatcher %s stopped: %s", self.worker_id, self.stats)
        return self.stats

    async def _idle(self) -> bool:
        await self._flush()
        return not await self._in_db(self.outbox.pending_by_target, None, 1)

    async def _wait_for_work(self) -> None:
        self._wake.clear()
        waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wake.wait())}
        if self._tasks:
            waiters.add(asyncio.ensure_future(asyncio.wait(set(self._tasks),
                                                            return_when=asyncio.FIRST_COMPLETED)))
        _, pending = await asyncio.wait(waiters, timeout=self.config.poll,
                                        return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()

    async def _drain(self) -> None:
        """On stop: let in-flight sends finish briefly, then give the rest back."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=5.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _flusher(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.config.flush_interval)
            await self._flush()

    async def _flush(self) -> None:
        pacing = self.pacer.snapshot()
        if not self._results and not pacing:
            return
        batch, self._results = self._results, []
        try:
            await self._in_db(self.outbox.record, self.worker_id, batch, self.config.lease,
                              pacing)
        except Exception:
            logger.exception("Could not record %d outcomes; they will be retried", len(batch))
            self._results[:0] = batch
            self.pacer.unsaved(pacing)
            await asyncio.sleep(1.0)

    def _limit_of_key(self, key: str) -> Limit:
        return self.config.limits.get(key.split(":", 1)[0], DEFAULT_LIMITS["web"])

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.config.heartbeat)
            try:
                await self._in_db(self.outbox.renew, self.worker_id, self.config.lease)
            except Exception:
                logger.exception("Could not renew the dispatcher's leases")

    # --- one delivery ----------------------------------------------------------------
    async def _deliver(self, job: Job) -> None:
        try:
            await self._send_parts(job)
        except asyncio.CancelledError:
            # Stopping: hand it back untouched (a part that went out may go again).
            self._results.append(Outcome(job.delivery_id, job.notice_id, S.PENDING,
                                         job.parts_sent, 1, job.attempts, due_at=self.clock()))
            raise
        except Exception as exc:  # a bug must not lose the delivery
            logger.exception("Delivery %d crashed", job.delivery_id)
            self._results.append(Outcome(job.delivery_id, job.notice_id, S.RETRYING,
                                         job.parts_sent, 1, job.attempts + 1,
                                         due_at=self.clock() + 30.0,
                                         last_error=f"internal: {type(exc).__name__}"))

    async def _send_parts(self, job: Job) -> None:
        cfg = self.config
        messages = self._rendered.get((job.notice_id, job.platform))
        if messages is None:
            messages = render(job.platform, job.title, job.body, job.body_format)
            self._rendered[(job.notice_id, job.platform)] = messages
        total, part, attempts = len(messages), min(job.parts_sent, len(messages)), job.attempts
        key = self.senders.key(job)
        limit = cfg.limits.get(job.platform, DEFAULT_LIMITS["web"])
        while part < total:
            backlog = self._queued.get(key, 0) * limit.interval
            wait = self.pacer.peek(key, limit) + backlog
            if wait > cfg.defer_over:
                self.stats.deferred += 1
                self._results.append(Outcome(job.delivery_id, job.notice_id, S.PENDING, part,
                                             total, attempts, due_at=self.clock() + wait))
                return
            await self._take_slot(key, limit)
            try:
                started, t0 = self.clock(), time.monotonic()
                try:
                    sent = await self.senders.send(job, messages[part])
                except DeliveryError as exc:
                    attempts += 1
                    ms = int((time.monotonic() - t0) * 1000)
                    await self._failed(job, exc, part, total, attempts, started, ms, key, limit)
                    return
            finally:
                self._semaphore.release()
            self.stats.messages += 1
            log = AttemptLog(part + 1, started, int((time.monotonic() - t0) * 1000), "sent",
                             None, _short(sent.answer))
            part += 1
            state = S.SENT if part == total else S.SENDING
            self._results.append(Outcome(job.delivery_id, job.notice_id, state, part, total,
                                         attempts, logs=[log], room_message=sent.room_message))
        self.stats.sent += 1

    async def _take_slot(self, key: str, limit: Limit) -> None:
        """Wait for `key`'s budget and a concurrency slot, then book the budget: booked
        time = send time, so waiting for the cap never bunches a robot's messages.
        One task per key goes through here at a time; it leaves holding the semaphore."""
        self._queued[key] = self._queued.get(key, 0) + 1
        lock = self._key_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                while (wait := self.pacer.peek(key, limit)) > 0:
                    await asyncio.sleep(wait)
                await self._semaphore.acquire()
                try:
                    wait = await self._reserve(key, limit)
                    if wait > 0:  # another process booked in between (peek is local)
                        await asyncio.sleep(wait)
                except BaseException:
                    self._semaphore.release()
                    raise
        finally:
            self._queued[key] -= 1
            if not self._queued[key]:
                del self._queued[key]
                if not lock.locked():
                    self._key_locks.pop(key, None)

    async def _failed(self, job: Job, exc: DeliveryError, part: int, total: int,
                      attempts: int, started: float, ms: int, key: str, limit: Limit) -> None:
        cfg = self.config
        code = None if exc.code is None else str(exc.code)
        if exc.transient and attempts < cfg.max_attempts:
            delay = min(cfg.backoff_cap, cfg.backoff_base * 2 ** (attempts - 1))
            delay *= 0.5 + random.random()
            if isinstance(exc, RateLimited) and exc.retry_after:
                delay = max(delay, exc.retry_after)
                await self._pace(self.pacer.hold, key, self.clock() + exc.retry_after, limit)
            note = "（可能已送达）" if isinstance(exc, DeliveryTimeout) else ""
            log = AttemptLog(part + 1, started, ms, "retrying", code, f"{exc}{note}")
            self.stats.retried += 1
            self._results.append(Outcome(job.delivery_id, job.notice_id, S.RETRYING, part, total,
                                         attempts, due_at=self.clock() + delay,
                                         last_error=str(exc), logs=[log]))
            return
        log = AttemptLog(part + 1, started, ms, "failed", code, str(exc))
        self.stats.failed += 1
        logger.warning("Delivery %d to %s failed: %s", job.delivery_id, job.group_name, exc)
        self._results.append(Outcome(job.delivery_id, job.notice_id, S.FAILED, part, total,
                                     attempts, reason=explain(exc), last_error=str(exc),
                                     logs=[log]))


def _short(answer: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in answer.items())[:200]

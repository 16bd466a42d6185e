"""The composition root: what a process of Cloud Doctor opens once (the database
engine with every schema migrated, the aiohttp session and send clients, the pacer,
the dispatcher, the scheduler only where notices are fired) and closes on the way
out. Used by `cloud-doctor broadcast …`, `cloud-doctor staff` (through `bot.app`)
and the benchmarks; the domain packages never build their own resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import aiohttp
from sqlalchemy.engine import Engine

from broadcast import db as broadcast_db
from broadcast.dispatcher import Dispatcher, DispatcherConfig
from broadcast.outbox import Outbox
from broadcast.pacing import DEFAULT_LIMITS, Limit, MemoryPacer, Pacer, SqlPacer, parse_limit
from broadcast.scheduler import NoticeScheduler
from broadcast.senders import OneBotAccount, Senders
from broadcast.service import Broadcaster, Running
from console import db as console_db
from core import db
from core.settings import Settings
from grids import db as grid_db
from insight import db as insight_db
from knowledge import db as knowledge_db
from tickets import db as tickets_db
from tickets.factory import build as build_tickets
from tickets.service import TicketService

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Every schema the application keeps in its database, in dependency order.
SCHEMAS: tuple[Callable[[Engine], None], ...] = (grid_db.upgrade, broadcast_db.upgrade,
                                                 tickets_db.upgrade, knowledge_db.upgrade,
                                                 insight_db.upgrade, console_db.upgrade)
_migrated: set[str] = set()
_lock = threading.Lock()


def limits_of(settings: Settings) -> dict[str, Limit]:
    limits = dict(DEFAULT_LIMITS)
    for platform, text in settings.broadcast_limits:
        if platform not in limits:
            raise ValueError(f"BROADCAST_LIMIT_{platform.upper()}: unknown platform")
        limits[platform] = parse_limit(text)
    return limits


def config_of(settings: Settings) -> DispatcherConfig:
    return DispatcherConfig(concurrency=settings.broadcast_concurrency,
                            lease=settings.broadcast_lease, limits=limits_of(settings))


def pacer_for(engine: Engine) -> Pacer:
    return MemoryPacer() if engine.dialect.name == "sqlite" else SqlPacer(engine)


def onebot_of(settings: Settings) -> OneBotAccount | None:
    if not settings.onebot_api_url:
        return None
    return OneBotAccount(settings.onebot_api_url.rstrip("/"), settings.onebot_access_token)


def open_engine(settings: Settings) -> Engine:
    """This process's engine for the application database, every schema migrated
    (once per process and URL, however many commands ask)."""
    engine = db.engine_for(settings.database_url)
    with _lock:
        if settings.database_url not in _migrated:
            for upgrade in SCHEMAS:
                upgrade(engine)
            _migrated.add(settings.database_url)
    return engine


@contextlib.contextmanager
def editing(settings: Settings) -> Iterator[Broadcaster]:
    """A broadcaster that only writes (the CLI): notices and scheduled jobs."""
    engine = open_engine(settings)
    with NoticeScheduler(settings.database_url) as scheduler:
        yield Broadcaster(Outbox(engine), scheduler)


@contextlib.asynccontextmanager
async def running(settings: Settings, stop: asyncio.Event, *, until_idle: bool = False,
                  schedule: bool = True) -> AsyncIterator[Running]:
    """Dispatch (and fire scheduled notices) in this process until `stop` is set."""
    engine = open_engine(settings)
    outbox = Outbox(engine)
    scheduler = NoticeScheduler(settings.database_url)
    async with aiohttp.ClientSession() as session:
        dispatcher = Dispatcher(outbox, Senders(session, onebot=onebot_of(settings)),
                                pacer=pacer_for(engine), config=config_of(settings))
        broadcaster = Broadcaster(outbox, scheduler, on_new_work=_threadsafe(dispatcher))
        task = asyncio.create_task(dispatcher.run(stop, until_idle=until_idle),
                                   name="broadcast-dispatcher")
        started = asyncio.ensure_future(dispatcher.started.wait())
        await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if task.done() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]  # e.g. DispatcherBusy on SQLite
        if schedule:
            scheduler.start(broadcaster.fire)
        try:
            yield Running(broadcaster, dispatcher, task)
        finally:
            stop.set()
            scheduler.close()
            await asyncio.gather(task, return_exceptions=True)


def _threadsafe(dispatcher: Dispatcher) -> Callable[[], None]:
    loop = asyncio.get_running_loop()

    def wake() -> None:
        loop.call_soon_threadsafe(dispatcher.wake)

    return wake


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop when it is installed (it is, through sanic): the
    dispatcher is CPU-bound in the HTTP client at high concurrency, and uvloop
    roughly halves the event loop's share."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    uvloop.install()
    return asyncio.run(main)


def ticket_service(settings: Settings, clock: Callable[[], float] | None = None) -> TicketService:
    """The back office of this process (see `tickets.factory`), on the migrated engine."""
    import time

    return build_tickets(settings, clock or time.time, engine=open_engine(settings))

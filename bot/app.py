"""The staff application: the broadcaster's HTTP API, with the dispatcher and the
scheduler of notices running in the same process, and the tickets' API
(`console.tickets_api`) over one `TicketService` of the process, and the staff
console (`console.web`: pages for broadcasts, tickets and the grid directory, with
accounts, roles and sessions) on every path outside /api, in the same process, so
that its live progress reads what this dispatcher writes and its tickets go
through the same service.

`create_app(settings)` wires it (the only place that does); the dispatcher,
scheduler, engine and HTTP session are opened in `app.cleanup_ctx` and closed on
shutdown. `serve(settings)` runs it on `settings.host:settings.staff_port`.

The bearer token is `STAFF_API_TOKEN`; without one, a token is generated once
into `DATA_DIR/staff_token` (mode 0600) and read from there on later starts.
The token itself is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.compose import open_engine, running, ticket_service
from console import pages_insight, pages_knowledge, tickets_api
from console import staff_api as api
from console import web as console_web
from console.accounts import AccountStore
from console.audit import AuditLog
from console.sessions import SessionPolicy, SessionStore
from core.clock import shanghai_now
from core.secret_files import read_or_create
from core.settings import Settings, check_secret, make_private
from grids.service import DirectoryService
from insight import runner as statistics_runner
from insight.ingest import Source
from knowledge.service import KnowledgeBase
from tickets.notifier import Notifier

logger = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
RUNNING = api.RUNNING          # the dispatcher + scheduler of this process
STOP = web.AppKey("broadcast_stop", asyncio.Event)
BACK_OFFICE_STOP = web.AppKey("back_office_stop", asyncio.Event)
STATISTICS_STOP = web.AppKey("statistics_stop", asyncio.Event)
TIMER_SWEEP = 30.0   # seconds between looks at the tickets' timers
TOKEN_FILE = "staff_token"


def token_path(settings: Settings) -> Path:
    return settings.data_dir / TOKEN_FILE


def staff_token(settings: Settings) -> str:
    """STAFF_API_TOKEN, else the token file (created with a new token if missing)."""
    if settings.staff_token:
        return check_secret("STAFF_API_TOKEN", settings.staff_token)
    path = token_path(settings)
    make_private(path.parent)
    token = read_or_create(path, lambda: secrets.token_urlsafe(24), "Staff API token")
    logger.info("Staff API token in %s (send it as 'Authorization: Bearer <token>')", path)
    return token


async def broadcasting(app: web.Application) -> AsyncIterator[None]:
    """Dispatcher and scheduler for the lifetime of the app."""
    stop = asyncio.Event()
    async with running(app[SETTINGS], stop) as run:
        run.task.add_done_callback(_report_dispatcher_end)
        app[STOP] = stop
        app[RUNNING] = run
        yield
        stop.set()


async def stop_broadcasting(app: web.Application) -> None:
    """On shutdown, before the graceful wait: `web.run_app` waits (up to its
    shutdown timeout) for every task started after start-up, and the dispatcher
    keeps some alive until `stop` is set."""
    for key in (STOP, BACK_OFFICE_STOP, STATISTICS_STOP):
        stop = app.get(key)
        if stop is not None:
            stop.set()


async def ticketing(app: web.Application) -> AsyncIterator[None]:
    """The back office of this process (engine migrated, offices, holiday calendar,
    grid coordinators), built once, before the dispatcher starts: if it cannot be
    built, nothing is left running."""
    service = await asyncio.to_thread(ticket_service, app[SETTINGS])
    app[tickets_api.TICKETS] = service
    warning = service.calendar.warning(shanghai_now().date())
    if warning:
        logger.warning("%s", warning)
    yield


async def back_office(app: web.Application) -> AsyncIterator[None]:
    """The tickets' timers (yellow reminders, red escalations; swept every
    `TIMER_SWEEP` seconds, inside working hours only) and the notifier that sends what
    the back office says to people, for the lifetime of the app."""
    settings, service = app[SETTINGS], app[tickets_api.TICKETS]
    stop = asyncio.Event()
    worker = f"staff-{os.getpid()}"

    async def timers() -> None:
        while not stop.is_set():
            try:
                fired = await asyncio.to_thread(service.sweep, worker)
                if fired:
                    logger.info("Ticket timers fired: %s", ", ".join(
                        f"{f.number} {f.kind}{f.level or ''}" for f in fired))
            except Exception:
                logger.exception("Ticket timer sweep failed; trying again")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=TIMER_SWEEP)

    onebot = (settings.onebot_api_url, settings.onebot_access_token) \
        if settings.onebot_api_url else None
    async with aiohttp.ClientSession() as session:
        notifier = Notifier(service.engine, session, onebot=onebot)
        tasks = {asyncio.create_task(timers(), name="ticket-timers"),
                 asyncio.create_task(notifier.run(stop), name="ticket-notifier")}
        app[BACK_OFFICE_STOP] = stop
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)


async def statistics(app: web.Application) -> AsyncIterator[None]:
    """The statistics' ingester (`insight.runner`): tails the SQL event broker's table
    (see `bot.serve.runtime_endpoints`) into the facts of the statistics page; with
    EVENT_BROKER_URL it consumes Rasa's RabbitMQ queue first (`insight.consumer`)."""
    from core.db import engine_for

    settings, stop = app[SETTINGS], asyncio.Event()
    engine = await asyncio.to_thread(open_engine, settings)
    tasks = set()
    if settings.event_broker_url:   # Rasa's Pika broker: consume the queue into the app DB
        from insight.consumer import consume

        source = Source.pika(engine)
        tasks.add(asyncio.create_task(_consuming(consume, engine, stop, settings),
                                      name="statistics-consumer"))
    else:
        url = statistics_runner.broker_database_url(settings.database_url, settings.data_dir)
        source = Source.sql_broker(engine_for(url))
    tasks.add(asyncio.create_task(statistics_runner.run(
        engine, stop, source=source, secret=statistics_runner.secret_in(settings.data_dir)),
        name="statistics-ingester"))
    app[STATISTICS_STOP] = stop
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _consuming(consume: Callable[..., Awaitable[None]], engine: Engine, stop: asyncio.Event,
                     settings: Settings) -> None:
    """Keep consuming RabbitMQ until `stop`: a broker that is down or drops the
    connection is retried with backoff (messages wait in the durable queue)."""
    delay = 1.0
    while not stop.is_set():
        try:
            await consume(engine, stop, url=settings.event_broker_url)
            delay = 1.0
        except Exception as exc:  # any failure: log, back off, retry
            logger.warning("Statistics: RabbitMQ consumer stopped (%s); retrying in %.0f s",
                           exc, delay)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 60.0)


def _report_dispatcher_end(task: asyncio.Task[object]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        logger.error("The broadcast dispatcher stopped: %s; notices will not be sent until "
                     "the staff API is restarted", exc, exc_info=exc)


CONSOLE_REFRESH = 5.0   # seconds the console's copy of the grid directory may be behind


def console_for(settings: Settings, engine: Engine,
                policy: SessionPolicy | None = None) -> console_web.Console:
    """The console's stores on the process's (migrated) engine."""
    make_private(settings.data_dir)
    return console_web.Console(
        engine=engine, accounts=AccountStore(engine), sessions=SessionStore(engine, policy),
        audit=AuditLog(engine), directory=DirectoryService(engine, refresh_seconds=CONSOLE_REFRESH),
        uploads=settings.data_dir / "console_uploads")


def knowledge_for(settings: Settings) -> KnowledgeBase:
    """The knowledge base of the console: seeded from data/answers (`bot.kb`); a project
    directory without data/answers and domain.yml (a test's) gets an unseeded one."""
    from bot.kb import answers_dir, open_knowledge_base

    if answers_dir(settings).is_dir() and (settings.project_dir / "domain.yml").is_file():
        return open_knowledge_base(settings)
    logger.warning("No data/answers under %s: the knowledge base is not seeded",
                   settings.project_dir)
    return KnowledgeBase(open_engine(settings))


def create_app(settings: Settings, *, session_policy: SessionPolicy | None = None
               ) -> web.Application:
    """The staff app: the JSON API under /api (bearer token) and the staff console
    (every other path: accounts, sessions, CSRF) over the same services."""
    app = web.Application(middlewares=[*api.middlewares(), tickets_api.errors],
                          client_max_size=api.MAX_BODY)
    app[SETTINGS] = settings
    app[api.STAFF_TOKEN] = staff_token(settings)
    app.cleanup_ctx.append(ticketing)      # first: a failure there leaves nothing running
    app.cleanup_ctx.append(back_office)
    app.cleanup_ctx.append(broadcasting)
    app.cleanup_ctx.append(statistics)
    # aiohttp 3.9 declares its signals in a way aiosignal 1.4's typing does not accept
    app.on_shutdown.append(stop_broadcasting)  # type: ignore[arg-type]
    api.setup(app)
    tickets_api.setup(app)
    console_web.setup(app, console_for(settings, open_engine(settings), session_policy))
    pages_insight.setup(app)
    pages_knowledge.setup(app, knowledge_for(settings))
    return app


def serve(settings: Settings) -> int:
    """Run the staff API (blocking) until interrupted; returns an exit code."""
    app = create_app(settings)
    logger.info("Staff API on http://%s:%d/api and the staff console on / (broadcast "
                "dispatcher and scheduler in this process)", settings.host, settings.staff_port)
    try:
        web.run_app(app, host=settings.host, port=settings.staff_port, print=None)
    except OSError as exc:
        logger.error("Cannot serve the staff API on %s:%d: %s", settings.host,
                     settings.staff_port, exc)
        return 1
    return 0

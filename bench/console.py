"""The staff console's render time, next to the same data through the staff JSON API
in the same run (printed as ratios), on SQLite and on PostgreSQL:

- the tickets inbox (a page of 50, by deadline, with lights) over 10,000 open tickets,
  against `GET /api/tickets?limit=50`;
- the progress page of a notice to 805 groups (counts and the per-group table), against
  `GET /api/notices/{id}` + `GET /api/notices/{id}/deliveries?limit=5000`.

Both run on the real staff app (`bot.app.create_app`) in this process, over HTTP on
127.0.0.1, one request at a time after a warm-up; p50 and p95 of `--requests` each.
PostgreSQL (127.0.0.1:5432, database `test`) gets a schema of its own, dropped at the
end; without a server that half is skipped. Figures are printed, never asserted.

    .venv/bin/python bench/console.py [--requests 60] [--tickets 10000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from aiohttp.test_utils import TestServer
from sqlalchemy import create_engine, insert, text

from bot.app import create_app
from bot.compose import open_engine
from broadcast.model import NoticeDraft, Targets
from broadcast.outbox import Outbox
from console.accounts import AccountStore
from console.permissions import Role
from console.tickets_api import TICKETS
from core.settings import Settings
from tests.fakes.broadcast import FakeGroupPlatforms
from tests.fakes.broadcast_directory import pointed_at, seed
from tickets.model import Person, TicketDraft
from tickets.service import REMIND
from tickets.tables import TicketRow, TimerRow

PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
TOKEN = "bench-console-token-0123456789"
PASSWORD = "bench-password-42"


def add_tickets(service: object, count: int) -> None:
    """`count` open tickets spread over the grids and deadlines: one made by the service,
    the rest copies of its row (bulk insert) with their yellow-reminder timers."""
    from tickets.service import TicketService

    assert isinstance(service, TicketService)
    first, _ = service.create(TicketDraft(question="公司拖欠我三个月工资，电话13812345678",
                                          asker=Person("onebot", "20002", "王师傅"),
                                          group_id="qq-group-1", grid_code="D001-S01-C01-G01",
                                          topic="wage_arrears"))
    with service.session() as session, session.begin():
        row = session.get(TicketRow, first.id)
        template = {c.name: getattr(row, c.name) for c in TicketRow.__table__.columns
                    if c.name != "id"}
        grids = [f"D001-S{s:02d}-C{c:02d}-G01" for s in range(1, 11) for c in range(1, 11)]
        now = time.time()
        rows = [{**template, "grid_code": grids[i % len(grids)], "generation": 1,
                 "respond_by": now + (i % 97 - 20) * 3600, "resolve_by": now + (i % 89) * 7200,
                 "clock_started_at": now - 3600, "question": f"问题 {i}：工资被拖欠怎么办"}
                for i in range(count - 1)]
        for start in range(0, len(rows), 2000):
            session.execute(insert(TicketRow), rows[start:start + 2000])
        ids = session.execute(text("SELECT id FROM tk_tickets WHERE id > :first"),
                              {"first": first.id}).scalars().all()
        timers = [{"ticket_id": i, "kind": REMIND, "level": 0, "generation": 1,
                   "due_at": now + (i % 5 - 2) * 3600} for i in ids]
        for start in range(0, len(timers), 2000):
            session.execute(insert(TimerRow), timers[start:start + 2000])
    if service.engine.dialect.name == "postgresql":   # statistics, as autovacuum would
        with service.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE tk_tickets; ANALYZE tk_timers")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def timed(session: aiohttp.ClientSession, urls: list[str], requests: int,
                headers: dict[str, str] | None = None) -> tuple[float, float, int]:
    """p50, p95 (ms) of fetching every url of `urls` in turn, and the bytes of one round."""
    size = 0
    for url in urls:                                  # warm-up
        async with session.get(url, headers=headers) as resp:
            assert resp.status == 200, (url, resp.status, await resp.text())
            size += len(await resp.read())
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        for url in urls:
            async with session.get(url, headers=headers) as resp:
                await resp.read()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), percentile(samples, 0.95), size


async def wait_done(outbox: Outbox, notice_id: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = await asyncio.to_thread(outbox.report, notice_id)
        if report.total and not report.open:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("the 805-group notice did not finish")


async def run(label: str, url: str, root: Path, args: argparse.Namespace) -> None:
    async with FakeGroupPlatforms(onebot_limit=(2000, 1.0)) as fake:
        settings = Settings.from_env(env={
            "DATABASE_URL": url, "DATA_DIR": str(root / "var"), "STAFF_API_TOKEN": TOKEN,
            "ONEBOT_API_URL": fake.onebot_base_url, "BROADCAST_LIMIT_ONEBOT": "1000/1:200"},
            project_dir=root)
        engine = open_engine(settings)
        seed(engine, pointed_at(fake, one_per_grid=True))
        AccountStore(engine).add("bench", PASSWORD, role=Role.ADMIN)
        app = create_app(settings)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            print(f"[{label}] {args.tickets} open tickets …", flush=True)
            await asyncio.to_thread(add_tickets, app[TICKETS], args.tickets)
            outbox = Outbox(engine)
            notice_id = await asyncio.to_thread(outbox.create, NoticeDraft(
                "冬季送温暖", "各网格请于本周五前报送困难职工名单。", "区总工会",
                Targets(everyone=True)))
            from console.staff_api import RUNNING

            app[RUNNING].dispatcher.wake()
            await wait_done(outbox, notice_id)
            total = (await asyncio.to_thread(outbox.report, notice_id)).total
            base = str(server.make_url("")).rstrip("/")
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as session:
                async with session.get(f"{base}/login") as login_page:
                    csrf = (await login_page.text()).split('name="_csrf" value="')[1].split('"')[0]
                async with session.post(f"{base}/login", data={
                        "_csrf": csrf, "username": "bench", "password": PASSWORD}) as resp:
                    assert resp.status == 200 and "/login" not in str(resp.url), resp.url
                auth = {"Authorization": f"Bearer {TOKEN}"}
                inbox = await timed(session, [f"{base}/tickets?status=all"], args.requests)
                api_list = await timed(session, [f"{base}/api/tickets?limit=50"], args.requests,
                                       auth)
                page = await timed(session, [f"{base}/broadcasts/{notice_id}"], args.requests)
                api_notice = await timed(session, [
                    f"{base}/api/notices/{notice_id}",
                    f"{base}/api/notices/{notice_id}/deliveries?limit=5000"], args.requests, auth)
            print(f"[{label}] tickets inbox ({args.tickets} open, page of 50): p50 "
                  f"{inbox[0]:.1f} ms, p95 {inbox[1]:.1f} ms ({inbox[2] // 1024} KB) | JSON API "
                  f"p50 {api_list[0]:.1f} ms, p95 {api_list[1]:.1f} ms ({api_list[2] // 1024} KB)"
                  f" | p95 ratio {inbox[1] / api_list[1]:.2f}")
            print(f"[{label}] progress page ({total} groups): p50 {page[0]:.1f} ms, p95 "
                  f"{page[1]:.1f} ms ({page[2] // 1024} KB) | JSON API (notice + deliveries) "
                  f"p50 {api_notice[0]:.1f} ms, p95 {api_notice[1]:.1f} ms "
                  f"({api_notice[2] // 1024} KB) | p95 ratio {page[1] / api_notice[1]:.2f}",
                  flush=True)
        finally:
            await server.close()
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "sqlite").mkdir()
        asyncio.run(run("SQLite", f"sqlite:///{root / 'sqlite' / 'console.db'}", root / "sqlite",
                        args))
        if args.no_postgres:
            return
        schema = f"console_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_SERVER, future=True)
        try:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as exc:  # no server: that half is skipped
            print(f"[PostgreSQL] skipped: {exc.__class__.__name__}")
            return
        try:
            (root / "pg").mkdir()
            asyncio.run(run("PostgreSQL", f"{PG_SERVER}?options=-csearch_path%3D{schema}",
                            root / "pg", args))
        finally:
            from core import db

            db.dispose_all()
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()

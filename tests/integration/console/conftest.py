"""Fixtures of the staff console's tests: the real staff app (`bot.app.create_app`,
with its dispatcher, scheduler, notifier and one TicketService) over a temporary
SQLite database holding the fictitious directory, whose robots are a
`FakeGroupPlatforms`; one account of each profile; logged-in clients."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.compose import open_engine
from console.accounts import AccountStore
from console.permissions import Role
from console.sessions import SessionPolicy
from core.settings import Settings
from tests.fakes.broadcast import FakeGroupPlatforms
from tests.fakes.broadcast_directory import pointed_at, seed
from tickets.model import Kind, Person, TicketDraft
from tickets.service import TicketService

PASSWORD = "correct-horse-9"
STREET = "D001-S01"                  # 联盟街道 in the sample
COORDINATOR = "D001-P0001"           # the coordinator of D001-S01-C01-G01
OWN_GRID = "D001-S01-C01-G01"
OTHER_GRID = "D001-S02-C01-G01"      # another street's grid
ACCOUNTS: dict[str, dict[str, Any]] = {
    "admin": {"role": Role.ADMIN, "display_name": "管理员老周"},
    "district": {"role": Role.STAFF, "display_name": "区总李干事"},
    "street": {"role": Role.STAFF, "display_name": "街道王干事", "street_code": STREET},
    "coordinator": {"role": Role.COORDINATOR, "display_name": "网格员曾娜建",
                    "coordinator_code": COORDINATOR},
}
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def settings_for(root: Path, fake: FakeGroupPlatforms) -> Settings:
    return Settings.from_env(env={
        "DATABASE_URL": f"sqlite:///{root / 'console.db'}", "DATA_DIR": str(root / "var"),
        "STAFF_API_TOKEN": "test-staff-token-0123456789",
        "ONEBOT_API_URL": fake.onebot_base_url,
        "BROADCAST_LIMIT_ONEBOT": "50/1:20"}, project_dir=root)


class Client:
    """An HTTP client with its own cookies (a browser's), on the test server."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.session.get(self.server.make_url(path), **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.session.post(self.server.make_url(path), **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.session.request(method, self.server.make_url(path), **kwargs)

    async def close(self) -> None:
        await self.session.close()


@dataclass
class Browser:
    """A logged-in (or not) HTTP client of the console, with its CSRF token."""

    client: Client
    csrf: str = ""
    body: bytes = b""     # of the latest GET

    async def login(self, username: str, password: str = PASSWORD,
                    headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        async with self.client.get("/login") as page:
            token = CSRF.search(await page.text())
        assert token is not None
        resp = await self.client.post("/login", data={
            "_csrf": token.group(1), "username": username, "password": password},
            allow_redirects=False, headers=headers)
        await resp.read()
        if resp.status == 303:
            async with self.client.get("/") as home:
                found = CSRF.search(await home.text())
                self.csrf = found.group(1) if found else ""
        return resp

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.client.get(path, allow_redirects=False, **kwargs) as resp:
            self.body = await resp.read()
            return resp.status, self.body.decode("utf-8", "replace"), resp

    async def post(self, path: str, data: Any = None, *, csrf: bool = True,
                   **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        if isinstance(data, dict) and csrf:
            data = {"_csrf": self.csrf, **data}
        elif data is None and csrf:
            data = {"_csrf": self.csrf}
        async with self.client.post(path, data=data, allow_redirects=False, **kwargs) as resp:
            return resp.status, await resp.text(), resp


@dataclass
class Desk:
    server: TestServer
    settings: Settings
    fake: FakeGroupPlatforms
    service: TicketService
    browsers: dict[str, Browser] = field(default_factory=dict)

    async def browser(self, username: str | None = None) -> Browser:
        client = Client(self.server)
        browser = Browser(client)
        self._clients.append(client)
        if username is not None:
            resp = await browser.login(username)
            assert resp.status == 303, await resp.text()
        return browser

    def __post_init__(self) -> None:
        self._clients: list[Client] = []

    def ticket(self, grid: str | None = OWN_GRID, question: str = "公司拖欠我三个月工资，怎么办",
               group: tuple[str, str] | None = None, **kwargs: Any) -> str:
        platform, group_id = group or ("onebot", "qq-group-1")
        draft = TicketDraft(question=question, asker=Person(platform, "20002", "王师傅"),
                            group_id=group_id, grid_code=grid, topic=kwargs.get(
                                "topic", "wage_arrears"), kind=kwargs.get("kind", Kind.HELP))
        ticket, _ = self.service.create(draft)
        return ticket.number

    async def close(self) -> None:
        for client in self._clients:
            await client.close()


def make_accounts(settings: Settings) -> AccountStore:
    store = AccountStore(open_engine(settings))
    for username, spec in ACCOUNTS.items():
        store.add(username, PASSWORD, **spec)
    return store


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeGroupPlatforms]:
    async with FakeGroupPlatforms(onebot_limit=(60, 1.0)) as platforms:
        yield platforms


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory,
               fake: FakeGroupPlatforms) -> AsyncIterator[Desk]:
    """One app per test module (each test makes its own tickets and notices)."""
    settings = settings_for(tmp_path_factory.mktemp("console"), fake)
    async with serving(settings, fake, SessionPolicy(per_account=5, per_address=50)) as desk:
        yield desk


@contextlib.asynccontextmanager
async def serving(settings: Settings, fake: FakeGroupPlatforms,
                  policy: SessionPolicy) -> AsyncIterator[Desk]:
    """The staff app on `settings` (directory seeded, accounts made) in a test server."""
    engine = open_engine(settings)
    seed(engine, pointed_at(fake))
    make_accounts(settings)
    app = create_app(settings, session_policy=policy)
    server = TestServer(app)
    await server.start_server()
    from console.tickets_api import TICKETS

    desk = Desk(server, settings, fake, app[TICKETS])
    try:
        yield desk
    finally:
        await desk.close()
        await server.close()


def declared_routes() -> list[tuple[str, str]]:
    """(method, path) of every page the console's modules declare (collected at import,
    so that tests can be parametrized by them), the login page included."""
    from console import (
        pages_auth,
        pages_broadcast,
        pages_grids,
        pages_insight,
        pages_knowledge,
        pages_tickets,
    )

    return [(d.method, d.path) for module in (pages_auth, pages_tickets, pages_broadcast,
                                              pages_grids, pages_knowledge, pages_insight)
            for d in module.routes.declared]

"""The staff console in a real browser (Debian chromium driven by Playwright) on the
real staff app (dispatcher, notifier, TicketService) against the fake platforms:
log in, send a notice to one street and watch it reach 100%, answer a ticket and
see the answer arrive in the fake group, import a broken spreadsheet and see the
row errors with nothing written, a coordinator kept out of another grid's ticket,
a forged form refused. Every page is saved as a screenshot (desktop and phone
width) under var/screenshots/console/<test-name>/ for a person to look at."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from sqlalchemy.orm import Session

from bot.app import create_app
from bot.compose import open_engine
from console.tickets_api import TICKETS
from grids import repository
from tests.fakes.broadcast import FakeGroupPlatforms
from tests.fakes.broadcast_directory import pointed_at, seed
from tests.integration.console.conftest import (
    OTHER_GRID,
    OWN_GRID,
    PASSWORD,
    Desk,
    make_accounts,
    settings_for,
)
from tickets.model import Person, TicketDraft

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = [pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed")]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "console"
PHONE = {"width": 390, "height": 844}
BROKEN = "街道编码,街道名称,所属区县\n,无编码街道,示例区\nD001-S77,新街道,\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Desk]:
    async with FakeGroupPlatforms(onebot_limit=(60, 1.0)) as fake:
        settings = settings_for(tmp_path_factory.mktemp("console-e2e"), fake)
        seed(open_engine(settings), pointed_at(fake))
        make_accounts(settings)
        app = create_app(settings)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield Desk(server, settings, fake, app[TICKETS])
        finally:
            await server.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            yield chromium
        finally:
            await chromium.close()


class Shots:
    """Screenshots of one test: var/screenshots/console/<test>/NN-name.png."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.folder = SCREENSHOTS / request.node.name.replace("test_", "", 1)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    async def take(self, page: Any, name: str) -> None:
        self.count += 1
        await page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"),
                              full_page=True)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request)


async def _page(browser: Any, desk: Desk, *, phone: bool = False) -> Any:
    context = await browser.new_context(viewport=PHONE if phone else {"width": 1280,
                                                                      "height": 900},
                                        base_url=str(desk.server.make_url("")).rstrip("/"),
                                        locale="zh-CN", is_mobile=phone)
    return await context.new_page()


async def _login(page: Any, username: str, shots: Shots | None = None) -> None:
    await page.goto("/")
    assert "/login" in page.url
    if shots is not None:
        await shots.take(page, "login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)


async def test_log_in_and_find_the_pages(browser: Any, desk: Desk, shots: Shots) -> None:
    page = await _page(browser, desk)
    await _login(page, "admin", shots)
    assert await page.locator("h1").inner_text() == "您好，管理员老周"
    nav = await page.locator("nav.nav a").all_inner_texts()
    assert nav[:3] == ["工单", "群发通知", "网格目录"] and "审计日志" in nav
    for href in await page.locator("nav.nav a").evaluate_all("els => els.map(e => e.href)"):
        assert (await page.request.get(href)).status == 200, href   # no dead links
    await shots.take(page, "home")
    for path, name in (("/tickets", "tickets"), ("/grids", "grids"),
                       (f"/grids/{OWN_GRID}", "grid"), ("/communities/D001-S01-C01", "community"),
                       ("/offices/D001-O003", "office"), ("/audit", "audit")):
        await page.goto(path)
        assert await page.locator("h1").count() == 1
        await shots.take(page, name)
    phone = await _page(browser, desk, phone=True)
    await _login(phone, "district")
    for path, name in (("/", "phone-home"), ("/tickets", "phone-tickets"),
                       (f"/grids/{OWN_GRID}", "phone-grid")):
        await phone.goto(path)
        await shots.take(phone, name)
    # nothing is wider than the phone's screen
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1


async def test_send_a_notice_to_one_street_and_watch_it_land(browser: Any, desk: Desk,
                                                            shots: Shots) -> None:
    page = await _page(browser, desk)
    await _login(page, "district")
    await page.goto("/broadcasts/new")
    await page.fill("#title", "停水通知")
    await page.fill("#body", "明天 8:00-12:00 联盟街道停水，请提前储水。\n\n如有疑问请联系社区工会服务站。")
    await page.locator("ul.tree > li > details > summary").first.click()   # open 联盟街道
    await page.check("input[name=street][value='D001-S01']")
    assert "已选" in await page.locator("#selected-count").inner_text()
    await page.click("#preview-button")
    await page.locator(".preview-platform").first.wait_for()
    assert await page.locator(".preview-platform h3").count() == 5
    await shots.take(page, "compose-preview")
    before = len(desk.fake.received)
    await page.click("#send-button")
    await page.wait_for_url("**/broadcasts/*")
    await page.locator("#percent", has_text="100%").wait_for(timeout=60_000)
    await page.locator("#live-state", has_text="已完成").wait_for(timeout=10_000)
    sent = int(await page.locator("#count-sent").inner_text())
    total = int(await page.locator("#total").inner_text())
    assert sent == total > 0
    rows = page.locator("#deliveries tbody tr")
    assert await rows.count() == total
    assert await page.locator("#deliveries tbody tr.state-sent").count() == total
    assert len(desk.fake.received) > before
    assert any("停水通知" in r.text for r in desk.fake.received[before:])
    await shots.take(page, "progress-100")
    phone = await _page(browser, desk, phone=True)
    await _login(phone, "district")
    await phone.goto(page.url.replace(str(desk.server.make_url("")).rstrip("/"), ""))
    await shots.take(phone, "phone-progress")
    await phone.goto("/broadcasts/new")
    await shots.take(phone, "phone-compose")


def _fake_group(desk: Desk) -> tuple[str, str]:
    with Session(open_engine(desk.settings), future=True) as session:
        found = next(p.group for p in repository.placed_groups(session)
                     if p.group.grid_code == OWN_GRID and p.group.platform != "web")
    return found.platform, found.external_id


async def test_answer_a_ticket_and_see_it_arrive_in_the_group(browser: Any, desk: Desk,
                                                             shots: Shots) -> None:
    platform, group_id = _fake_group(desk)
    ticket, _ = desk.service.create(TicketDraft(
        question="公司拖欠我三个月工资，电话13812345678，怎么办", asker=Person(platform, "wx-asker", "王师傅"),
        group_id=group_id, grid_code=OWN_GRID, topic="wage_arrears"))
    page = await _page(browser, desk)
    await _login(page, "coordinator")
    await page.goto("/tickets")
    await shots.take(page, "inbox")
    await page.click(f"a.number:has-text('{ticket.number}')")
    assert "138****5678" in await page.locator(".question-full").inner_text()
    await shots.take(page, "ticket")
    before = len(desk.fake.received)
    await page.fill("#answer-form textarea", "请带劳动合同到联盟街道工会服务站，周一至周五 9:00 办理。")
    await page.click("#answer-form button[type=submit]")
    await page.locator("p.ok", has_text="已答复").wait_for()
    await shots.take(page, "answered")
    arrived = await desk.fake.wait_received(before + 1, timeout=20)
    answers = [r for r in arrived[before:] if "请带劳动合同到联盟街道工会服务站" in r.text]
    assert answers and answers[0].platform == platform and "王师傅" in answers[0].text
    # and transfer another one to a back office
    other, _ = desk.service.create(TicketDraft(
        question="单位不签劳动合同", asker=Person(platform, "wx-asker", "王师傅"), group_id=group_id,
        grid_code=OWN_GRID, topic="labor_contract"))
    await page.goto(f"/tickets/{other.number}")
    await page.select_option("#transfer-form select", "法律援助中心")
    await page.fill("#transfer-form input[name=reason]", "需要律师")
    await page.click("#transfer-form button[type=submit]")
    await page.locator("p.ok", has_text="已转办").wait_for()
    assert desk.service.get(other.number).office_code == "flyz"
    await shots.take(page, "transferred")


async def test_a_broken_spreadsheet_shows_row_errors_and_writes_nothing(
        browser: Any, desk: Desk, shots: Shots, tmp_path: Path) -> None:
    def revision() -> int:
        with Session(open_engine(desk.settings), future=True) as session:
            return repository.revision(session)

    before = revision()
    broken = tmp_path / "streets.csv"
    broken.write_text(BROKEN, encoding="utf-8")
    page = await _page(browser, desk)
    await _login(page, "district")
    await page.goto("/grids/import")
    await shots.take(page, "import-form")
    await page.set_input_files("input[type=file]", str(broken))
    await page.click("#import-form button[type=submit]")
    await page.locator("#import-errors").wait_for()
    rows = await page.locator("#import-errors tbody tr").all_inner_texts()
    assert len(rows) == 2
    assert rows[0].split("\t")[:3] == ["streets.csv", "2", "1（街道编码）"]
    assert "数据库未作任何修改" in await page.locator("#import-errors-title").inner_text()
    assert await page.locator("#apply-form").count() == 0
    assert revision() == before
    await shots.take(page, "import-errors")
    phone = await _page(browser, desk, phone=True)
    await _login(phone, "district")
    await phone.goto("/grids/import")
    await phone.set_input_files("input[type=file]", str(broken))
    await phone.click("#import-form button[type=submit]")
    await phone.locator("#import-errors").wait_for()
    await shots.take(phone, "phone-import-errors")


async def test_a_coordinator_cannot_open_another_grids_ticket(browser: Any, desk: Desk,
                                                             shots: Shots) -> None:
    theirs = desk.ticket(grid=OTHER_GRID)
    page = await _page(browser, desk)
    await _login(page, "coordinator")
    response = await page.goto(f"/tickets/{theirs}")                # by link
    assert response.status == 404
    assert "不在您负责的范围内" in await page.locator("p.error").inner_text()
    await shots.take(page, "by-link")
    await page.goto("/tickets")
    await page.fill("form.find input[name=number]", str(int(theirs[2:])))   # by id
    await page.click("form.find button")
    await page.wait_for_load_state()
    assert "不在您负责的范围内" in await page.locator("p.error").inner_text()
    assert await page.locator(f"text={theirs}").count() <= 1         # only in the message
    await shots.take(page, "by-id")


async def test_a_forged_form_without_the_csrf_token_is_refused(browser: Any, desk: Desk,
                                                              shots: Shots) -> None:
    number = desk.ticket()
    page = await _page(browser, desk)
    await _login(page, "district")
    await page.goto(f"/tickets/{number}")
    await page.evaluate("document.querySelector('#answer-form input[name=_csrf]').remove()")
    await page.fill("#answer-form textarea", "伪造的答复")
    await page.click("#answer-form button[type=submit]")
    await page.locator("p.error").wait_for()
    assert "缺少安全令牌" in await page.locator("p.error").inner_text()
    assert desk.service.get(number).answer is None
    await shots.take(page, "refused")

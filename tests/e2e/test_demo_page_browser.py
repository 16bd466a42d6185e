"""The demo page in a real browser (Debian chromium driven by Playwright): a
member @-mentions 云博士 in the simulated grid group and sees its answer; a notice
the union broadcasts to that grid appears in the open page."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.fakes.stack import RasaStack

pytestmark = pytest.mark.model

CHROMIUM = shutil.which("chromium")  # Debian's package; `make test` installs it
DEMO_GROUP = "web-d001-s01-c01-g01"   # the group the demo page simulates
DEMO_GRID = "D001-S01-C01-G01"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed")
async def test_member_asks_in_the_demo_page_and_sees_the_answer(rasa_stack: RasaStack) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = await browser.new_page()
            await page.goto(f"{rasa_stack.url}/webhooks/webchat/")
            await page.fill("#text", "谁家的快递放错了")          # chatter: the bot stays quiet
            await page.click("#send")
            await page.fill("#text", "@云博士 农民工怎么入会？")
            await page.click("#send")
            bot = page.locator(".msg.bot .bubble")
            await bot.first.wait_for(timeout=60_000)
            answer = await bot.first.inner_text()
            assert answer.startswith("@王师傅 ")
            assert "入会" in answer
            assert await bot.count() == 1
            # for a person to look at (var/ is not committed): the page as a member sees it
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "demo_page.png"), full_page=True)
        finally:
            await browser.close()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


async def dispatch_notice(database_url: str, title: str, body: str) -> int:
    """Staff broadcast a notice to the demo page's grid (web rooms only) and a
    dispatcher delivers it; returns the notice id."""
    import aiohttp

    from broadcast.db import upgrade
    from broadcast.dispatcher import Dispatcher
    from broadcast.model import NoticeDraft, Targets
    from broadcast.outbox import Outbox
    from broadcast.senders import Senders
    from grids import db

    engine = db.engine_for(database_url)
    upgrade(engine)
    outbox = Outbox(engine)
    notice_id = outbox.create(NoticeDraft(title, body, "区总工会",
                                          Targets.parse([f"grid:{DEMO_GRID}"], ["web"])))
    async with aiohttp.ClientSession() as session:
        await Dispatcher(outbox, Senders(session)).run(asyncio.Event(), until_idle=True)
    assert outbox.report(notice_id).counts.get("sent") == 1
    return notice_id


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed")
async def test_a_broadcast_notice_appears_in_the_open_demo_page(rasa_stack: RasaStack,
                                                                grid_database: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page()
            await page.goto(f"{rasa_stack.url}/webhooks/webchat/")
            await dispatch_notice(grid_database, "停水通知", "明天上午八点至十二点福景社区停水。")
            notice = page.locator(".msg.notice .bubble")
            await notice.first.wait_for(timeout=15_000)
            text = await notice.first.inner_text()
            assert "停水通知" in text and "福景社区停水" in text
            await page.reload()  # a page opened later shows the latest notices too
            await page.locator(".msg.notice .bubble").first.wait_for(timeout=15_000)
            assert await page.locator(".msg.notice .bubble").count() == 1
        finally:
            await browser.close()


async def test_notice_feed_answers_bad_requests_in_chinese(rasa_stack: RasaStack) -> None:
    import aiohttp

    base = f"{rasa_stack.url}/webhooks/webchat/notices"
    async with aiohttp.ClientSession() as session:
        for query, status, words in [
            ("", 400, "缺少 group_id"),
            (f"?group_id={DEMO_GROUP}&after=abc", 400, "非负整数"),
            (f"?group_id={DEMO_GROUP}&after={'1' * 23}", 400, "超出范围"),
            ("?group_id=web-nope", 404, "没有这个网页群"),
        ]:
            async with session.get(base + query) as res:
                assert res.status == status
                assert words in (await res.json())["error"]
        async with session.get(f"{base}?group_id={DEMO_GROUP}&after=999999") as res:
            assert res.status == 200 and (await res.json())["notices"] == []

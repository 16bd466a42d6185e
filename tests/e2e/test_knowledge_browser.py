"""The knowledge base, the unanswered queue and the statistics in a real browser
(Debian chromium driven by Playwright) over the real staff app: edit an answer with
preview, roll it back, add an unanswered question as a training example, open a
month's statistics and download a CSV whose figures are the test's, and a
coordinator sees only their grids. Screenshots of every page (desktop and phone
width) go to var/screenshots/console/<test>/ for a person to look at."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.insight_scenario import at, faq, nlu_fallback, turn
from tests.integration.console.conftest import PASSWORD, Desk
from tests.unit.console import conftest as console_kb
from tests.unit.console.conftest import OTHER_GROUP, OWN_GROUP, ingested, write_turns

desk = console_kb.desk   # the staff app over a seeded knowledge base (fixtures)
fake = console_kb.fake

pytestmark = pytest.mark.asyncio(loop_scope="module")
CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots" / "console"
FAQ = "utter_faq/join_union"
PHONE = {"width": 390, "height": 844}
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed")


class Shots:
    def __init__(self, test: str) -> None:
        self.dir = SHOTS / test
        self.dir.mkdir(parents=True, exist_ok=True)

    async def take(self, page: Any, name: str) -> None:
        await page.screenshot(path=str(self.dir / f"{name}.png"), full_page=True)


async def _browser(p: Any) -> Any:
    return await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])


async def login(context: Any, desk: Desk, username: str) -> Any:
    page = await context.new_page()
    await page.goto(str(desk.server.make_url("/login")))
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


@needs_chromium
async def test_edit_preview_and_roll_back_an_answer(desk: Desk) -> None:
    from playwright.async_api import async_playwright

    shots = Shots("edit_and_rollback")
    async with async_playwright() as p:
        browser = await _browser(p)
        try:
            context = await browser.new_context(locale="zh-CN")
            page = await login(context, desk, "district")
            await page.click("nav >> text=知识库")
            await page.wait_for_url("**/knowledge")
            await shots.take(page, "01_knowledge")
            await page.click(f"a:text-is('{FAQ}')")
            original = await page.locator("textarea[name=text]").first.input_value()
            await page.locator("textarea[name=text]").first.fill(
                "入会请带身份证到职工服务站，热线服务时间：[[hotline_hours]]。")
            await page.click("button[value=preview]")
            preview = page.locator("#preview")
            await preview.wait_for()
            assert "[[" not in await preview.inner_text()
            assert "热线服务时间：" in await preview.inner_text()
            await shots.take(page, "02_preview")
            await page.click("button[value=save]")
            await page.wait_for_selector(".ok")
            assert "已保存" in await page.locator(".ok").inner_text()
            await page.wait_for_selector("#history del")
            await shots.take(page, "03_saved_history")
            page.on("dialog", lambda dialog: dialog.accept())
            await page.locator("#history form").first.locator("button").click()
            await page.wait_for_selector(".ok >> text=已恢复")
            assert await page.locator("textarea[name=text]").first.input_value() == original
            await shots.take(page, "04_rolled_back")
            await page.goto(str(desk.server.make_url("/knowledge/fields")))
            await shots.take(page, "05_fields")
            phone = await browser.new_context(locale="zh-CN", viewport=PHONE)
            small = await login(phone, desk, "district")
            await small.goto(str(desk.server.make_url(f"/knowledge/answer?name={FAQ}")))
            await shots.take(small, "06_answer_phone")
        finally:
            await browser.close()


@needs_chromium
async def test_an_unanswered_question_becomes_a_training_example(desk: Desk) -> None:
    from playwright.async_api import async_playwright

    from console.pages_knowledge import KNOWLEDGE

    shots = Shots("queue_example")
    write_turns(desk, [turn(*OWN_GROUP, "q1", "工会卡丢了补办去哪 电话13812345678",
                            nlu_fallback("member_card"), at(3, 9, 9),
                            actions=("action_cloud_doctor_fallback",), reply="抱歉")])
    await ingested(desk, 1)
    kb = desk.server.app[KNOWLEDGE]
    pending = kb.pending_examples_count()
    async with async_playwright() as p:
        browser = await _browser(p)
        try:
            context = await browser.new_context(locale="zh-CN", viewport=PHONE)
            page = await login(context, desk, "district")
            await page.goto(str(desk.server.make_url("/queue")))
            item = page.locator(".queue-item", has_text="工会卡丢了补办去哪")
            assert "138****5678" in await item.inner_text()
            await shots.take(page, "01_queue_phone")
            await item.locator("form[action='/queue/example'] select").select_option("union_dues")
            await item.locator("form[action='/queue/example'] button").click()
            await page.wait_for_selector(".ok")
            assert await page.locator(".queue-item", has_text="工会卡丢了补办去哪").count() == 0
            assert await page.locator("#pending").inner_text() == str(pending + 1)
            await shots.take(page, "02_after_example")
        finally:
            await browser.close()
    assert any(e.text.startswith("工会卡丢了补办去哪") and e.topic == "union_dues"
               for e in kb.examples())


@needs_chromium
async def test_a_months_statistics_and_its_csv(desk: Desk, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    shots = Shots("statistics_csv")
    before = _turns(desk)
    write_turns(desk, [
        turn(*OWN_GROUP, "s1", "农民工怎么入会", faq("join_union"), at(4, 2, 9)),
        turn(*OWN_GROUP, "s2", "那个咋弄", nlu_fallback("union_dues"), at(4, 3, 9),
             actions=("action_cloud_doctor_fallback",), reply="抱歉"),
        turn(*OTHER_GROUP, "s3", "入会要什么材料", faq("join_union"), at(4, 4, 9)),
    ])
    await ingested(desk, before + 3)
    april = "/insight?from=2026-04-01&to=2026-04-30&by=street"
    async with async_playwright() as p:
        browser = await _browser(p)
        try:
            for who, expected, viewport in (("district", ("3", "3", "1"), None),
                                            ("coordinator", ("2", "2", "1"), PHONE)):
                options = {"locale": "zh-CN", "accept_downloads": True}
                if viewport:
                    options["viewport"] = viewport
                context = await browser.new_context(**options)
                page = await login(context, desk, who)
                await page.goto(str(desk.server.make_url(april)))
                await page.wait_for_selector("svg")
                await shots.take(page, f"{who}_statistics")
                link = page.locator("#t-conversation_by_none a", has_text="下载 CSV")
                async with page.expect_download() as info:
                    await link.click()
                download = await info.value
                target = tmp_path / f"{who}.csv"
                await download.save_as(str(target))
                raw = target.read_bytes()
                assert raw.startswith("\ufeff".encode())
                [row] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
                assert (row["提问数"], row["提问人数"], row["没听懂"]) == expected, who
                if who == "coordinator":
                    assert "明珠街道" not in await page.content()
        finally:
            await browser.close()


def _turns(desk: Desk) -> int:
    from sqlalchemy import func, select

    from bot.compose import open_engine
    from insight.tables import TurnRow

    with open_engine(desk.settings).connect() as c:
        return int(c.execute(select(func.count()).select_from(TurnRow.__table__)).scalar_one())

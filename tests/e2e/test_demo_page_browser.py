"""The demo page in a real browser (Debian chromium driven by Playwright): a
member @-mentions 云博士 in the simulated grid group and sees its answer."""

from __future__ import annotations

import shutil

import pytest

from tests.fakes.stack import RasaStack

pytestmark = pytest.mark.model

CHROMIUM = shutil.which("chromium")  # Debian's package; `make test` installs it


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
        finally:
            await browser.close()

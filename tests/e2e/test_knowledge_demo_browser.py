"""An answer staff edit in the knowledge base is what the running assistant says in
the demo page, at once and without retraining; rolled back, the old text returns.
(The stack's endpoints carry the NLG of `cloud-doctor run`: bot.nlg.KnowledgeBaseNLG.)"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.fakes.stack import RasaStack

pytestmark = pytest.mark.model

CHROMIUM = shutil.which("chromium")
RESPONSE = "utter_faq/join_union"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "knowledge_demo"


async def ask_in_demo_page(url: str, text: str, shot: str) -> str:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page()
            await page.goto(f"{url}/webhooks/webchat/")
            await page.fill("#text", text)
            await page.click("#send")
            bot = page.locator(".msg.bot .bubble")
            await bot.first.wait_for(timeout=60_000)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)
            return await bot.first.inner_text()
        finally:
            await browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed")
async def test_an_edited_answer_is_used_at_once_and_rolled_back(rasa_stack: RasaStack) -> None:
    from bot.kb import open_knowledge_base
    from core.settings import Settings

    kb = open_knowledge_base(Settings.current())
    before = kb.get(RESPONSE)
    marker = f"测试{uuid.uuid4().hex[:6]}"
    edited = kb.edit(RESPONSE, [f"入会请找单位工会或社区工会（{marker}），带身份证即可。"],
                     actor="e2e", note="browser test", expected_version=before.version)
    time.sleep(1.5)   # the NLG looks at the revision at most once a second
    answer = await ask_in_demo_page(rasa_stack.url, "@云博士 农民工怎么入会？", "edited")
    assert marker in answer
    kb.rollback(RESPONSE, before.version, actor="e2e", note="undo the browser test")
    time.sleep(1.5)
    answer = await ask_in_demo_page(rasa_stack.url, "@云博士 农民工怎么入会？", "rolled_back")
    assert marker not in answer
    assert before.texts[0].splitlines()[0][:12] in answer
    assert kb.get(RESPONSE).version == edited.version + 1

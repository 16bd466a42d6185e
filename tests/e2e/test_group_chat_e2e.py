"""Done-criterion of the connectors: on every platform a signed "@云博士 ..." group
message from the fake reaches the real assistant, and the fake receives the right
Chinese answer in the same group, @-mentioning the asker."""

from __future__ import annotations

import pytest

from tests.fakes import FAKES
from tests.fakes.stack import RasaStack

pytestmark = pytest.mark.model


@pytest.mark.parametrize("name", list(FAKES))
async def test_group_question_is_answered_by_the_assistant(
        name: str, rasa_stack: RasaStack, fake_ports: dict[str, int]) -> None:
    fake = FAKES[name](port=fake_ports[name], bot_url=rasa_stack.webhook(name))
    async with fake:
        response = await fake.send_group_message("20001", "1001", "农民工怎么入会？",
                                                 user_name="王师傅")
        assert response.status in (200, 204), response.body
        [reply] = await fake.wait_for_replies(1, timeout=60)
    assert reply.group_id == "20001"
    assert reply.mentioned == fake.expected_mention("1001", "王师傅")
    assert "入会" in reply.text


async def test_bad_signature_never_reaches_the_assistant(rasa_stack: RasaStack,
                                                         fake_ports: dict[str, int]) -> None:
    fake = FAKES["dingtalk"](port=fake_ports["dingtalk"], bot_url=rasa_stack.webhook("dingtalk"))
    async with fake:
        response = await fake.deliver(fake.text_message("20001", "1002", "农民工怎么入会？"),
                                      signature="wrong")
    assert response.status == 401
    assert fake.replies == []


async def test_the_demo_page_is_served(rasa_stack: RasaStack) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, \
            session.get(f"{rasa_stack.url}/webhooks/webchat/") as page:
        assert page.status == 200
        assert "云博士" in await page.text()

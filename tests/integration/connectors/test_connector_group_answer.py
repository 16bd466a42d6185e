"""Every platform: a signed "@云博士 ..." group message from the fake gets the
answer in the same group, @-mentioning the asker; the assistant sees the
stripped text, the sender id and the metadata."""

from __future__ import annotations

from tests.fakes.harness import JOIN_ANSWER, Stack
from tests.fakes.webchat import bot_user_id


async def test_group_question_is_answered_in_the_group_with_a_mention(stack: Stack) -> None:
    fake = stack.fake
    response = await fake.send_group_message("20001", "1001", "农民工怎么入会？")
    assert response.status in (200, 204)
    assert response.elapsed < 1.0
    [reply] = await fake.wait_for_replies(1)
    assert reply.group_id == "20001"
    assert reply.mentioned == fake.expected_mention("1001", "王师傅")
    assert reply.text == JOIN_ANSWER
    [message] = stack.agent.messages
    assert message.text == "农民工怎么入会？"
    user_id = await bot_user_id(fake, "1001")
    assert message.sender_id == f"{message.metadata['platform']}:20001:{user_id}"
    assert message.metadata["group_id"] == "20001"
    assert message.metadata["user_id"] == user_id
    assert message.metadata["message_id"]
    assert message.input_channel == stack.name

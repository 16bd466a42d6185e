"""Bad input on every platform: nothing unverified reaches the assistant, replays are
answered once, odd messages get a sensible reply or silence, never a crash."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from connectors import notices
from connectors.options import MAX_BODY_BYTES
from connectors.policy import Decision
from core.normalize import MAX_MESSAGE_CHARS
from platforms.message import Event, IncomingMessage, RawRequest
from tests.fakes.harness import JOIN_ANSWER, Stack


async def _nothing_reached(stack: Stack) -> None:
    await asyncio.sleep(0.2)
    await stack.settle()
    assert stack.agent.messages == []
    assert stack.fake.replies == []


async def test_wrong_signature_is_rejected(signed_stack: Stack) -> None:
    fake = signed_stack.fake
    response = await fake.deliver(fake.text_message("20001", "1001", "农民工怎么入会？"),
                                  signature="wrong")
    assert response.status in (401, 403)
    await _nothing_reached(signed_stack)


async def test_missing_signature_is_rejected(signed_stack: Stack) -> None:
    fake = signed_stack.fake
    response = await fake.deliver(fake.text_message("20001", "1001", "农民工怎么入会？"),
                                  signature="missing")
    assert response.status in (401, 403)
    await _nothing_reached(signed_stack)


async def test_stale_timestamp_is_rejected(signed_stack: Stack) -> None:
    fake = signed_stack.fake
    two_days_ago = time.time() - 2 * 86400
    response = await fake.deliver(fake.text_message("20001", "1001", "农民工怎么入会？"),
                                  timestamp=two_days_ago)
    assert response.status == 403
    await _nothing_reached(signed_stack)


async def test_malformed_json_is_a_400(stack: Stack) -> None:
    fake = stack.fake
    response = await fake.deliver(fake.text_message("20001", "1001", "你好"),
                                  raw_body=b'{"not json": ')
    assert response.status == 400
    await _nothing_reached(stack)


async def test_a_replayed_message_is_answered_once(stack: Stack) -> None:
    fake = stack.fake
    payload = fake.text_message("20001", "1002", "农民工怎么入会？", message_id="777001")
    first = await fake.deliver(payload)
    second = await fake.deliver(payload)
    assert first.status in (200, 204) and second.status in (200, 204)
    await fake.wait_for_replies(1)
    await asyncio.sleep(0.2)
    await stack.settle()
    assert len(stack.agent.messages) == 1
    assert len(fake.replies) == 1


async def test_a_10000_character_message_is_cut_and_answered(stack: Stack) -> None:
    fake = stack.fake
    await fake.send_group_message("20001", "1003", "农民工怎么入会" + "啊" * 10_000)
    [reply] = await fake.wait_for_replies(1)
    assert reply.text == JOIN_ANSWER
    [message] = stack.agent.messages
    assert len(message.text or "") <= 2000


async def test_an_emoji_only_message_gets_a_prompt(stack: Stack) -> None:
    fake = stack.fake
    await fake.send_group_message("20001", "1004", "👍👍🙏")
    [reply] = await fake.wait_for_replies(1)
    assert reply.text == notices.EMPTY_QUESTION
    assert reply.group_id == "20001"
    assert stack.agent.messages == []


async def test_images_and_voice_get_a_polite_notice(stack: Stack) -> None:
    fake = stack.fake
    group_id: str | None = "20001"
    if stack.name == "feishu":
        # A Feishu picture or voice message cannot @ anyone: silence in a group ...
        await fake.deliver(fake.media_message("20001", "1005", "image"))
        await _nothing_reached(stack)
        group_id = None  # ... and a notice in a 1:1 chat.
    await fake.deliver(fake.media_message(group_id, "1005", "image"))
    await fake.deliver(fake.media_message(group_id, "1006", "voice"))
    replies = await fake.wait_for_replies(2)
    expected = {notices.NOT_TEXT, notices.VOICE}
    if stack.name == "webchat":  # the page sends only text: a pasted picture is an emoji
        expected = {notices.EMPTY_QUESTION}
    assert {r.text for r in replies} <= expected
    assert {r.group_id for r in replies} == {group_id}
    assert stack.agent.messages == []


async def test_at_all_is_not_a_question_for_the_bot(stack: Stack) -> None:
    fake = stack.fake
    response = await fake.deliver(fake.at_all_message("20001", "1007", "明天上午小区停水"))
    assert response.status in (200, 204)
    await _nothing_reached(stack)


async def test_an_unmentioned_group_message_is_left_alone(stack: Stack) -> None:
    if stack.name == "wecom":
        pytest.skip("the WeCom robot is only called when it is @-mentioned")
    fake = stack.fake
    await fake.send_group_message("20001", "1008", "谁家的快递放错了", mention=False)
    await _nothing_reached(stack)


async def test_deeply_nested_json_is_a_400(stack: Stack) -> None:
    fake = stack.fake
    response = await fake.deliver(fake.text_message("20001", "1001", "你好"),
                                  raw_body=b"[" * 100_000)
    assert response.status == 400, response.body
    assert "Traceback" not in response.body
    await _nothing_reached(stack)


async def test_an_oversized_body_is_a_413_before_parsing(stack: Stack) -> None:
    fake = stack.fake
    parsed: list[RawRequest] = []
    protocol = stack.bot.channel.protocol
    original = protocol.handle

    def spy(raw: RawRequest) -> Event:
        parsed.append(raw)
        return original(raw)

    protocol.handle = spy
    body = b'{"text": "' + b"a" * (MAX_BODY_BYTES + 1) + b'"}'
    response = await fake.deliver(fake.text_message("20001", "1001", "你好"), raw_body=body)
    assert response.status == 413
    assert parsed == []
    await _nothing_reached(stack)


async def test_the_policy_sees_the_text_already_bounded(stack: Stack) -> None:
    seen: list[str] = []
    policy = stack.bot.channel.policy
    decide = policy.decide

    def spy(message: IncomingMessage) -> Decision:
        seen.append(message.text)
        return decide(message)

    policy.decide = spy
    await stack.fake.send_group_message("20001", "1003", "农民工怎么入会" + "啊" * 10_000)
    await stack.fake.wait_for_replies(1)
    assert seen and all(len(text) <= MAX_MESSAGE_CHARS for text in seen)


@pytest.mark.parametrize("name", ["dingtalk", "onebot"])
async def test_a_lone_surrogate_never_fails_the_turn(name: str, stack_factory) -> None:
    stack: Stack = await stack_factory(name, **({"reply_mode": "api"} if name == "onebot" else {}))
    fake = stack.fake
    payload = fake.text_message("20001", "1009", "农民工怎么入会\ud83d？")
    body = json.dumps(payload).encode()  # "\ud83d" as a JSON escape, as clients send it
    response = await fake.deliver(payload, raw_body=body)
    assert response.status in (200, 204)
    [reply] = await fake.wait_for_replies(1)
    assert reply.text == JOIN_ANSWER
    [message] = stack.agent.messages
    assert message.text == "农民工怎么入会？"

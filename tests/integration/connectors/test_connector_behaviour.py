"""Shared connector behaviour over real HTTP: deadlines and background turns, quick
operations, failures, flood limit, group rules, 1:1 chats, platform URL checks,
the Feishu token cache and delivery faults."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors import notices
from tests.fakes import FakeFeishu, FakeOneBot, FakeWeCom
from tests.fakes.harness import JOIN_ANSWER, Stack
from tests.fakes.webchat import bot_user_id


@pytest.mark.parametrize("name", ["wecom", "dingtalk", "feishu", "onebot"])
async def test_a_slow_assistant_does_not_delay_the_acknowledgement(name: str,
                                                                    stack_factory) -> None:
    stack: Stack = await stack_factory(name, quick_reply_wait=0.3)
    stack.agent.delay = 1.5
    response = await stack.fake.send_group_message("20001", "1001", "农民工怎么入会？")
    assert response.status in (200, 204)
    assert response.elapsed < 0.8  # every platform's deadline is 1 s or more
    assert stack.fake.replies == []
    [reply] = await stack.fake.wait_for_replies(1, timeout=5)
    assert (reply.group_id, reply.mentioned, reply.text) == ("20001", "1001", JOIN_ANSWER)


async def test_onebot_answers_by_quick_operation_when_fast(stack_factory) -> None:
    stack: Stack = await stack_factory("onebot")
    response = await stack.fake.send_group_message("20001", "1001", "农民工怎么入会？")
    assert response.json() == {"reply": JOIN_ANSWER, "auto_escape": True, "at_sender": True}
    assert stack.fake.records == []  # nothing went through send_group_msg


async def test_onebot_api_mode_uses_send_group_msg(stack_factory) -> None:
    stack: Stack = await stack_factory("onebot", reply_mode="api")
    response = await stack.fake.send_group_message("20001", "1001", "农民工怎么入会？")
    assert response.status == 204
    [reply] = await stack.fake.wait_for_replies(1)
    assert (reply.group_id, reply.mentioned, reply.text) == ("20001", "1001", JOIN_ANSWER)
    [call] = stack.fake.records
    assert call.path == "/send_group_msg"
    assert call.headers["Authorization"] == "Bearer test-onebot-access-token"


async def test_onebot_heartbeats_are_accepted_and_ignored(stack_factory) -> None:
    stack: Stack = await stack_factory("onebot")
    assert isinstance(stack.fake, FakeOneBot)
    response = await stack.fake.deliver(stack.fake.heartbeat())
    assert response.status == 204
    assert stack.agent.messages == []


async def test_onebot_refuses_unsigned_posts_unless_allowed(stack_factory, caplog) -> None:
    stack: Stack = await stack_factory("onebot", secret="")
    fake = stack.fake
    assert isinstance(fake, FakeOneBot)
    for signature in ("missing", "valid"):
        response = await fake.deliver(fake.text_message("20001", "1001", "怎么入会？"),
                                      signature=signature)
        assert response.status == 401
    assert stack.agent.messages == []
    with caplog.at_level(logging.WARNING, logger="connectors.onebot"):
        allowed: Stack = await stack_factory("onebot", secret="", allow_unsigned=True)
    assert "allow_unsigned" in caplog.text
    response = await allowed.fake.deliver(
        allowed.fake.text_message("20001", "1001", "怎么入会？"), signature="missing")
    assert response.json()["reply"] == JOIN_ANSWER



async def test_an_assistant_failure_gets_an_apology(stack: Stack) -> None:
    stack.agent.fail = True
    await stack.fake.send_group_message("20001", "1001", "农民工怎么入会？")
    [reply] = await stack.fake.wait_for_replies(1)
    assert reply.text == notices.FAILED
    assert reply.group_id == "20001"


async def test_flood_limit_sends_one_notice_then_silence(stack_factory) -> None:
    stack: Stack = await stack_factory("dingtalk", flood_limit=3, flood_window=60)
    for n in range(6):
        await stack.fake.send_group_message("20001", "1001", f"第{n}个问题：怎么入会？")
    await stack.settle()
    await stack.fake.wait_for_replies(4)
    await asyncio.sleep(0.1)
    texts = [r.text for r in stack.fake.replies]
    assert texts.count(JOIN_ANSWER) == 3
    assert texts.count(notices.FLOODED) == 1
    assert len(texts) == 4
    # Another member of the same group is not affected.
    await stack.fake.send_group_message("20001", "1002", "怎么入会？")
    replies = await stack.fake.wait_for_replies(5)
    assert replies[-1].mentioned == "1002"


async def test_group_rules_all_and_keyword(stack_factory) -> None:
    stack: Stack = await stack_factory(
        "onebot", groups={"30001": "all", "30002": {"mode": "keyword", "keyword": "云博士"}})
    fake = stack.fake
    await fake.send_group_message("30001", "1001", "怎么入会？", mention=False)
    await fake.send_group_message("30002", "1002", "云博士，怎么入会？", mention=False)
    await fake.send_group_message("30002", "1003", "今天天气不错", mention=False)
    await fake.send_group_message("30003", "1004", "怎么入会？", mention=False)
    replies = await fake.wait_for_replies(2)
    await stack.settle()
    assert sorted((r.group_id, r.mentioned) for r in replies) == [("30001", "1001"),
                                                                ("30002", "1002")]
    assert [m.text for m in stack.agent.messages] == ["怎么入会？", "怎么入会？"]


async def test_a_direct_chat_is_answered_without_a_mention(stack: Stack) -> None:
    await stack.fake.deliver(stack.fake.text_message(None, "1001", "农民工怎么入会？",
                                                     mention=False))
    [reply] = await stack.fake.wait_for_replies(1)
    assert (reply.group_id, reply.mentioned, reply.text) == (None, None, JOIN_ANSWER)
    user_id = await bot_user_id(stack.fake, "1001")
    assert stack.agent.messages[0].sender_id.endswith(f":direct:{user_id}")


async def test_wecom_url_check(stack_factory) -> None:
    stack: Stack = await stack_factory("wecom")
    assert isinstance(stack.fake, FakeWeCom)
    ok = await stack.fake.verify_url("5927410433478843581")
    assert (ok.status, ok.body) == (200, "5927410433478843581")
    bad = await stack.fake.verify_url("1", signature="wrong")
    assert bad.status == 401


async def test_feishu_url_verification(stack_factory) -> None:
    stack: Stack = await stack_factory("feishu")
    assert isinstance(stack.fake, FakeFeishu)
    ok = await stack.fake.url_verification("ch-123")
    assert ok.status == 200 and ok.json() == {"challenge": "ch-123"}
    bad = await stack.fake.url_verification("ch-123", token="forged")
    assert bad.status == 401


async def test_feishu_token_is_cached_and_refreshed_when_revoked(stack_factory) -> None:
    stack: Stack = await stack_factory("feishu")
    fake = stack.fake
    assert isinstance(fake, FakeFeishu)
    await fake.send_group_message("20001", "1001", "怎么入会？")
    await fake.send_group_message("20001", "1002", "怎么入会？")
    await fake.wait_for_replies(2)
    assert fake.tokens_issued == 1
    fake.revoke_tokens()
    await fake.send_group_message("20001", "1003", "怎么入会？")
    await fake.wait_for_replies(3)
    assert fake.tokens_issued == 2


async def test_a_server_error_on_reply_is_retried(stack_factory) -> None:
    stack: Stack = await stack_factory("feishu")
    stack.fake.faults.error(503, times=2)  # the token call and the first reply attempt
    await stack.fake.send_group_message("20001", "1001", "怎么入会？")
    [reply] = await stack.fake.wait_for_replies(1, timeout=10)
    assert reply.text == JOIN_ANSWER


async def test_a_rate_limited_reply_is_logged_not_crashed(stack_factory, caplog) -> None:
    stack: Stack = await stack_factory("wecom")
    stack.fake.faults.rate_limit()
    with caplog.at_level(logging.WARNING, logger="connectors.base"):
        response = await stack.fake.send_group_message("20001", "1001", "怎么入会？")
        await stack.settle()
    assert response.status == 200
    assert stack.fake.replies == []
    assert "not delivered" in caplog.text and "45009" in caplog.text


async def test_shutdown_lets_running_turns_finish(stack_factory) -> None:
    stack: Stack = await stack_factory("dingtalk")
    stack.agent.delay = 0.5
    await stack.fake.send_group_message("20001", "1001", "怎么入会？")
    assert stack.bot.channel.pending == 1
    await stack.bot.stop()
    assert stack.bot.channel.pending == 0
    assert [r.text for r in stack.fake.replies] == [JOIN_ANSWER]


async def test_an_assistant_past_its_deadline_gets_an_apology(stack_factory) -> None:
    stack: Stack = await stack_factory("dingtalk", assistant_timeout=0.2)
    stack.agent.delay = 5.0
    await stack.fake.send_group_message("20001", "1001", "怎么入会？")
    [reply] = await stack.fake.wait_for_replies(1, timeout=3)
    assert reply.text == notices.FAILED


async def test_turns_beyond_the_limit_wait_but_are_acknowledged_at_once(stack_factory) -> None:
    stack: Stack = await stack_factory("feishu", max_concurrent_turns=1)
    stack.agent.delay = 0.2
    acks = [await stack.fake.send_group_message("20001", f"10{n}", "怎么入会？")
            for n in range(4)]
    assert all(a.status == 200 and a.elapsed < 0.15 for a in acks)
    replies = await stack.fake.wait_for_replies(4, timeout=5)
    assert [r.mentioned for r in replies] == ["100", "101", "102", "103"]  # in order
    gaps = [later.at - earlier.at for earlier, later in zip(replies, replies[1:], strict=False)]
    assert min(gaps) >= 0.15  # one at a time

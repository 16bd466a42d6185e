"""The send side used by broadcasts, against the fake platforms: success, splitting,
and every failure mapped onto the exception tree (transient or permanent)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from platforms.clients import DingTalkClient, FeishuClient, OneBotClient, WeComClient
from platforms.errors import (
    DeliveryTimeout,
    InvalidCredentials,
    PermanentDeliveryError,
    PlatformUnavailable,
    RateLimited,
    TransientDeliveryError,
)
from tests.fakes import FakeDingTalk, FakeFeishu, FakeOneBot, FakeWeCom
from tests.fakes.base import free_port
from tests.fakes.dingtalk import ROBOT_SECRET, ROBOT_TOKEN
from tests.fakes.feishu import APP_ID, APP_SECRET
from tests.fakes.onebot import ACCESS_TOKEN
from tests.fakes.wecom import WEBHOOK_KEY


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def wecom() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as fake:
        yield fake


async def test_wecom_group_robot_text_with_mentions(session, wecom) -> None:
    client = WeComClient(session, base_url=wecom.base_url)
    await client.send_text(WEBHOOK_KEY, "明天上午社区服务站有法律咨询。", mentioned_list=["@all"])
    [reply] = wecom.replies
    assert (reply.group_id, reply.mentioned) == (WEBHOOK_KEY, "@all")


async def test_wecom_long_text_is_split_never_cut(session, wecom) -> None:
    client = WeComClient(session, base_url=wecom.base_url)
    text = "\n".join(f"第{i}条：工会会员可以享受法律援助、困难帮扶和技能培训。" for i in range(120))
    await client.send_text(WEBHOOK_KEY, text, mentioned_list=["wangshifu"])
    assert len(wecom.replies) > 1
    assert all(len(r.text.encode()) <= 2048 for r in wecom.replies)
    assert "\n".join(r.text for r in wecom.replies) == text
    assert [r.mentioned for r in wecom.replies][:2] == ["wangshifu", None]


async def test_wecom_errors_are_classified(session, wecom) -> None:
    client = WeComClient(session, base_url=wecom.base_url, sleep=_no_sleep)
    with pytest.raises(InvalidCredentials) as bad_key:
        await client.send_text("not-a-key", "x")
    assert isinstance(bad_key.value, PermanentDeliveryError) and bad_key.value.code == 93000
    wecom.faults.rate_limit()
    with pytest.raises(RateLimited) as limited:
        await client.send_markdown(WEBHOOK_KEY, "**通知**")
    assert limited.value.transient and limited.value.code == 45009
    wecom.faults.error(503, times=2)
    await client.send_markdown(WEBHOOK_KEY, "**通知**")  # retried twice, then delivered
    assert len(wecom.replies) == 1
    wecom.faults.error(503, times=3)
    with pytest.raises(PlatformUnavailable):
        await client.send_markdown(WEBHOOK_KEY, "**通知**")


async def test_a_timeout_is_transient_and_not_retried(session, wecom) -> None:
    client = WeComClient(session, base_url=wecom.base_url, timeout=0.2, sleep=_no_sleep)
    wecom.faults.timeout(1.0)
    with pytest.raises(DeliveryTimeout) as exc:
        await client.send_text(WEBHOOK_KEY, "通知")
    assert isinstance(exc.value, TransientDeliveryError) and not exc.value.retry_safe
    assert len(wecom.faults.queue) == 0 and wecom.replies == []


async def test_an_unreachable_platform_is_retried_then_transient(session) -> None:
    calls: list[float] = []

    async def sleep(delay: float) -> None:
        calls.append(delay)

    client = OneBotClient(session, base_url=f"http://127.0.0.1:{free_port()}", sleep=sleep)
    with pytest.raises(PlatformUnavailable) as exc:
        await client.send_group_msg(20001, [{"type": "text", "data": {"text": "x"}}])
    assert exc.value.transient and exc.value.retry_safe
    assert len(calls) == 2 and calls[0] < calls[1]  # bounded, with backoff


async def test_dingtalk_custom_robot_is_signed(session) -> None:
    async with FakeDingTalk() as fake:
        client = DingTalkClient(session, base_url=fake.base_url)
        await client.send_text(ROBOT_TOKEN, ROBOT_SECRET, "@all 明天停水", at_all=True)
        await client.send_markdown(ROBOT_TOKEN, ROBOT_SECRET, "通知", "### 停水通知",
                                   at_user_ids=["staff1"])
        assert [r.text for r in fake.replies] == ["@all 明天停水", "### 停水通知"]
        assert fake.replies[1].mentioned == "staff1"
        with pytest.raises(InvalidCredentials):
            await client.send_text(ROBOT_TOKEN, "SECwrong", "x")
        with pytest.raises(InvalidCredentials):   # 300001: the robot's address is wrong
            await client.send_text("no-such-token", ROBOT_SECRET, "x")
        fake.faults.rate_limit()
        with pytest.raises(RateLimited) as limited:
            await client.send_text(ROBOT_TOKEN, ROBOT_SECRET, "x")
        assert limited.value.retry_after == 600.0


async def test_feishu_message_create_with_cached_token(session) -> None:
    async with FakeFeishu(token_ttl=7200) as fake:
        client = FeishuClient(session, app_id=APP_ID, app_secret=APP_SECRET,
                              base_url=fake.base_url, sleep=_no_sleep)
        await client.send_text("oc_group_1", "停水通知")
        await client.send_text("oc_group_1", "停电通知")
        assert [r.text for r in fake.replies] == ["停水通知", "停电通知"]
        assert fake.tokens_issued == 1
        fake.faults.rate_limit()
        with pytest.raises(RateLimited):
            await client.send_text("oc_group_1", "x")
        bad = FeishuClient(session, app_id=APP_ID, app_secret="wrong", base_url=fake.base_url)
        with pytest.raises(PermanentDeliveryError):
            await bad.send_text("oc_group_1", "x")


async def test_feishu_token_refreshes_before_it_expires(session) -> None:
    now = [1000.0]
    async with FakeFeishu(token_ttl=7200) as fake:
        client = FeishuClient(session, app_id=APP_ID, app_secret=APP_SECRET,
                              base_url=fake.base_url, clock=lambda: now[0])
        first = await client.tenant_token()
        now[0] += 7200 - 400
        assert await client.tenant_token() == first
        now[0] += 200  # inside the refresh margin
        assert await client.tenant_token() != first
        assert fake.tokens_issued == 2


async def test_onebot_send_group_msg(session) -> None:
    async with FakeOneBot() as fake:
        client = OneBotClient(session, base_url=fake.base_url, access_token=ACCESS_TOKEN)
        message_id = await client.send_group_msg("20001", [{"type": "text",
                                                            "data": {"text": "通知"}}])
        assert isinstance(message_id, int)
        assert fake.records[0].body["group_id"] == 20001
        wrong = OneBotClient(session, base_url=fake.base_url, access_token="wrong")
        with pytest.raises(InvalidCredentials):
            await wrong.send_group_msg(20001, [])

"""Every code of the platforms' error tables that says "retry later" is transient
(the broadcaster retries it); the codes that say the robot or key is wrong are
permanent and say so. One case per code, on the clients' `check` (no HTTP)."""

from __future__ import annotations

import pytest

from platforms.clients import DingTalkClient, FeishuClient, OneBotClient, WeComClient
from platforms.clients.base import JsonApiClient
from platforms.clients.feishu import FeishuWebhookClient
from platforms.errors import (
    DeliveryError,
    InvalidCredentials,
    MessageRejected,
    PlatformUnavailable,
    RateLimited,
)


def _client(cls: type[JsonApiClient]) -> JsonApiClient:
    # `check` never touches the session; a real one is not needed to classify answers.
    return cls.__new__(cls)


def _raised(cls: type[JsonApiClient], status: int, data: dict) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        _client(cls).check(status, data)
    return info.value


@pytest.mark.parametrize(("cls", "status", "data", "kind", "retry_after"), [
    # DingTalk: -1 系统繁忙, 130101 throttled for 10 minutes, 410100 sent too fast
    (DingTalkClient, 200, {"errcode": -1, "errmsg": "系统繁忙"}, PlatformUnavailable, None),
    (DingTalkClient, 200, {"errcode": 130101, "errmsg": "send too fast"}, RateLimited, 600.0),
    (DingTalkClient, 200, {"errcode": 410100, "errmsg": "发送速度太快而限流"}, RateLimited, 60.0),
    # WeCom: -1 系统繁忙, 6000 数据版本冲突, 45009 / 45011 / 45033 limits
    (WeComClient, 200, {"errcode": -1, "errmsg": "system busy"}, PlatformUnavailable, None),
    (WeComClient, 200, {"errcode": 6000, "errmsg": "data version conflict"},
     PlatformUnavailable, None),
    (WeComClient, 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, RateLimited, 60.0),
    (WeComClient, 200, {"errcode": 45011, "errmsg": "api minute-quota reach limit"},
     RateLimited, 10.0),
    (WeComClient, 200, {"errcode": 45033, "errmsg": "user call api concurrent out of limit"},
     RateLimited, 5.0),
    # Feishu app API and custom bots: 99991400, 9499, 11232, 230020
    (FeishuClient, 400, {"code": 99991400, "msg": "request trigger frequency limit"},
     RateLimited, 1.0),
    (FeishuClient, 400, {"code": 230020, "msg": "This operation triggers the frequency limit"},
     RateLimited, 1.0),
    (FeishuClient, 400, {"code": 11232, "msg": "create message service trigger rate limit"},
     RateLimited, 1.0),
    (FeishuWebhookClient, 200, {"code": 11232, "msg": "frequency limited"}, RateLimited, 1.0),
    # OneBot: the implementations word their rate limits
    (OneBotClient, 200, {"status": "failed", "retcode": 100, "message": "发送频率过快"},
     RateLimited, 5.0),
])
def test_retry_later_codes_are_transient(cls, status, data, kind, retry_after) -> None:
    error = _raised(cls, status, data)
    assert type(error) is kind and error.transient
    if retry_after is not None:
        assert isinstance(error, RateLimited) and error.retry_after == retry_after


@pytest.mark.parametrize(("cls", "data", "kind"), [
    (DingTalkClient, {"errcode": 310000, "errmsg": "sign not match"}, InvalidCredentials),
    (DingTalkClient, {"errcode": 300001, "errmsg": "token is not exist"}, InvalidCredentials),
    (DingTalkClient, {"errcode": 400101, "errmsg": "access_token不存在"}, InvalidCredentials),
    (DingTalkClient, {"errcode": 400102, "errmsg": "机器人已停用"}, InvalidCredentials),
    (DingTalkClient, {"errcode": 400013, "errmsg": "群已被解散"}, MessageRejected),
    (WeComClient, {"errcode": 93000, "errmsg": "invalid webhook url"}, InvalidCredentials),
    (WeComClient, {"errcode": 93008, "errmsg": "not in group"}, InvalidCredentials),
    (FeishuWebhookClient, {"code": 19021, "msg": "sign match fail"}, InvalidCredentials),
    (FeishuWebhookClient, {"code": 9499, "msg": "Bad Request"}, MessageRejected),
    (FeishuWebhookClient, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"},
     InvalidCredentials),
])
def test_wrong_robot_codes_are_permanent(cls, data, kind) -> None:
    error = _raised(cls, 200, data)
    assert type(error) is kind and not error.transient


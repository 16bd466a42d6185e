"""WeCom send side: group-robot webhook (text, markdown) and the intelligent
robot's one-time `response_url`.

Errors, from WeCom's global error codes: -1 系统繁忙 and 6000 数据版本冲突 ("retry
later", transient); 45009 / 45011 / 45033 frequency or concurrency limits
(transient); 93000 invalid webhook key, 93008 robot not in the group (permanent);
anything else is a permanent rejection with the platform's message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from core.utf8 import split_lines
from platforms.clients.base import JsonApiClient
from platforms.errors import (
    InvalidCredentials,
    MessageRejected,
    PlatformUnavailable,
    RateLimited,
)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096
RATE_LIMIT = 45009          # 接口调用超过限制 (20 per minute per robot)
TOO_FREQUENT = 45011        # API 调用太频繁
CONCURRENCY = 45033         # 接口并发调用超过限制
INVALID_KEY = 93000
NOT_IN_GROUP = 93008        # 不在群里
BUSY = -1                   # 系统繁忙，请稍后再试
VERSION_CONFLICT = 6000     # 数据版本冲突，请稍后再试
RETRY_LATER: dict[int, float] = {RATE_LIMIT: 60.0, TOO_FREQUENT: 10.0, CONCURRENCY: 5.0}
BUSY_CODES = (BUSY, VERSION_CONFLICT)


class WeComClient(JsonApiClient):
    platform: ClassVar[str] = "wecom"

    async def send_text(self, key: str, content: str, *, mentioned_list: Sequence[str] = (),
                        mentioned_mobile_list: Sequence[str] = ()) -> None:
        """Send to a group robot; long text goes out in several messages, @s on the first."""
        await self.send_text_to(self.url("/cgi-bin/webhook/send"), content,
                                mentioned_list=mentioned_list,
                                mentioned_mobile_list=mentioned_mobile_list, params={"key": key})

    async def send_text_to(self, url: str, content: str, *, mentioned_list: Sequence[str] = (),
                           mentioned_mobile_list: Sequence[str] = (),
                           params: dict[str, str] | None = None) -> None:
        """`send_text` to a robot's full webhook URL (as the grid directory stores it)."""
        for index, part in enumerate(split_lines(content, TEXT_MAX_BYTES)):
            text: dict[str, Any] = {"content": part}
            if index == 0 and mentioned_list:
                text["mentioned_list"] = list(mentioned_list)
            if index == 0 and mentioned_mobile_list:
                text["mentioned_mobile_list"] = list(mentioned_mobile_list)
            await self.post_json(url, {"msgtype": "text", "text": text}, params=params)

    async def send_markdown(self, key: str, content: str) -> None:
        for part in split_lines(content, MARKDOWN_MAX_BYTES):
            await self._webhook(key, {"msgtype": "markdown", "markdown": {"content": part}})

    async def respond(self, response_url: str, content: str) -> None:
        """Answer an intelligent-robot callback (a response_url works once, for an hour)."""
        await self.post_json(response_url, {"msgtype": "markdown", "markdown": {"content": content}})

    async def _webhook(self, key: str, payload: dict[str, Any]) -> None:
        await self.post_json(self.url("/cgi-bin/webhook/send"), payload, params={"key": key})

    def check(self, status: int, data: dict[str, Any]) -> None:
        code = data.get("errcode", 0)
        message = str(data.get("errmsg") or "")
        if code == 0:
            super().check(status, data)
            return
        if code in RETRY_LATER:
            raise RateLimited(message, platform=self.platform, code=code,
                              retry_after=RETRY_LATER[code])
        if code in BUSY_CODES:
            raise PlatformUnavailable(message, platform=self.platform, code=code, retry_safe=True)
        if code in (INVALID_KEY, NOT_IN_GROUP):
            raise InvalidCredentials(message, platform=self.platform, code=code)
        raise MessageRejected(message, platform=self.platform, code=code)

"""WeCom send side: group-robot webhook (text, markdown) and the intelligent
robot's one-time `response_url`. Errors: 45009 frequency limit (transient),
93000 invalid webhook key (permanent), -1 system busy (transient)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from connectors.clients.base import JsonApiClient, split_utf8
from connectors.errors import (
    InvalidCredentials,
    MessageRejected,
    PlatformUnavailable,
    RateLimited,
)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096
RATE_LIMIT = 45009
INVALID_KEY = 93000
BUSY = -1


class WeComClient(JsonApiClient):
    platform: ClassVar[str] = "wecom"

    async def send_text(self, key: str, content: str, *, mentioned_list: Sequence[str] = (),
                        mentioned_mobile_list: Sequence[str] = ()) -> None:
        """Send to a group robot; long text goes out in several messages, @s on the first."""
        for index, part in enumerate(split_utf8(content, TEXT_MAX_BYTES)):
            text: dict[str, Any] = {"content": part}
            if index == 0 and mentioned_list:
                text["mentioned_list"] = list(mentioned_list)
            if index == 0 and mentioned_mobile_list:
                text["mentioned_mobile_list"] = list(mentioned_mobile_list)
            await self._webhook(key, {"msgtype": "text", "text": text})

    async def send_markdown(self, key: str, content: str) -> None:
        for part in split_utf8(content, MARKDOWN_MAX_BYTES):
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
        if code == RATE_LIMIT:
            raise RateLimited(message, platform=self.platform, code=code, retry_after=60.0)
        if code == BUSY:
            raise PlatformUnavailable(message, platform=self.platform, code=code, retry_safe=True)
        if code == INVALID_KEY:
            raise InvalidCredentials(message, platform=self.platform, code=code)
        raise MessageRejected(message, platform=self.platform, code=code)

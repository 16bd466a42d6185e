"""DingTalk send side: custom group robot (`/robot/send`, signed) and the enterprise
robot's `sessionWebhook` replies. Errors: 130101 throttled for 10 minutes
(transient), 310000 bad sign or keyword (permanent), 460101 body too large."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from connectors.clients.base import JsonApiClient, split_utf8
from connectors.errors import InvalidCredentials, MessageRejected, RateLimited
from connectors.protocol.dingtalk import sign

DEFAULT_BASE_URL = "https://oapi.dingtalk.com"
MAX_BYTES = 18000  # the platform limit is 20000 bytes for the whole body
THROTTLED = 130101
BAD_SIGN = 310000
TOO_LARGE = 460101


def at_block(user_ids: Sequence[str] = (), mobiles: Sequence[str] = (),
             at_all: bool = False) -> dict[str, Any]:
    return {"atUserIds": list(user_ids), "atMobiles": list(mobiles), "isAtAll": at_all}


class DingTalkClient(JsonApiClient):
    platform: ClassVar[str] = "dingtalk"

    def __init__(self, *args: Any, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    async def send_text(self, access_token: str, secret: str, content: str, *,
                        at_user_ids: Sequence[str] = (), at_mobiles: Sequence[str] = (),
                        at_all: bool = False) -> None:
        for index, part in enumerate(split_utf8(content, MAX_BYTES)):
            at = at_block(at_user_ids, at_mobiles, at_all) if index == 0 else at_block()
            await self._robot(access_token, secret,
                              {"msgtype": "text", "text": {"content": part}, "at": at})

    async def send_markdown(self, access_token: str, secret: str, title: str, text: str, *,
                            at_user_ids: Sequence[str] = (), at_all: bool = False) -> None:
        for index, part in enumerate(split_utf8(text, MAX_BYTES)):
            at = at_block(at_user_ids, (), at_all) if index == 0 else at_block()
            await self._robot(access_token, secret, {
                "msgtype": "markdown", "markdown": {"title": title, "text": part}, "at": at})

    async def reply(self, session_webhook: str, content: str, *,
                    at_user_ids: Sequence[str] = ()) -> None:
        """Answer through the sessionWebhook of a callback (valid until it expires)."""
        for index, part in enumerate(split_utf8(content, MAX_BYTES)):
            at = at_block(at_user_ids) if index == 0 else at_block()
            await self.post_json(session_webhook,
                                 {"msgtype": "text", "text": {"content": part}, "at": at})

    def signed_params(self, secret: str) -> dict[str, str]:
        """The `timestamp` and `sign` query parameters of a signed robot request."""
        timestamp = str(int(self._clock() * 1000))
        return {"timestamp": timestamp, "sign": sign(timestamp, secret)}

    async def _robot(self, access_token: str, secret: str, payload: dict[str, Any]) -> None:
        params = {"access_token": access_token, **self.signed_params(secret)}
        await self.post_json(self.url("/robot/send"), payload, params=params)

    def check(self, status: int, data: dict[str, Any]) -> None:
        code = data.get("errcode", 0)
        message = str(data.get("errmsg") or "")
        if code == 0:
            super().check(status, data)
            return
        if code == THROTTLED:
            raise RateLimited(message, platform=self.platform, code=code, retry_after=600.0)
        if code == BAD_SIGN:
            raise InvalidCredentials(message, platform=self.platform, code=code)
        raise MessageRejected(message, platform=self.platform, code=code)

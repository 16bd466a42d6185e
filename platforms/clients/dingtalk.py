"""DingTalk send side: custom group robot (`/robot/send`, signed) and the enterprise
robot's `sessionWebhook` replies.

Errors, from DingTalk's error tables: -1 系统繁忙 ("retry later", transient);
130101 / 410100 sent too fast (throttled, transient; 130101 blocks the robot for
10 minutes); 310000 bad sign, keyword or IP (permanent), 300001 / 400101 / 400102
unknown or disabled robot (permanent); 460101 body too large; anything else is a
permanent rejection with the platform's message."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from core.utf8 import split_lines
from platforms.clients.base import JsonApiClient
from platforms.errors import InvalidCredentials, MessageRejected, PlatformUnavailable, RateLimited
from platforms.protocol.dingtalk import sign

DEFAULT_BASE_URL = "https://oapi.dingtalk.com"
MAX_BYTES = 18000  # the platform limit is 20000 bytes for the whole body
BUSY = -1                  # 系统繁忙，请稍后重试
THROTTLED = 130101         # send too fast (over 20 per minute): blocked for 10 minutes
TOO_FAST = 410100          # 发送速度太快而限流
BAD_SIGN = 310000          # sign, keyword or IP whitelist does not match
TOKEN_UNKNOWN = 300001     # token is not exist
ROBOT_UNKNOWN = 400101     # access_token 不存在
ROBOT_DISABLED = 400102    # 机器人已停用
TOO_LARGE = 460101
RETRY_LATER: dict[int, float] = {THROTTLED: 600.0, TOO_FAST: 60.0}   # code → seconds to wait
INVALID = (BAD_SIGN, TOKEN_UNKNOWN, ROBOT_UNKNOWN, ROBOT_DISABLED)


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
        await self.send_text_to(self.url("/robot/send"), secret, content,
                                at_user_ids=at_user_ids, at_mobiles=at_mobiles, at_all=at_all,
                                params={"access_token": access_token})

    async def send_text_to(self, url: str, secret: str, content: str, *,
                           at_user_ids: Sequence[str] = (), at_mobiles: Sequence[str] = (),
                           at_all: bool = False, params: dict[str, str] | None = None) -> None:
        """`send_text` to a robot's full URL (as the grid directory stores it), signed
        when the robot has a secret; long text in several messages, @s on the first."""
        for index, part in enumerate(split_lines(content, MAX_BYTES)):
            at = at_block(at_user_ids, at_mobiles, at_all) if index == 0 else at_block()
            signed = {**(params or {}), **(self.signed_params(secret) if secret else {})}
            await self.post_json(url, {"msgtype": "text", "text": {"content": part}, "at": at},
                                 params=signed or None)

    async def send_markdown(self, access_token: str, secret: str, title: str, text: str, *,
                            at_user_ids: Sequence[str] = (), at_all: bool = False) -> None:
        for index, part in enumerate(split_lines(text, MAX_BYTES)):
            at = at_block(at_user_ids, (), at_all) if index == 0 else at_block()
            await self._robot(access_token, secret, {
                "msgtype": "markdown", "markdown": {"title": title, "text": part}, "at": at})

    async def reply(self, session_webhook: str, content: str, *,
                    at_user_ids: Sequence[str] = ()) -> None:
        """Answer through the sessionWebhook of a callback (valid until it expires)."""
        for index, part in enumerate(split_lines(content, MAX_BYTES)):
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
        if code in RETRY_LATER:
            raise RateLimited(message, platform=self.platform, code=code,
                              retry_after=RETRY_LATER[code])
        if code == BUSY:
            raise PlatformUnavailable(message or "系统繁忙", platform=self.platform, code=code,
                                      retry_safe=True)
        if code in INVALID:
            raise InvalidCredentials(message, platform=self.platform, code=code)
        raise MessageRejected(message, platform=self.platform, code=code)

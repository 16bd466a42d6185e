"""OneBot v11 send side (QQ): send_group_msg / send_private_msg over HTTP with a
Bearer access token. status "ok"/"async" = accepted; "failed" = rejected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import aiohttp

from platforms.clients.base import JsonApiClient
from platforms.errors import InvalidCredentials, MessageRejected, RateLimited

DEFAULT_BASE_URL = "http://127.0.0.1:3000"
Segment = dict[str, Any]


def text_segment(text: str) -> Segment:
    return {"type": "text", "data": {"text": text}}


def at_segment(qq: str) -> Segment:
    return {"type": "at", "data": {"qq": str(qq)}}


class OneBotClient(JsonApiClient):
    platform: ClassVar[str] = "onebot"

    def __init__(self, session: aiohttp.ClientSession, *, access_token: str = "",
                 **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self._headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}

    async def send_group_msg(self, group_id: int | str, message: Sequence[Segment]) -> Any:
        """Returns the new message's id (None when the implementation answers "async")."""
        data = await self.post_json(self.url("/send_group_msg"),
                                    {"group_id": _id(group_id), "message": list(message)},
                                    headers=self._headers)
        return (data.get("data") or {}).get("message_id")

    async def send_private_msg(self, user_id: int | str, message: Sequence[Segment]) -> Any:
        data = await self.post_json(self.url("/send_private_msg"),
                                    {"user_id": _id(user_id), "message": list(message)},
                                    headers=self._headers)
        return (data.get("data") or {}).get("message_id")

    def check(self, status: int, data: dict[str, Any]) -> None:
        super().check(status, data)
        if data.get("status") in ("ok", "async"):
            return
        retcode = data.get("retcode")
        message = str(data.get("message") or data.get("wording") or "action failed")
        if retcode in (1401, 1403):
            raise InvalidCredentials(message, platform=self.platform, code=retcode)
        if any(word in message for word in ("频率", "频繁", "too fast", "frequen")):
            raise RateLimited(message, platform=self.platform, code=retcode, retry_after=5.0)
        raise MessageRejected(message, platform=self.platform, code=retcode)


def _id(value: int | str) -> int | str:
    return int(value) if str(value).isdigit() else value

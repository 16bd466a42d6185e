"""Feishu send side: reply to a message and create a message in a chat, with a
cached tenant_access_token that refreshes itself before it expires (and once more
if the platform says it is invalid). Rate limits, all retried later: HTTP 429 /
code 99991400 (gateway), 11232 (message service, per bot), 230020 (per chat). A custom
bot's 9499 is "Bad Request" (permanent) unless it comes with HTTP 429."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

import aiohttp

from platforms.clients.base import JsonApiClient
from platforms.errors import InvalidCredentials, MessageRejected, RateLimited

DEFAULT_BASE_URL = "https://open.feishu.cn"
RATE_LIMITED = 99991400
WEBHOOK_FREQUENCY = 11232        # message service: frequency limited (per bot)
SEND_FREQUENCY = 230020          # im/v1/messages: triggers the frequency limit, retry later
RATE_CODES = (RATE_LIMITED, WEBHOOK_FREQUENCY, SEND_FREQUENCY)
WEBHOOK_BAD_SIGN = 19021
WEBHOOK_INVALID = 19001          # unknown or deleted custom bot
TOKEN_INVALID = {99991661, 99991663, 99991664, 99991668}
REFRESH_MARGIN = 300.0  # seconds before expiry at which the token is renewed


class FeishuClient(JsonApiClient):
    platform: ClassVar[str] = "feishu"

    def __init__(self, session: aiohttp.ClientSession, *, app_id: str, app_secret: str,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self._app_id = app_id
        self._app_secret = app_secret
        self._clock = clock
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def reply_text(self, message_id: str, text: str) -> dict[str, Any]:
        return await self._api(f"/open-apis/im/v1/messages/{message_id}/reply", _text(text))

    async def send_text(self, chat_id: str, text: str) -> dict[str, Any]:
        return await self._api("/open-apis/im/v1/messages",
                               {"receive_id": chat_id, **_text(text)},
                               params={"receive_id_type": "chat_id"})

    async def tenant_token(self, *, force: bool = False) -> str:
        async with self._lock:
            if force or not self._token or self._clock() >= self._expires_at - REFRESH_MARGIN:
                data = await self.post_json(
                    self.url("/open-apis/auth/v3/tenant_access_token/internal"),
                    {"app_id": self._app_id, "app_secret": self._app_secret})
                token = data.get("tenant_access_token")
                if not isinstance(token, str) or not token:
                    raise InvalidCredentials("no tenant_access_token in answer",
                                             platform=self.platform)
                self._token = token
                self._expires_at = self._clock() + float(data.get("expire") or 7200)
            return self._token

    async def _api(self, path: str, payload: dict[str, Any],
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        token = await self.tenant_token()
        try:
            return await self._call(path, payload, params, token)
        except InvalidCredentials as exc:
            if exc.code not in TOKEN_INVALID:
                raise
        # The platform revoked the token early (e.g. the app secret was reset).
        return await self._call(path, payload, params, await self.tenant_token(force=True))

    async def _call(self, path: str, payload: dict[str, Any], params: dict[str, str] | None,
                    token: str) -> dict[str, Any]:
        return await self.post_json(self.url(path), payload, params=params,
                                    headers={"Authorization": f"Bearer {token}"})

    def check(self, status: int, data: dict[str, Any]) -> None:
        code = data.get("code", 0)
        message = str(data.get("msg") or "")
        if code == 0:
            super().check(status, data)
            return
        if code in RATE_CODES:
            raise RateLimited(message, platform=self.platform, code=code, retry_after=1.0)
        if code in TOKEN_INVALID or status in (401, 403):
            raise InvalidCredentials(message, platform=self.platform, code=code)
        raise MessageRejected(message, platform=self.platform, code=code)


def _text(text: str) -> dict[str, str]:
    return {"msg_type": "text", "content": json.dumps({"text": text}, ensure_ascii=False)}


def webhook_sign(timestamp: str, secret: str) -> str:
    """Custom bot signature: base64(hmac_sha256(key=f"{timestamp}\\n{secret}", msg=""))."""
    mac = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


class FeishuWebhookClient(JsonApiClient):
    """A group's custom bot (自定义机器人): `POST /open-apis/bot/v2/hook/<id>`, signed
    when the bot has a secret. Limits: 5 per second and 100 per minute per bot."""

    platform: ClassVar[str] = "feishu"

    def __init__(self, *args: Any, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    async def send_text(self, hook_url: str, text: str, secret: str = "") -> None:
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret:
            timestamp = str(int(self._clock()))
            payload.update(timestamp=timestamp, sign=webhook_sign(timestamp, secret))
        await self.post_json(hook_url, payload)

    def check(self, status: int, data: dict[str, Any]) -> None:
        code = data.get("code", data.get("StatusCode", 0))
        message = str(data.get("msg") or data.get("StatusMessage") or "")
        if code == 0:
            super().check(status, data)
            return
        if code in RATE_CODES:
            raise RateLimited(message, platform=self.platform, code=code, retry_after=1.0)
        if code in (WEBHOOK_BAD_SIGN, WEBHOOK_INVALID) or status in (401, 403):
            raise InvalidCredentials(message, platform=self.platform, code=code)
        raise MessageRejected(message, platform=self.platform, code=code)

"""Feishu / Lark bot channel, `connectors.feishu.FeishuInput`.

Event subscription URL: POST /webhooks/feishu/webhook (url_verification answered at
once; events acknowledged within the 3 s deadline). The answer is a reply to the
asker's message through the IM API, with <at user_id="..."> in groups; the tenant
access token is cached by the client and refreshes itself.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel

from connectors.base import GroupChatInput, GroupReplyOutput
from connectors.options import ChannelOptions, required
from platforms.clients.feishu import DEFAULT_BASE_URL, FeishuClient
from platforms.message import IncomingMessage
from platforms.protocol.feishu import PLATFORM, FeishuProtocol


class FeishuOutput(GroupReplyOutput):
    platform = PLATFORM

    def __init__(self, message: IncomingMessage, client: FeishuClient) -> None:
        super().__init__(message)
        self.client = client

    async def deliver(self, text: str) -> None:
        if self.message.is_group:
            text = f'<at user_id="{self.message.user_id}"></at> {text}'
        await self.client.reply_text(str(self.message.reply_to["message_id"]), text)


class FeishuInput(GroupChatInput[FeishuClient]):
    platform = PLATFORM

    @classmethod
    def name(cls) -> str:
        return "feishu"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        creds = required(credentials, "feishu", "app_id", "app_secret", "verification_token")
        return cls(str(creds["app_id"]), str(creds["app_secret"]),
                   str(creds["verification_token"]),
                   encrypt_key=str(creds.get("encrypt_key") or ""),
                   bot_open_id=str(creds.get("bot_open_id") or ""),
                   base_url=str(creds.get("base_url") or DEFAULT_BASE_URL),
                   options=ChannelOptions.from_credentials(creds))

    def __init__(self, app_id: str, app_secret: str, verification_token: str, *,
                 encrypt_key: str = "", bot_open_id: str = "",
                 base_url: str = DEFAULT_BASE_URL, options: ChannelOptions | None = None) -> None:
        options = options or ChannelOptions()
        protocol = FeishuProtocol(verification_token, encrypt_key, bot_open_id,
                                  bot_names=options.bot_names, max_skew=options.skew(300.0))
        super().__init__(options, protocol)
        self.app_id = app_id
        self._app_secret = app_secret
        self.base_url = base_url

    def create_client(self, session: aiohttp.ClientSession) -> FeishuClient:
        return FeishuClient(session, app_id=self.app_id, app_secret=self._app_secret,
                            base_url=self.base_url, timeout=self.options.api_timeout)

    def output_for(self, message: IncomingMessage) -> GroupReplyOutput:
        return FeishuOutput(message, self.client)

"""DingTalk (钉钉) enterprise robot channel, `connectors.dingtalk.DingTalkInput`.

The robot's message URL is POST /webhooks/dingtalk/webhook; the callback is signed
with the app secret (headers timestamp + sign). The answer goes to the callback's
`sessionWebhook`, @-mentioning the asker by staff id.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel

from connectors.base import GroupChatInput, GroupReplyOutput
from connectors.options import ChannelOptions, required
from platforms.clients.dingtalk import DEFAULT_BASE_URL, DingTalkClient
from platforms.errors import MessageRejected
from platforms.message import IncomingMessage
from platforms.protocol.dingtalk import PLATFORM, DingTalkProtocol


class DingTalkOutput(GroupReplyOutput):
    platform = PLATFORM

    def __init__(self, message: IncomingMessage, client: DingTalkClient) -> None:
        super().__init__(message)
        self.client = client

    async def deliver(self, text: str) -> None:
        reply_to = self.message.reply_to
        webhook = str(reply_to.get("session_webhook") or "")
        expires_ms = int(reply_to.get("expires_ms") or 0)
        if not webhook or (expires_ms and expires_ms < time.time() * 1000):
            raise MessageRejected("the sessionWebhook is missing or expired", platform=self.platform)
        staff_id = str(reply_to.get("staff_id") or "")
        if self.message.is_group and staff_id:
            # "@<staffId>" in the text places the @ where DingTalk shows the asker's name.
            await self.client.reply(webhook, f"@{staff_id} {text}", at_user_ids=[staff_id])
        elif self.message.is_group:
            await self.client.reply(webhook, f"@{self.message.user_name} {text}")
        else:
            await self.client.reply(webhook, text)


class DingTalkInput(GroupChatInput[DingTalkClient]):
    platform = PLATFORM

    @classmethod
    def name(cls) -> str:
        return "dingtalk"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        creds = required(credentials, "dingtalk", "app_secret")
        return cls(str(creds["app_secret"]),
                   base_url=str(creds.get("base_url") or DEFAULT_BASE_URL),
                   options=ChannelOptions.from_credentials(creds))

    def __init__(self, app_secret: str, *, base_url: str = DEFAULT_BASE_URL,
                 options: ChannelOptions | None = None) -> None:
        options = options or ChannelOptions()
        super().__init__(options, DingTalkProtocol(app_secret, max_skew=options.skew(3600.0)))
        self.base_url = base_url

    def create_client(self, session: aiohttp.ClientSession) -> DingTalkClient:
        return DingTalkClient(session, base_url=self.base_url, timeout=self.options.api_timeout)

    def output_for(self, message: IncomingMessage) -> GroupReplyOutput:
        return DingTalkOutput(message, self.client)

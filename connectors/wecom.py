"""WeCom (企业微信) intelligent robot channel, registered as `connectors.wecom.WeComInput`.

GET /webhooks/wecom/webhook = URL check; POST = encrypted JSON callback, acknowledged
at once (deadline 1-5 s); the answer goes to the callback's one-time `response_url`
as markdown starting with <@userid>.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel
from sanic import response
from sanic.response import HTTPResponse

from connectors import notices
from connectors.base import GroupChatInput, GroupReplyOutput
from connectors.options import ChannelOptions, required
from core.utf8 import truncate
from platforms.clients.wecom import DEFAULT_BASE_URL, MARKDOWN_MAX_BYTES, WeComClient
from platforms.errors import MessageRejected
from platforms.message import IncomingMessage
from platforms.protocol.wecom import PLATFORM, WeComCrypto, WeComRobotProtocol


class WeComOutput(GroupReplyOutput):
    platform = PLATFORM

    def __init__(self, message: IncomingMessage, client: WeComClient) -> None:
        super().__init__(message)
        self.client = client

    async def deliver(self, text: str) -> None:
        url = str(self.message.reply_to.get("response_url") or "")
        if not url:
            raise MessageRejected("the callback has no response_url", platform=self.platform)
        content = f"<@{self.message.user_id}> {text}" if self.message.is_group else text
        await self.client.respond(url, fit(content, MARKDOWN_MAX_BYTES))


def fit(content: str, max_bytes: int) -> str:
    """A response_url takes one message: cut an over-long answer visibly, never silently."""
    return truncate(content, max_bytes, notices.TRUNCATED)


class WeComInput(GroupChatInput[WeComClient]):
    platform = PLATFORM

    @classmethod
    def name(cls) -> str:
        return "wecom"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        creds = required(credentials, "wecom", "token", "encoding_aes_key")
        return cls(str(creds["token"]), str(creds["encoding_aes_key"]),
                   base_url=str(creds.get("base_url") or DEFAULT_BASE_URL),
                   options=ChannelOptions.from_credentials(creds))

    def __init__(self, token: str, encoding_aes_key: str, *, base_url: str = DEFAULT_BASE_URL,
                 options: ChannelOptions | None = None) -> None:
        options = options or ChannelOptions()
        protocol = WeComRobotProtocol(WeComCrypto(token, encoding_aes_key, receive_id=""),
                                      max_skew=options.skew(300.0))
        super().__init__(options, protocol)
        self.base_url = base_url

    def create_client(self, session: aiohttp.ClientSession) -> WeComClient:
        return WeComClient(session, base_url=self.base_url, timeout=self.options.api_timeout)

    def output_for(self, message: IncomingMessage) -> GroupReplyOutput:
        return WeComOutput(message, self.client)

    def acknowledge(self) -> HTTPResponse:
        return response.text("")

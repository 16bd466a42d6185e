"""Web chat for the union website, plus the demo page that simulates a grid group.

POST /webhooks/webchat/webhook  {"group_id", "user_id", "user_name", "text", "message_id"}
→ {"replies": [{"text": ...}]}. In a group (group_id set) the bot answers only
when @-mentioned (or per the group's rule) and prefixes its reply with "@<asker> ";
a 1:1 chat (no group_id) is always answered. GET /webhooks/webchat/ serves the
demo page. The browser waits for the answer, so it comes back in the HTTP response.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.normalize import DEFAULT_BOT_NAMES
from connectors.base import GroupChatInput, GroupReplyOutput
from connectors.message import IncomingMessage
from connectors.options import ChannelOptions
from connectors.protocol.webchat import PLATFORM, WebChatProtocol

logger = logging.getLogger(__name__)

_DEMO_PAGE = Path(__file__).parent / "static" / "demo.html"


class WebChatOutput(GroupReplyOutput):
    platform = PLATFORM

    async def deliver(self, text: str) -> None:
        # Only reached when the browser stopped waiting: there is nowhere to push to.
        logger.warning("web: answer to message %s came after the browser left",
                       self.message.message_id)


class WebChatInput(GroupChatInput[None]):
    platform = PLATFORM

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(options=ChannelOptions.from_credentials(credentials or {}))

    def __init__(self, bot_names: tuple[str, ...] = DEFAULT_BOT_NAMES,
                 options: ChannelOptions | None = None) -> None:
        options = options or ChannelOptions(bot_names=bot_names)
        super().__init__(options, WebChatProtocol())
        self.bot_names = options.bot_names
        # The turn enforces assistant_timeout itself, so the browser always gets its answer.
        self.inline_wait = options.assistant_timeout + 5.0

    def create_client(self, session: aiohttp.ClientSession) -> None:
        return None

    def output_for(self, message: IncomingMessage) -> GroupReplyOutput:
        return WebChatOutput(message)

    def acknowledge(self) -> HTTPResponse:
        return response.json({"replies": []})

    def answer_inline(self, message: IncomingMessage, texts: list[str]) -> HTTPResponse:
        prefix = f"@{message.user_name} " if message.is_group else ""
        return response.json({"replies": [{"text": prefix + text} for text in texts]})

    def extra_routes(self, blueprint: Blueprint) -> None:
        @blueprint.route("/", methods=["GET"])
        async def demo(_: Request) -> HTTPResponse:
            return response.html(_DEMO_PAGE.read_text(encoding="utf-8"))

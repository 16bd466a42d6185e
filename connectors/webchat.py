"""Web chat for the union website, plus the demo page that simulates a grid group.

POST /webhooks/webchat/webhook  {"group_id", "user_id", "user_name", "text", "message_id"}
→ {"replies": [{"text": ...}]}. In a group (group_id set) the bot answers only
when @-mentioned (or per the group's rule) and prefixes its reply with "@<asker> ";
a 1:1 chat (no group_id) is always answered. GET /webhooks/webchat/ serves the
demo page. The browser waits for the answer, so it comes back in the HTTP response.
GET /webhooks/webchat/notices?group_id=…&after=ID gives the union's broadcast
notices for that web group (the broadcaster stores them; the page polls).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.base import GroupChatInput, GroupReplyOutput
from connectors.options import ChannelOptions
from core.normalize import DEFAULT_BOT_NAMES
from platforms.message import IncomingMessage
from platforms.protocol.webchat import PLATFORM, WebChatProtocol

if TYPE_CHECKING:
    from broadcast.webfeed import WebNoticeFeed

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
        self.feed: WebNoticeFeed | None = None  # opened on the first /notices call

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

        @blueprint.route("/notices", methods=["GET"])
        async def notices(request: Request) -> HTTPResponse:
            return await self.notices(request.args.get("group_id", ""),
                                      request.args.get("after"))

    async def notices(self, group_id: str, after_text: str | None) -> HTTPResponse:
        """GET /notices?group_id=…[&after=ID]: the union's notices for a web group,
        after message ID (without it, the latest ones). Polled by the demo page."""
        if not group_id:
            return response.json({"error": "缺少 group_id 参数"}, status=400)
        after: int | None = None
        if after_text is not None:
            if not after_text.isdigit():
                return response.json({"error": "after 应为非负整数（上次收到的通知编号）"},
                                     status=400)
            after = int(after_text)
        from broadcast.webfeed import UnknownRoom

        feed = self._notice_feed()
        try:
            found = await asyncio.get_running_loop().run_in_executor(
                None, feed.since, group_id, after)
        except UnknownRoom:
            return response.json({"error": f"网格目录中没有这个网页群：{group_id}"}, status=404)
        return response.json({"notices": [n.as_json() for n in found]})

    def _notice_feed(self) -> WebNoticeFeed:
        if self.feed is None:
            from broadcast.webfeed import WebNoticeFeed
            from core import db
            from core.settings import Settings

            self.feed = WebNoticeFeed(db.engine_for(Settings.current().database_url))
        return self.feed

"""OneBot v11 channel for QQ groups (NapCat, Lagrange), `connectors.onebot.OneBotInput`.

The implementation's HTTP POST reporting points at /webhooks/onebot/webhook (with
its `secret` → X-Signature). In `reply_mode: quick` (default) an answer ready within
`quick_reply_wait` seconds rides back in the HTTP response as a quick operation
({"reply", "at_sender"}); a slower one, or any answer in `reply_mode: api`, goes out
through send_group_msg with an `at` segment. Heartbeats are accepted and ignored.
Without a `secret` every post is refused (401) unless `allow_unsigned: true`.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel
from rasa.shared.exceptions import RasaException
from sanic import response
from sanic.response import HTTPResponse

from connectors.base import GroupChatInput, GroupReplyOutput
from connectors.options import ChannelOptions
from platforms.clients.onebot import DEFAULT_BASE_URL, OneBotClient, at_segment, text_segment
from platforms.message import IncomingMessage
from platforms.protocol.onebot import PLATFORM, OneBotProtocol

REPLY_MODES = ("quick", "api")

logger = logging.getLogger(__name__)


class OneBotOutput(GroupReplyOutput):
    platform = PLATFORM

    def __init__(self, message: IncomingMessage, client: OneBotClient) -> None:
        super().__init__(message)
        self.client = client

    async def deliver(self, text: str) -> None:
        if self.message.group_id is not None:
            await self.client.send_group_msg(
                self.message.group_id, [at_segment(self.message.user_id), text_segment(f" {text}")])
        else:
            await self.client.send_private_msg(self.message.user_id, [text_segment(text)])


class OneBotInput(GroupChatInput[OneBotClient]):
    platform = PLATFORM

    @classmethod
    def name(cls) -> str:
        return "onebot"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        creds = dict(credentials or {})
        mode = str(creds.get("reply_mode") or "quick")
        if mode not in REPLY_MODES:
            raise RasaException(f"onebot reply_mode must be one of {REPLY_MODES}, got {mode!r}")
        allow_unsigned = creds.get("allow_unsigned", False)
        if not isinstance(allow_unsigned, bool):
            raise RasaException("onebot allow_unsigned must be true or false")
        return cls(secret=str(creds.get("secret") or ""),
                   allow_unsigned=allow_unsigned,
                   access_token=str(creds.get("access_token") or ""),
                   base_url=str(creds.get("base_url") or DEFAULT_BASE_URL),
                   reply_mode=mode,
                   quick_reply_wait=float(creds.get("quick_reply_wait", 3.0)),
                   options=ChannelOptions.from_credentials(creds))

    def __init__(self, *, secret: str = "", allow_unsigned: bool = False, access_token: str = "",
                 base_url: str = DEFAULT_BASE_URL, reply_mode: str = "quick",
                 quick_reply_wait: float = 3.0, options: ChannelOptions | None = None) -> None:
        options = options or ChannelOptions()
        super().__init__(options, OneBotProtocol(secret, max_skew=options.skew(300.0),
                                                 allow_unsigned=allow_unsigned))
        if not secret and allow_unsigned:
            logger.warning("onebot: allow_unsigned is on and no secret is set: anyone who can "
                           "reach /webhooks/onebot/webhook can post as any QQ member of any "
                           "group. Set the implementation's HTTP POST secret instead.")
        elif not secret:
            logger.error("onebot: no secret is set: every post to /webhooks/onebot/webhook "
                         "will be refused (401). Set `secret` (the implementation's HTTP "
                         "POST secret).")
        self.access_token = access_token
        self.base_url = base_url
        self.inline_wait = quick_reply_wait if reply_mode == "quick" else 0.0

    def create_client(self, session: aiohttp.ClientSession) -> OneBotClient:
        return OneBotClient(session, access_token=self.access_token, base_url=self.base_url,
                            timeout=self.options.api_timeout)

    def output_for(self, message: IncomingMessage) -> GroupReplyOutput:
        return OneBotOutput(message, self.client)

    def acknowledge(self) -> HTTPResponse:
        return response.empty()

    def answer_inline(self, message: IncomingMessage, texts: list[str]) -> HTTPResponse:
        if not texts:
            return self.acknowledge()
        operation: dict[str, Any] = {"reply": "\n\n".join(texts), "auto_escape": True}
        if message.is_group:
            operation["at_sender"] = True
        return response.json(operation)

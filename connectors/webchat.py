"""Web chat for the union website, plus the demo page that simulates a grid group.

POST /webhooks/webchat/session → {"session", "user_id", "expires_in"}: a signed
session (see `platforms.protocol.webchat`); the browser sends it with every message.
POST /webhooks/webchat/webhook  {"group_id", "user_name", "text", "message_id"} with
header `X-Session: <session>` (or a "session" field) → {"replies": [{"text": ...}]}.
A missing, forged or expired session is a 401; the user id is the session's. In a
group (group_id set) the bot answers only when @-mentioned (or per the group's rule)
and prefixes its reply with "@<asker> "; a 1:1 chat (no group_id) is always answered.
Besides the per-session flood limit, each client address (IPv6: each /64) may post
`address_flood_limit` messages per `flood_window` (429 beyond), and when more than
`max_waiting_turns` questions wait for the assistant, new ones get 503 (busy).
The client address is the peer's; X-Forwarded-For is believed only from the
`trusted_proxies` (addresses or CIDR ranges) configured in the channel's block.
GET /webhooks/webchat/ serves the demo page. GET /webhooks/webchat/notices?group_id=…
&after=ID gives the union's broadcast notices for that web group (the page polls).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from rasa.core.channels.channel import InputChannel
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors import notices
from connectors.base import GroupChatInput, GroupReplyOutput, OnNewMessage
from connectors.flood import FloodGuard, Verdict
from connectors.options import ChannelOptions
from core.normalize import DEFAULT_BOT_NAMES
from core.secret_files import read_or_create
from platforms.message import IncomingMessage, RawRequest
from platforms.protocol.webchat import (
    PLATFORM,
    SESSION_TTL,
    IPNetwork,
    SessionSigner,
    WebChatProtocol,
    client_address,
    parse_networks,
    rate_key,
)

if TYPE_CHECKING:
    from broadcast.webfeed import WebNoticeFeed

logger = logging.getLogger(__name__)

_DEMO_PAGE = Path(__file__).parent / "static" / "demo.html"
SECRET_FILE = "webchat_secret"     # in DATA_DIR, when no session_secret is configured
MAX_NOTICE_ID = 2**63 - 1          # notice ids are BIGINT
ADDRESS_FLOOD_LIMIT = 12           # messages per client address per flood_window
MAX_WAITING_TURNS = 20             # questions waiting for a turn slot before "busy"


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
        creds = dict(credentials or {})
        secret = str(creds.get("session_secret") or "")
        if secret and len(secret) < 16:
            raise RasaException("webchat session_secret must be at least 16 characters")
        proxies = creds.get("trusted_proxies") or []
        if isinstance(proxies, str):
            proxies = [proxies]
        try:
            return cls(options=ChannelOptions.from_credentials(creds),
                       session_secret=secret,
                       session_ttl=float(creds.get("session_ttl", SESSION_TTL)),
                       trusted_proxies=parse_networks(proxies),
                       address_flood_limit=int(creds.get("address_flood_limit",
                                                         ADDRESS_FLOOD_LIMIT)),
                       max_waiting_turns=int(creds.get("max_waiting_turns", MAX_WAITING_TURNS)))
        except (TypeError, ValueError) as exc:
            raise RasaException(f"invalid webchat setting: {exc}") from exc

    def __init__(self, bot_names: tuple[str, ...] = DEFAULT_BOT_NAMES,
                 options: ChannelOptions | None = None, *, session_secret: str = "",
                 session_ttl: float = SESSION_TTL, trusted_proxies: tuple[IPNetwork, ...] = (),
                 address_flood_limit: int = ADDRESS_FLOOD_LIMIT,
                 max_waiting_turns: int = MAX_WAITING_TURNS) -> None:
        options = options or ChannelOptions(bot_names=bot_names)
        key: bytes | Callable[[], bytes] = session_secret.encode() if session_secret \
            else _file_secret
        self.sessions = SessionSigner(key, ttl=session_ttl)
        super().__init__(options, WebChatProtocol(self.sessions))
        self.bot_names = options.bot_names
        self.trusted_proxies = trusted_proxies
        self.address_flood = FloodGuard(address_flood_limit, options.flood_window)
        self.max_waiting_turns = max(0, max_waiting_turns)
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
        """One reply per turn, as in every group (the texts of the turn joined)."""
        if not texts:
            return self.acknowledge()
        prefix = f"@{message.user_name} " if message.is_group else ""
        return response.json({"replies": [{"text": prefix + "\n\n".join(texts)}]})

    def raw_request(self, request: Request) -> RawRequest:
        client = client_address(request.ip, request.headers.getall("x-forwarded-for", []),
                                self.trusted_proxies)
        return replace(super().raw_request(request), client=client)

    async def handle(self, raw: RawRequest, on_new_message: OnNewMessage) -> HTTPResponse:
        """Per-address limit and the backlog bound first: both refuse before any work."""
        if self.address_flood.check(rate_key(raw.client)) is not Verdict.ALLOW:
            logger.info("web: address %s over its message limit", raw.client)
            return response.json({"error": notices.ADDRESS_FLOODED}, status=429,
                                 headers={"Retry-After": f"{self.options.flood_window:.0f}"})
        waiting = self.pending - self.options.max_concurrent_turns
        if waiting >= self.max_waiting_turns:
            logger.warning("web: %d questions waiting; answering busy", waiting)
            return response.json({"error": notices.BUSY}, status=503,
                                 headers={"Retry-After": "10"})
        return await super().handle(raw, on_new_message)

    def new_session(self) -> HTTPResponse:
        session = self.sessions.issue()
        return response.json({"session": session.token, "user_id": session.user_id,
                              "expires_in": int(self.sessions.ttl)},
                             headers={"Cache-Control": "no-store"})

    def extra_routes(self, blueprint: Blueprint) -> None:
        @blueprint.route("/", methods=["GET"])
        async def demo(_: Request) -> HTTPResponse:
            return response.html(_DEMO_PAGE.read_text(encoding="utf-8"))

        @blueprint.route("/session", methods=["POST"])
        async def session(_: Request) -> HTTPResponse:
            return self.new_session()

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
            if not (after_text.isascii() and after_text.isdigit()):
                return response.json({"error": "after 应为非负整数（上次收到的通知编号）"},
                                     status=400)
            if len(after_text) > len(str(MAX_NOTICE_ID)) or int(after_text) > MAX_NOTICE_ID:
                return response.json({"error": f"after 超出范围：通知编号不大于 {MAX_NOTICE_ID}"},
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


def _file_secret() -> bytes:
    from core.settings import Settings

    return load_secret(Settings.current().data_dir / SECRET_FILE)


def load_secret(path: Path) -> bytes:
    """The session key in `path`, created (32 random bytes, hex, mode 0600) if missing."""
    secret = read_or_create(path, lambda: secrets.token_hex(32), "web chat session key")
    if len(secret) < 32:
        raise RasaException(f"{path} holds no usable key: delete it to have a new one generated")
    return secret.encode("ascii")

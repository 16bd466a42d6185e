"""What every fake platform shares: an aiohttp server for the platform's API with
fault injection, a client that posts callbacks to the bot, and the record of
replies the bot sent back."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

import aiohttp
from aiohttp import web

BOT_NAME = "云博士"
SignatureMode = Literal["valid", "wrong", "missing"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FakeT = TypeVar("FakeT", bound="FakePlatform")


@dataclass(frozen=True)
class Reply:
    """What the bot said, as the platform's clients would show it."""

    group_id: str | None
    mentioned: str | None  # the user the reply @-mentions
    text: str
    at: float = field(default_factory=time.monotonic, compare=False)  # when it arrived


@dataclass(frozen=True)
class BotResponse:
    status: int
    body: str
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Recorded:
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class Fault:
    kind: Literal["error", "rate_limit", "timeout"]
    status: int = 500
    seconds: float = 0.0


@dataclass
class Faults:
    """Faults the platform API injects, in order, one per API call."""

    latency: float = 0.0
    queue: deque[Fault] = field(default_factory=deque)

    def error(self, status: int = 500, times: int = 1) -> None:
        self.queue.extend(Fault("error", status=status) for _ in range(times))

    def rate_limit(self, times: int = 1) -> None:
        self.queue.extend(Fault("rate_limit") for _ in range(times))

    def timeout(self, seconds: float = 30.0, times: int = 1) -> None:
        self.queue.extend(Fault("timeout", seconds=seconds) for _ in range(times))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakePlatform(ABC):
    channel: ClassVar[str]  # the Rasa channel name (URL /webhooks/<channel>/webhook)

    def __init__(self, *, port: int = 0, bot_url: str = "") -> None:
        self.port = port
        self.bot_url = bot_url
        self.records: list[Recorded] = []
        self.replies: list[Reply] = []
        self.faults = Faults()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._seq = int(time.time() * 1000) % 1_000_000 * 1000
        self._reply_event = asyncio.Event()

    # --- what each platform provides -----------------------------------------------
    @abstractmethod
    def credentials(self) -> dict[str, Any]:
        """The credentials.yml block that points the connector at this fake."""

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """The platform API endpoints the bot calls."""

    @abstractmethod
    def text_message(self, group_id: str | None, user_id: str, text: str, *,
                     mention: bool = True, message_id: str | None = None,
                     user_name: str = "王师傅") -> dict[str, Any]:
        """A text message as the platform delivers it ("@云博士" added when mention)."""

    @abstractmethod
    def media_message(self, group_id: str | None, user_id: str, kind: Literal["image", "voice"],
                      *, mention: bool = True) -> dict[str, Any]: ...

    @abstractmethod
    def at_all_message(self, group_id: str, user_id: str, text: str) -> dict[str, Any]: ...

    @abstractmethod
    async def deliver(self, payload: dict[str, Any], *, signature: SignatureMode = "valid",
                      timestamp: float | None = None, raw_body: bytes | None = None) -> BotResponse:
        """Send a callback to the bot the way the platform does."""

    def expected_mention(self, user_id: str, user_name: str) -> str:
        return user_id

    def rate_limit_response(self) -> web.Response:
        return web.json_response({"error": "rate limited"}, status=429)

    # --- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self: FakeT) -> FakeT:
        app = web.Application(middlewares=[self._inject_faults])
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self: FakeT) -> FakeT:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # --- helpers for subclasses and tests --------------------------------------------
    def next_id(self) -> int:
        self._seq += 1
        return self._seq

    def add_reply(self, reply: Reply) -> None:
        self.replies.append(reply)
        self._reply_event.set()

    async def wait_for_replies(self, count: int = 1, timeout: float = 10.0) -> list[Reply]:
        deadline = time.monotonic() + timeout
        while len(self.replies) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.channel}: expected {count} replies, "
                                     f"got {len(self.replies)}: {self.replies}")
            self._reply_event.clear()
            try:
                await asyncio.wait_for(self._reply_event.wait(), timeout=remaining)
            except asyncio.TimeoutError:
                continue
        return list(self.replies)

    async def send_group_message(self, group_id: str, user_id: str, text: str,
                                 **kwargs: Any) -> BotResponse:
        return await self.deliver(self.text_message(group_id, user_id, text, **kwargs))

    async def post(self, url: str, body: bytes, *, headers: Mapping[str, str] | None = None,
                   params: Mapping[str, str] | None = None, method: str = "POST") -> BotResponse:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        started = time.monotonic()
        async with self._client.request(method, url, data=body, headers=headers, params=params,
                                        timeout=aiohttp.ClientTimeout(total=90)) as resp:
            text = await resp.text()
        return BotResponse(resp.status, text, time.monotonic() - started)

    async def record(self, request: web.Request) -> Any:
        body = await request.json() if request.can_read_body else None
        self.records.append(Recorded(request.path, dict(request.query),
                                     dict(request.headers), body))
        return body

    @web.middleware
    async def _inject_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if self.faults.queue:
            fault = self.faults.queue.popleft()
            if fault.kind == "rate_limit":
                return self.rate_limit_response()
            if fault.kind == "timeout":
                await asyncio.sleep(fault.seconds)
            return web.json_response({"error": f"injected {fault.kind}"}, status=fault.status)
        return await handler(request)

"""The Sanic side every group-chat connector shares (one base, not copies).

Per webhook request: refuse an oversized body (413) → verify then parse (the
platform's protocol object) → answer URL checks at once → bound the message once
(`IncomingMessage.bounded()`: text clipped to MAX_MESSAGE_CHARS, lone surrogates
dropped) → drop platform retries (dedupe on the message id) → decide (group
rule / @-mention, flood limit, non-text) → run the assistant in a tracked
background task → acknowledge within the platform's deadline. The
reply goes out once per turn, in the same chat, @-mentioning the asker.
Platforms that can answer in the HTTP response (OneBot quick operation, web
chat) wait up to `inline_wait` seconds for it and fall back to their push API.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors import notices
from connectors.backoffice import BackOffice
from connectors.dedupe import DedupeStore, MemoryDedupeStore
from connectors.flood import FloodGuard
from connectors.options import ChannelOptions
from connectors.policy import Action, AnswerPolicy, Decision
from core.normalize import MentionMatcher
from platforms.errors import DeliveryError, InboundError
from platforms.message import Event, Ignored, Immediate, IncomingMessage, MessageKind, RawRequest

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
ClientT = TypeVar("ClientT")
DRAIN_SECONDS = 10.0


class WebhookProtocol(Protocol):
    def handle(self, raw: RawRequest) -> Event: ...


class GroupReplyOutput(OutputChannel, ABC):
    """Buffers what the assistant says in one turn; `flush()` sends it as one
    message into the chat it came from, @-mentioning the asker."""

    platform: ClassVar[str] = "group"

    @classmethod
    def name(cls) -> str:
        return cls.platform

    def __init__(self, message: IncomingMessage) -> None:
        self.message = message
        self.texts: list[str] = []

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        if text and text.strip():
            self.texts.append(text.strip())

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        self.texts.append(f"图片：{image}")

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        options = [f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, start=1)]
        await self.send_text_message(recipient_id, "\n".join([text, *options]))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        logger.debug("%s: custom payloads are not shown in group chats", self.platform)

    def take(self) -> list[str]:
        texts, self.texts = self.texts, []
        return texts

    async def flush(self) -> None:
        texts = self.take()
        if texts:
            await self.deliver("\n\n".join(texts))

    @abstractmethod
    async def deliver(self, text: str) -> None:
        """Send `text` to the chat of `self.message`, @-mentioning the asker in a group."""


@dataclass
class _Turn:
    inline: bool  # True while the webhook handler still waits to answer in its response


class GroupChatInput(InputChannel, ABC, Generic[ClientT]):
    platform: ClassVar[str] = "group"
    inline_wait: float = 0.0

    def __init__(self, options: ChannelOptions, protocol: WebhookProtocol,
                 dedupe: DedupeStore | None = None) -> None:
        self.options = options
        self.protocol = protocol
        self.policy = AnswerPolicy(
            MentionMatcher(options.bot_names),
            FloodGuard(options.flood_limit, options.flood_window),
            options.default_rule,
            options.group_rules,
        )
        self.dedupe = dedupe or MemoryDedupeStore(ttl=options.dedupe_ttl)
        self.backoffice: BackOffice | None = (BackOffice(self.policy.matcher)
                                              if options.back_office else None)
        self._tasks: set[asyncio.Task[None]] = set()
        # Rasa answers a message in one stretch of CPU work without yielding. Unbounded,
        # a burst of N questions becomes one event-loop pass of N answers: every reply
        # and every acknowledgement then waits for the whole burst. A few turns at a
        # time, each holding its slot until its reply is delivered, keep both flowing.
        self._turn_slots = asyncio.Semaphore(max(1, options.max_concurrent_turns))
        self._session: aiohttp.ClientSession | None = None
        self._client: ClientT | None = None

    # --- what each platform provides -------------------------------------------------
    @abstractmethod
    def create_client(self, session: aiohttp.ClientSession) -> ClientT:
        """The platform's send client, built once on first use."""

    @abstractmethod
    def output_for(self, message: IncomingMessage) -> GroupReplyOutput:
        """The output channel that answers `message`."""

    def acknowledge(self) -> HTTPResponse:
        return response.json({})

    def answer_inline(self, message: IncomingMessage, texts: list[str]) -> HTTPResponse:
        """The HTTP answer carrying the reply (platforms with inline_wait > 0)."""
        return self.acknowledge()

    def extra_routes(self, blueprint: Blueprint) -> None:
        """Routes beyond /webhook and /health (e.g. the web chat demo page)."""

    # --- shared machinery -----------------------------------------------------------
    @property
    def client(self) -> ClientT:
        if self._client is None:
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession()
            self._client = self.create_client(self._session)
        return self._client

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint(f"{self.name()}_webhook", __name__)

        @bp.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET", "POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle(self.raw_request(request), on_new_message)

        @bp.listener("before_server_stop")
        async def drain(*_: Any) -> None:
            await self.aclose()

        self.extra_routes(bp)
        return bp

    def raw_request(self, request: Request) -> RawRequest:
        """What the protocol sees of the request; `client` is the peer's address."""
        return _raw(request, client=request.ip)

    async def handle(self, raw: RawRequest, on_new_message: OnNewMessage) -> HTTPResponse:
        if len(raw.body) > self.options.max_body_bytes:
            logger.warning("%s: refused a %d-byte body (limit %d)", self.platform, len(raw.body),
                           self.options.max_body_bytes)
            return response.json({"error": notices.TOO_LARGE}, status=413)
        try:
            event = self.protocol.handle(raw)
        except InboundError as exc:
            logger.warning("%s: rejected a webhook call with %s: %s", self.platform, exc.status, exc)
            return response.json({"error": str(exc)}, status=exc.status)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError):
            # A payload shape the parser did not expect: refuse it, keep the cause in the log.
            logger.warning("%s: unexpected payload shape", self.platform, exc_info=True)
            return response.json({"error": "unexpected payload"}, status=400)
        if isinstance(event, Immediate):
            if isinstance(event.body, dict):
                return response.json(event.body, status=event.status)
            return response.text(event.body, status=event.status)
        if isinstance(event, Ignored):
            logger.debug("%s: ignored (%s)", self.platform, event.reason)
            return self.acknowledge()
        return await self.accept(event.bounded(), on_new_message)

    async def accept(self, message: IncomingMessage, on_new_message: OnNewMessage) -> HTTPResponse:
        if not await self.dedupe.claim(message.retry_key):
            logger.info("%s: message %s already handled (platform retry)", self.platform,
                        message.message_id)
            return self.acknowledge()
        decision = await self._back_office(message)
        if decision is None:
            decision = self.policy.decide(message)
        if decision.action is Action.IGNORE:
            logger.debug("%s: not answering %s: %s", self.platform, message.message_id,
                         decision.reason)
            return self.acknowledge()
        output = self.output_for(message)
        turn = _Turn(inline=self.inline_wait > 0)
        task = self.spawn(self._run_turn(message, decision, output, turn, on_new_message))
        if not turn.inline:
            return self.acknowledge()
        try:
            await asyncio.wait({task}, timeout=self.inline_wait)
        finally:
            if not task.done():
                turn.inline = False  # too slow for the HTTP answer: the turn pushes its reply
        if not task.done():
            return self.acknowledge()
        return self.answer_inline(message, output.take())

    async def _back_office(self, message: IncomingMessage) -> Decision | None:
        """Commands of coordinators and staff (#回复 …) and ratings (满意 / 不满意) are the
        back office's, whether or not the bot was @-mentioned; the rest goes on."""
        if self.backoffice is None or message.kind is not MessageKind.TEXT:
            return None
        try:
            reply = await self.backoffice.handle(message)
        except Exception:  # the back office being down must not silence the front desk
            logger.exception("%s: the back office failed on message %s", self.platform,
                             message.message_id)
            return Decision(Action.NOTICE, notices.FAILED, reason="back office failed") \
                if BackOffice.is_command(message.text) else None
        return None if reply is None else Decision(Action.NOTICE, reply, reason="back office")

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_turn(self, message: IncomingMessage, decision: Decision,
                        output: GroupReplyOutput, turn: _Turn,
                        on_new_message: OnNewMessage) -> None:
        async with self._turn_slots:
            await self._answer(message, decision, output, turn, on_new_message)

    async def _answer(self, message: IncomingMessage, decision: Decision,
                      output: GroupReplyOutput, turn: _Turn,
                      on_new_message: OnNewMessage) -> None:
        try:
            if decision.action is Action.NOTICE:
                await output.send_text_message(message.sender_id, decision.text)
            else:
                user_message = UserMessage(decision.text, output, message.sender_id,
                                           input_channel=self.name(),
                                           message_id=message.message_id,
                                           metadata=message.metadata())
                await self._ask(user_message, on_new_message)
        except Exception:  # the group still gets an answer; the cause goes to the log
            logger.exception("%s: the assistant failed on message %s", self.platform,
                             message.message_id)
            if not output.texts:
                output.texts.append(notices.FAILED)
        if turn.inline:
            return
        try:
            await output.flush()
        except DeliveryError as exc:
            level = logging.WARNING if exc.transient else logging.ERROR
            logger.log(level, "%s: reply to message %s not delivered: %s", self.platform,
                       message.message_id, exc)

    async def _ask(self, user_message: UserMessage, on_new_message: OnNewMessage) -> None:
        """Run the assistant in this task with a deadline. (asyncio.wait_for would wrap
        it in another task: one more trip round the event loop per turn, and under a
        burst each trip waits for every other message's NLU step.)"""
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        timer = asyncio.get_running_loop().call_later(self.options.assistant_timeout, expire)
        try:
            await on_new_message(user_message)
        except asyncio.CancelledError:
            if not expired:
                raise
            raise asyncio.TimeoutError(
                f"no answer within {self.options.assistant_timeout:.0f}s") from None
        finally:
            timer.cancel()

    async def aclose(self) -> None:
        """Let running turns finish (bounded), then release the HTTP session."""
        if self._tasks:
            _, still_running = await asyncio.wait(set(self._tasks), timeout=DRAIN_SECONDS)
            for task in still_running:
                task.cancel()
            if still_running:
                await asyncio.wait(still_running, timeout=1.0)
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._client = None


def _raw(request: Request, client: str) -> RawRequest:
    args = request.get_args(keep_blank_values=True)
    return RawRequest(
        method=request.method,
        query={key: values[0] for key, values in args.items() if values},
        headers={key.lower(): value for key, value in request.headers.items()},
        body=request.body or b"",
        client=client,
    )

"""The back office's side of a group chat, answered without the assistant:
coordinators' and staff's commands (`#回复 T-000457 答复内容`, `#转办 T-000457 法律援助中心
原因`, `#办结 T-000457`; on QQ also a quoted reply to the bot's ticket message, which is
`#回复` with that ticket's id) and an asker's rating of an answer (满意 / 不满意). The sender's
identity is the platform's (a signed callback), never something typed in the message;
the ticket service checks who may do what."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from core.normalize import MentionMatcher
from platforms.message import IncomingMessage
from tickets.model import Person, TicketError
from tickets.service import TicketService

logger = logging.getLogger(__name__)

_COMMAND = re.compile(r"^\s*[#＃]\s*(回复|答复|转办|办结)\s*(T-?\d{1,9})\s*(.*)$", re.S | re.I)
SATISFIED = frozenset({"满意", "非常满意", "很满意", "满意了", "满意！", "满意。"})
UNSATISFIED = frozenset({"不满意", "不太满意", "很不满意", "不满意！", "不满意。"})
USAGE = "格式：#回复 T-000457 答复内容 ／ #转办 T-000457 部门 原因 ／ #办结 T-000457"


class BackOffice:
    def __init__(self, matcher: MentionMatcher,
                 service: Callable[[], TicketService] | None = None) -> None:
        self.matcher = matcher
        self._service = service

    def service(self) -> TicketService:
        if self._service is None:
            from tickets.factory import service_for

            self._service = service_for
        return self._service()

    @staticmethod
    def is_command(text: str) -> bool:
        return bool(re.match(r"^\s*[#＃]\s*(回复|答复|转办|办结)", text))

    async def handle(self, message: IncomingMessage) -> str | None:
        """The reply to a command or a rating; None when the message is neither."""
        text = self.matcher.strip(message.text)
        person = Person(message.platform, message.user_id, message.user_name)
        if self.is_command(text):
            return await asyncio.to_thread(self._command, text, person)
        if message.quoted_id and text.strip():
            number = await asyncio.to_thread(self.service().quoted, message.platform,
                                             message.quoted_id)
            if number is not None:  # a quoted reply to the bot's ticket message
                return await asyncio.to_thread(self._command, f"#回复 {number} {text}", person)
        word = text.strip()
        if word in SATISFIED or word in UNSATISFIED:
            return await asyncio.to_thread(self._rate, person, word in SATISFIED)
        return None

    def _command(self, text: str, person: Person) -> str:
        match = _COMMAND.match(text)
        if not match:
            return USAGE
        verb, number, rest = match.group(1), match.group(2).upper(), match.group(3).strip()
        service = self.service()
        try:
            if verb in ("回复", "答复"):
                ticket = service.answer(number, person, rest)
                return f"已答复 {ticket.number}，答复已发给提问人。"
            if verb == "转办":
                office, _, reason = rest.partition(" ")
                ticket = service.transfer(number, office, person, reason.strip())
                return f"{ticket.number} 已转给{office}，已告知提问人。"
            ticket = service.close(number, person)
            return f"{ticket.number} 已办结。"
        except TicketError as exc:
            return str(exc)

    def _rate(self, person: Person, satisfied: bool) -> str | None:
        try:
            return self.service().rate(person, satisfied)
        except Exception:  # the rating is not worth failing the message for; it is logged
            logger.exception("Could not store a rating from %s", person.platform)
            return None

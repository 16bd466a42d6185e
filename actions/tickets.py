"""Ticket actions: a person asked for (转人工, or "帮我转给工作人员" after a topic that
needs follow-up, or after the second miss) becomes a ticket for the grid's
coordinator; "我的问题有回复了吗" / "T-000457 办得怎么样了" lists the asker's own tickets.

Thin: the question, asker, grid and topic are read from the tracker; the work is
`tickets.service.TicketService` (built once per process by `tickets.factory`).
The asker is the platform's signed identity in the message metadata (on the web,
the server-issued session), never a name typed in the message."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.topics import topic_of
from tickets.model import NUMBER, Kind, Person, TicketDraft, TicketError
from tickets.service import TicketService

logger = logging.getLogger(__name__)

HANDOFF, STATUS = "human_handoff", "ticket_status"
KIND_OF_TOPIC = {"complaint_report": Kind.COMPLAINT, "suggestion": Kind.SUGGESTION,
                 "wage_arrears": Kind.HELP, "work_injury": Kind.HELP, "legal_aid": Kind.HELP,
                 "hardship_aid": Kind.HELP, "medical_mutual_aid": Kind.HELP,
                 "education_aid": Kind.HELP}
_RELAY = re.compile(r"(?:替|帮|代)(?:楼里|楼下|楼上|隔壁|我们?(?:小区|楼)的?)?(.{1,8}?)(?:问一?下|问问|咨询|打听)")
UNAVAILABLE = "抱歉，现在没法登记您的问题。请拨打 12351 职工服务热线，或在本群@网格员说明情况。"

ServiceFactory = Callable[[], TicketService]


def default_service() -> TicketService:
    from tickets.factory import service_for

    return service_for()


def asker_of(tracker: Tracker) -> tuple[Person, str | None]:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    platform = str(metadata.get("platform") or "cli")
    user_id = str(metadata.get("user_id") or tracker.sender_id)
    name = str(metadata.get("user_name") or "")
    group = metadata.get("group_id")
    return Person(platform, user_id, name), (str(group) if group else None)


def user_turns(tracker: Tracker) -> list[dict[str, Any]]:
    return [e for e in tracker.events or [] if e.get("event") == "user"]


def question_of(tracker: Tracker) -> tuple[str, str, tuple[str, ...]]:
    """(question, topic guess, last turns): the latest user message that was not the
    request for a person, else the request itself."""
    turns = user_turns(tracker)
    texts = tuple(str(e.get("text") or "") for e in turns[-6:])
    for event in reversed(turns[:-1]):
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        if intent in (HANDOFF, STATUS) or not str(event.get("text") or "").strip():
            continue
        # after a fallback, the topic it fell back from
        return str(event.get("text")), topic_of(parse).topic, texts
    latest = tracker.latest_message or {}
    return str(latest.get("text") or ""), "human_handoff", texts


def relay(question: str) -> str:
    """The resident a coordinator asks for ("替楼里刘阿姨问一下…" → "刘阿姨"), or ""."""
    match = _RELAY.search(question)
    return match.group(1) if match else ""


def grid_of(platform: str, group_id: str | None) -> str | None:
    if not group_id:
        return None
    from core.settings import Settings
    from grids.service import service_for

    try:
        view = service_for(Settings.current().database_url).group_view(platform, group_id)
    except Exception:
        logger.warning("No grid directory to find group %s/%s", platform, group_id)
        return None
    return view.grid.code if view else None


class ActionCreateTicket(Action):
    def __init__(self, service: ServiceFactory | None = None,
                 grid: Callable[[str, str | None], str | None] | None = None) -> None:
        self._service = service or default_service
        self._grid = grid or grid_of

    def name(self) -> str:
        return "action_create_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        asker, group = asker_of(tracker)
        question, topic, turns = question_of(tracker)
        resident = relay(question)
        try:
            grid = await asyncio.to_thread(self._grid, asker.platform, group)
            draft = TicketDraft(question=question, asker=asker, group_id=group, grid_code=grid,
                                topic=topic, kind=KIND_OF_TOPIC.get(topic, Kind.CONSULT),
                                turns=turns, relayed_by=asker if resident else None,
                                resident=resident)
            _, reply = await asyncio.to_thread(self._service().create, draft)
        except TicketError as exc:
            reply = str(exc)
        except Exception:
            logger.exception("Could not create a ticket")
            reply = UNAVAILABLE
        dispatcher.utter_message(text=reply)
        return []


class ActionTicketStatus(Action):
    def __init__(self, service: ServiceFactory | None = None) -> None:
        self._service = service or default_service

    def name(self) -> str:
        return "action_ticket_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        asker, _ = asker_of(tracker)
        text = str((tracker.latest_message or {}).get("text") or "")
        match = NUMBER.search(text)
        try:
            reply = await asyncio.to_thread(self._service().status_reply, asker,
                                            match.group(0) if match else None)
        except TicketError as exc:
            reply = str(exc)
        except Exception:
            logger.exception("Could not read tickets")
            reply = "抱歉，现在查不到进度，请稍后再试，或拨打 12351 职工服务热线。"
        dispatcher.utter_message(text=reply)
        return []

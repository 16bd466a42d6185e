"""Grid actions: the responsible union office, and "my grid" with its coordinator.

A message from a known chat group (metadata `platform` + `group_id`) answers
for that group's grid. Otherwise the address in the message (or the `address`
entity) is resolved; when there is none, or it is ambiguous, `address_form`
asks for it (`action_ask_address` words the question, `validate_address_form`
resolves each reply, `action_answer_address` answers once the form is done).
After two unusable replies the answer falls back to the district federation.
`address_attempts` counts those replies; `address_hint` keeps an ambiguous
address so that a reply like "联盟街道的" completes it.

Actions stay thin: the work is in `grids.service` and `grids.replies`. The
directory is opened on the first call, from Settings.current().database_url,
and blocking work runs in a thread so the action server's loop stays free.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from core.clock import LocalClock, shanghai_now
from grids.directory import DirectoryError
from grids.lookup import AMBIGUOUS, RESOLVED, Resolution
from grids.replies import (
    UNAVAILABLE,
    district_fallback,
    grid_card,
    office_for_grid,
    office_for_place,
)
from grids.service import DirectoryService

logger = logging.getLogger(__name__)

FORM = "address_form"
ADDRESS, HINT, ATTEMPTS, REQUEST = "address", "address_hint", "address_attempts", "grid_request"
FIND_OFFICE, MY_GRID = "find_office", "my_grid"
MAX_ATTEMPTS = 2
ASK = "请告诉我您住的小区和楼号，例如“联盟小区5号楼”，我帮您查。"
NOT_FOUND_AGAIN = "没有找到“{text}”。请说一下小区名和楼号，例如“联盟小区5号楼”，也可以说街道或社区。"

ServiceFactory = Callable[[], DirectoryService]
Clock = LocalClock


def default_service() -> DirectoryService:
    from core.settings import Settings
    from grids.service import service_for

    return service_for(Settings.current().database_url)


def chat_group(tracker: Tracker) -> tuple[str, str] | None:
    """(platform, group_id) of the message's chat group, if the channel sent them."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    if not metadata:
        for event in reversed(tracker.events or []):
            if event.get("event") == "user":
                metadata = event.get("metadata") or {}
                break
    platform, group_id = metadata.get("platform"), metadata.get("group_id")
    if platform and group_id:
        return str(platform), str(group_id)
    return None


def nlu_resolution(tracker: Tracker) -> Resolution | None:
    """The resolution the NLU component (`bot.nlu.AddressGazetteer`) attached to the
    message's `address` entity: the same directory already resolved this text."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        data = entity.get("resolution") if entity.get("entity") == ADDRESS else None
        if isinstance(data, dict):
            try:
                return Resolution.from_dict(data)
            except (KeyError, TypeError, ValueError, IndexError):
                logger.warning("Ignoring a malformed address resolution in the message")
    return None


def reset() -> list[dict[str, Any]]:
    return [SlotSet(ADDRESS, None), SlotSet(HINT, None), SlotSet(ATTEMPTS, None),
            SlotSet(REQUEST, None)]


def settled(resolution: Resolution, request: str) -> bool:
    """Whether the resolution is enough to answer `request` without asking."""
    if resolution.status == RESOLVED:
        return request == FIND_OFFICE or resolution.candidates[0].grid_code is not None
    if resolution.status == AMBIGUOUS and request == FIND_OFFICE:
        offices = {c.office_code for c in resolution.candidates}
        return len(offices) == 1 and None not in offices
    return False


class _GridAction(Action, abc.ABC):
    """Shared flow of the grid actions; abstract, so rasa-sdk does not register it."""

    request = FIND_OFFICE

    def __init__(self, service: ServiceFactory | None = None, clock: Clock | None = None) -> None:
        self._service = service or default_service
        self._clock = clock or shanghai_now

    @abc.abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    def answer(self, service: DirectoryService, resolution: Resolution | None,
               request: str, from_group_view: Any = None) -> str:
        """The reply text for a settled resolution (or a group's grid view)."""
        now = self._clock()
        if from_group_view is not None:
            office = service.responsible_office(from_group_view)
            if request == MY_GRID:
                return grid_card(from_group_view, office, from_group=True)
            return office_for_grid(from_group_view, office, now, from_group=True)
        if resolution is None or not settled(resolution, request):
            reason = ("没能确定您所在的网格。" if request == MY_GRID
                      else "没能确定离您最近的服务站。")
            return district_fallback(service.district_office(), now, reason)
        best = resolution.candidates[0]
        if best.grid_code is None:
            return office_for_place(best, service.office(best.office_code), now)
        view = service.grid_view(best.grid_code)
        office = service.office(best.office_code) or service.responsible_office(view)
        if request == MY_GRID:
            return grid_card(view, office, from_group=False)
        return office_for_grid(view, office, now, from_group=False)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return await asyncio.to_thread(self._run, dispatcher, tracker)
        except DirectoryError as exc:
            logger.warning("%s without directory: %s", self.name(), exc)
            dispatcher.utter_message(text=f"{exc}。{UNAVAILABLE}")
            return reset()

    def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        service = self._service()
        group = chat_group(tracker)
        view = service.group_view(*group) if group else None
        if view is not None:
            dispatcher.utter_message(text=self.answer(service, None, self.request, view))
            return reset()
        text = self.address_text(tracker)
        resolution = nlu_resolution(tracker) or (service.resolve(text) if text else None)
        if resolution is not None and settled(resolution, self.request):
            dispatcher.utter_message(text=self.answer(service, resolution, self.request))
            return reset()
        hint = None
        if resolution is not None and resolution.question:
            dispatcher.utter_message(text=resolution.question)
            hint = text
        return [SlotSet(REQUEST, self.request), SlotSet(ADDRESS, None), SlotSet(HINT, hint),
                SlotSet(ATTEMPTS, 0.0), FollowupAction(FORM)]

    @staticmethod
    def address_text(tracker: Tracker) -> str:
        """The address to resolve: the whole message, which carries any `address` entity."""
        message = tracker.latest_message or {}
        text = str(message.get("text") or "")
        entity = next((e.get("value") for e in message.get("entities") or []
                       if e.get("entity") == ADDRESS and e.get("value")), None)
        if entity and str(entity) not in text:
            text = f"{text} {entity}"
        return text.strip()


class ActionFindOffice(_GridAction):
    request = FIND_OFFICE

    def name(self) -> str:
        return "action_find_office"


class ActionMyGrid(_GridAction):
    request = MY_GRID

    def name(self) -> str:
        return "action_my_grid"


class ActionAnswerAddress(_GridAction):
    """Runs when `address_form` is done: answers the pending request for the address."""

    def name(self) -> str:
        return "action_answer_address"

    def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        service = self._service()
        request = tracker.get_slot(REQUEST) or FIND_OFFICE
        text = str(tracker.get_slot(ADDRESS) or "").strip()
        resolution = service.resolve(text) if text else None
        dispatcher.utter_message(text=self.answer(service, resolution, request))
        return reset()


def answered_since_user(tracker: Tracker) -> bool:
    """True when the bot has already said something after the user's last message."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            return True
    return False


class ActionAskAddress(Action):
    """Asks for the address, unless a sharper question (which street?) was just asked."""

    def name(self) -> str:
        return "action_ask_address"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if not answered_since_user(tracker):
            dispatcher.utter_message(text=ASK)
        return []


class ValidateAddressForm(FormValidationAction):
    def __init__(self, service: ServiceFactory | None = None) -> None:
        self._service = service or default_service

    def name(self) -> str:
        return "validate_address_form"

    async def validate_address(self, slot_value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        reply = str(slot_value or "").strip()
        if not reply:   # the slot was only cleared (form activation): nothing to check yet
            return {}
        hint = str(tracker.get_slot(HINT) or "").strip()
        if hint and reply in hint:   # re-extracted from the question itself: already asked
            return {ADDRESS: None}
        failures = int(tracker.get_slot(ATTEMPTS) or 0)
        request = tracker.get_slot(REQUEST) or FIND_OFFICE
        text = f"{hint} {reply}".strip()
        try:
            resolution = await asyncio.to_thread(self._service().resolve, text)
        except DirectoryError as exc:
            logger.warning("validate_address_form without directory: %s", exc)
            return {ADDRESS: text or "-", HINT: None}
        if settled(resolution, request):
            return {ADDRESS: text, HINT: None}
        failures += 1
        if failures >= MAX_ATTEMPTS:   # stop asking: the answer falls back to the district
            return {ADDRESS: text, HINT: None, ATTEMPTS: float(failures)}
        if resolution.question:
            dispatcher.utter_message(text=resolution.question)
            return {ADDRESS: None, HINT: text, ATTEMPTS: float(failures)}
        dispatcher.utter_message(text=NOT_FOUND_AGAIN.format(text=reply[:30]))
        return {ADDRESS: None, HINT: hint or None, ATTEMPTS: float(failures)}

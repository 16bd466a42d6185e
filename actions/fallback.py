"""Two-stage fallback action (see bot.fallback for the wording)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.fallback import fallback_reply


class ActionCloudDoctorFallback(Action):
    def name(self) -> str:
        return "action_cloud_doctor_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        intents = [
            (e.get("parse_data") or {}).get("intent", {}).get("name")
            for e in tracker.events
            if e.get("event") == "user"
        ]
        dispatcher.utter_message(text=fallback_reply(tracker.latest_message or {}, intents))
        return []

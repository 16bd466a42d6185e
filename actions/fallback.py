"""Two-stage fallback: first ask to rephrase with the closest topics, then, on a
second miss in a row, say honestly how to reach a person. The wording is plain
functions (unit-tested without Rasa); the action only reads the tracker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.topics import FALLBACK_INTENT, contract, suggestions

CIRCLED = "①②③④⑤"   # numbered choices and answers in one reply


def consecutive_misses(user_intents: Iterable[str | None]) -> int:
    """How many of the latest user turns (newest last) in a row were NLU fallbacks."""
    count = 0
    for intent in reversed(list(user_intents)):
        if intent != FALLBACK_INTENT:
            break
        count += 1
    return count


def rephrase_prompt(parse: Mapping[str, Any]) -> str:
    keys = suggestions(parse, limit=3)
    if not keys:
        return "抱歉，这句话我没太看懂。能换个说法再@我吗？比如“农民工怎么入会”“工资被拖欠怎么办”。"
    options = "  ".join(f"{CIRCLED[i]}{contract()[k].zh}" for i, k in enumerate(keys))
    return f"抱歉，这句话我没太看懂。您想问的是不是：{options}？\n可以换个说法、说具体一点再@我。"


def handoff_notice() -> str:
    return (
        "这个问题云博士暂时答不好，不瞎猜。您可以：\n"
        "1. @我说“转人工”，我把问题转给网格员，办好后在群里答复您；\n"
        "2. 拨打 12351 职工服务热线，由工会工作人员解答；\n"
        "3. 到就近的工会职工服务站当面咨询。"
    )


def fallback_reply(parse: Mapping[str, Any], user_intents: Iterable[str | None]) -> str:
    """Stage 1 (first miss) asks to rephrase; stage 2 (second miss in a row) offers people."""
    if consecutive_misses(user_intents) >= 2:
        return handoff_notice()
    return rephrase_prompt(parse)


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

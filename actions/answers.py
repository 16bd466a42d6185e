"""Answers of the union's topics: one or several FAQ answers in one reply, and short
follow-up questions ("那要带啥材料？", "在哪办？", "另外收费吗？") answered for the topic
just discussed by the same asker in the same group (the tracker is per asker per
group: `platform:group:user`), within `FOLLOW_UP_WINDOW` seconds.

The texts are the domain's responses (`utter_faq/<topic>`, `utter_followup_<topic>_
<aspect>`), uttered by name so that the NLG serves whatever staff last edited. The
choice of texts is plain functions over event dicts, unit-tested without Rasa."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import CIRCLED
from actions.grids import ASK, ActionFindOffice
from core.topics import (
    FALLBACK_INTENT,
    FOLLOW_UP_INTENT,
    FOLLOW_UP_WINDOW,
    answerable,
    contract,
    intent_for,
    topic_of,
)

QUESTIONS = "questions"        # parse key: several topics asked in one message (bot.nlu)
MAX_QUESTIONS = 2   # answers in one reply: each ~130 characters, a phone screen

# Which aspect a follow-up asks about, by its words (Simplified, after normalisation).
ASPECTS: dict[str, tuple[str, re.Pattern[str]]] = {
    "where": ("在哪办", re.compile(r"哪[里儿个]?|边度|地址|找谁|地方")),
    "materials": ("要带的材料", re.compile(r"材料|资料|证件|证明|身份证|户口|手续|复印|带[啥什咩]|准备|拿啥")),
    "cost": ("收不收费", re.compile(r"收费|收钱|要钱|花钱|交钱|费用|免费|多少钱|几多钱|使唔使钱|贵")),
    "time": ("要多久", re.compile(r"多久|多长时间|几天|多少天|什么时候|啥时候|期限|截止|最晚|到账|几耐|好久|时间限制|多快")),
}
# A follow-up that names several aspects answers the first of these that it names.
_ORDER = ("materials", "cost", "time", "where")


def aspect_of(text: str) -> str | None:
    found = [a for a in _ORDER if ASPECTS[a][1].search(text or "")]
    return found[0] if found else None


def topic_in_context(events: Sequence[Mapping[str, Any]], now: float,
                     window: float = FOLLOW_UP_WINDOW) -> str | None:
    """The topic of the asker's latest answered question within `window` seconds,
    skipping the current message, small talk, fallbacks and earlier follow-ups."""
    users = [e for e in events if e.get("event") == "user"]
    for event in reversed(users[:-1]):
        stamp = float(event.get("timestamp") or 0.0)
        if now - stamp > window:
            return None
        parse = event.get("parse_data") or {}
        name = (parse.get("intent") or {}).get("name")
        if name in (FOLLOW_UP_INTENT, FALLBACK_INTENT):
            continue
        several = parse.get(QUESTIONS) or []
        topic = several[-1] if several else topic_of(parse).topic
        if answerable(topic):
            return topic
    return None


def response_for(topic: str) -> str:
    """The response that answers a topic (`utter_faq/<key>` or `utter_<key>`)."""
    intent = intent_for(topic)
    return f"utter_{intent}"


def follow_up_response(topic: str, aspect: str) -> str:
    return f"utter_followup_{topic}_{aspect}"


def ask_which(aspect: str | None) -> str:
    what = ASPECTS[aspect][0] if aspect else "具体情况"
    return (f"您想问哪件事{what}呢？请把事情说完整再@我，"
            "比如“入会要带啥材料”“工伤认定在哪办”。")


def no_text_for(topic: str, aspect: str) -> str:
    return (f"关于{contract()[topic].zh}{ASPECTS[aspect][0]}，各地做法不同，"
            "可@云博士 说“最近的工会服务站”，或拨12351咨询。")


class ActionAnswerFaq(Action):
    """The FAQ answer: the response selector's topic, or each topic of a message that
    asks several (`QUESTIONS`, set by `bot.nlu.SecondOpinion`), numbered, one reply."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        parse = tracker.latest_message or {}
        topics = [t for t in parse.get(QUESTIONS) or [] if t in contract()][:MAX_QUESTIONS]
        if len(topics) < 2:
            topics = [topic_of(parse).topic]
        responses = domain.get("responses") or {}
        for i, topic in enumerate(topics):
            name = response_for(topic)
            if name not in responses:
                dispatcher.utter_message(response="utter_out_of_scope")
                continue
            if len(topics) > 1:
                dispatcher.utter_message(text=f"{CIRCLED[i]}{contract()[topic].zh}：")
            dispatcher.utter_message(response=name)
        return []


class ActionFollowUp(Action):
    """A short follow-up: the aspect's text for the topic in context; "where" through
    the office lookup of the grid; without a topic in context, ask which matter."""

    def name(self) -> str:
        return "action_follow_up"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = str((tracker.latest_message or {}).get("text") or "")
        aspect = aspect_of(text)
        topic = topic_in_context(tracker.events, time.time())
        responses: Iterable[str] = domain.get("responses") or {}
        if aspect == "where":
            return await self._where(dispatcher, tracker, domain, topic)
        if topic is None or aspect is None:
            dispatcher.utter_message(text=ask_which(aspect))
            return []
        name = follow_up_response(topic, aspect)
        if name in responses:
            dispatcher.utter_message(response=name)
        else:
            dispatcher.utter_message(text=no_text_for(topic, aspect))
        return []

    @staticmethod
    async def _where(dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: dict[str, Any], topic: str | None) -> list[dict[str, Any]]:
        """The office lookup itself: the office of the group's grid, or (outside a
        group) it asks for the address, with a line on what the office is for."""
        lookup = CollectingDispatcher()
        events = await ActionFindOffice().run(lookup, tracker, domain)
        lead = ""
        if topic and contract()[topic].kind != "lookup":
            lead = f"办理{contract()[topic].zh}相关事项，可到负责您网格的工会服务站。"
        if not lookup.messages:   # the address form will ask; ask here, with the lead
            dispatcher.utter_message(text=f"{lead}{ASK}")
            return events
        if lead:
            dispatcher.utter_message(text=lead)
        for message in lookup.messages:
            dispatcher.utter_message(**{k: v for k, v in message.items() if v is not None})
        return events

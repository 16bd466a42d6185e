"""Reading Rasa's events as the event broker serialises them (`Event.as_dict()` plus
`sender_id`), without Rasa: which user message a turn is, and what the bot events
that follow it in the same conversation say about how it went.

- a `user` event starts a turn; its `metadata` is the connector's
  (`IncomingMessage.metadata()`: platform, group_id, user_id, user_name,
  message_id), its `parse_data` gives the topic (`core.topics.topic_of`);
- `action_cloud_doctor_fallback` (or Rasa's own fallback actions), or an NLU
  fallback intent, marks it a fallback;
- `action_create_ticket` marks it a hand-off (a person was asked for: a ticket);
- a `bot` event with text marks it replied; `action_ticket_status` is an answer
  like any other (the bot read the ticket for the asker);
- `action_listen` closes it (later events of the conversation do not change it).
A turn is *answered* when the bot replied and it was neither a fallback nor a
hand-off.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from core.clock import SHANGHAI
from core.topics import FOLLOW_UP_INTENT, topic_of
from insight.tables import KEY_CHARS

FALLBACK_ACTIONS = frozenset({"action_cloud_doctor_fallback", "action_default_fallback",
                              "action_two_stage_fallback"})
HANDOFF_ACTIONS = frozenset({"action_create_ticket"})
LISTEN = "action_listen"
# Rasa's input channel names where the connector's metadata does not say the platform
CHANNEL_PLATFORMS = {"webchat": "web"}
TEXT_CHARS = 120   # what the unanswered queue shows of a question


class Step(str, Enum):
    """What one event means for the turn it belongs to."""

    USER = "user"
    FALLBACK = "fallback"
    HANDOFF = "handoff"
    REPLY = "reply"
    CLOSE = "close"
    NONE = "none"


def step_of(event: Mapping[str, Any]) -> Step:
    kind = event.get("event")
    if kind == "user":
        return Step.USER
    if kind == "bot":
        return Step.REPLY if str(event.get("text") or "").strip() else Step.NONE
    if kind == "action":
        name = event.get("name")
        if name in FALLBACK_ACTIONS:
            return Step.FALLBACK
        if name in HANDOFF_ACTIONS:
            return Step.HANDOFF
        if name == LISTEN:
            return Step.CLOSE
    return Step.NONE


class Keys:
    """Keyed hashes (HMAC-SHA256, 64 bits shown): the same person gets the same key
    in every report, and nobody without the key can test a QQ number against it."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the statistics key needs at least 16 bytes")
        self._secret = secret

    def of(self, value: str) -> str:
        digest = hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:KEY_CHARS]


@dataclass(frozen=True)
class Question:
    """What a user event says about its turn before the bot has answered."""

    at: float
    day: date
    sender_id: str
    asker: str            # "platform:user_id", the input for the asker key
    platform: str
    group_id: str | None
    topic: str
    confidence: float
    nlu_fallback: bool
    text: str
    follow_up: bool = False   # a short follow-up: counted under the topic it follows




def question_of(event: Mapping[str, Any], sender_id: str) -> Question:
    metadata = event.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        metadata = {}
    channel = str(event.get("input_channel") or "")
    platform = str(metadata.get("platform") or CHANNEL_PLATFORMS.get(channel, channel) or "other")
    user_id = metadata.get("user_id")
    group = metadata.get("group_id")
    at = float(event.get("timestamp") or 0.0)
    result = topic_of(event.get("parse_data") or {})
    return Question(
        at=at,
        day=datetime.fromtimestamp(at, SHANGHAI).date(),
        sender_id=sender_id,
        asker=f"{platform}:{user_id}" if user_id else f"sender:{sender_id}",
        platform=platform[:16],
        group_id=str(group)[:128] if group else None,
        topic=result.topic,
        confidence=round(result.confidence, 4),
        nlu_fallback=result.fallback,
        text=str(event.get("text") or ""),
        follow_up=((event.get("parse_data") or {}).get("intent") or {}).get("name")
        == FOLLOW_UP_INTENT,
    )

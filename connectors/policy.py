"""Whether and how to answer a message: group rules (@-mention, keyword, answer
everything), mention stripping, flood limit and the non-text cases. Pure code.

The message arrives already bounded (`IncomingMessage.bounded()`, applied by the
connector right after parsing): its text is at most `core.normalize.MAX_MESSAGE_CHARS`."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from connectors import notices
from connectors.flood import FloodGuard, Verdict
from core.normalize import MentionMatcher, Normalizer
from platforms.message import IncomingMessage, MessageKind


class Mode(str, Enum):
    MENTION = "mention"   # answer when @-mentioned (the default for groups)
    KEYWORD = "keyword"   # ... or when the message starts with the keyword
    ALL = "all"           # answer everything (a group that is really a 1:1 help desk)


@dataclass(frozen=True)
class GroupRule:
    mode: Mode = Mode.MENTION
    keyword: str = ""

    @classmethod
    def parse(cls, value: Any, default_keyword: str = "") -> GroupRule:
        """Accepts "mention" | "all" | "keyword" | {"mode": ..., "keyword": ...}."""
        if isinstance(value, GroupRule):
            return value
        if isinstance(value, str):
            value = {"mode": value}
        if not isinstance(value, Mapping):
            raise ValueError(f"group rule must be a mode name or a mapping, got {value!r}")
        try:
            mode = Mode(str(value.get("mode", "mention")).strip().lower())
        except ValueError as exc:
            raise ValueError(f"unknown group mode {value.get('mode')!r}; "
                             f"use one of {[m.value for m in Mode]}") from exc
        if mode is not Mode.KEYWORD:
            return cls(mode)
        keyword = str(value.get("keyword") or default_keyword).strip()
        if not keyword:
            raise ValueError("keyword mode needs a keyword")
        return cls(mode, keyword)


class Action(Enum):
    IGNORE = "ignore"
    NOTICE = "notice"     # reply with `text` without asking the assistant
    ASK = "ask"           # pass `text` to the assistant


@dataclass(frozen=True)
class Decision:
    action: Action
    text: str = ""
    reason: str = ""


def has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


class AnswerPolicy:
    def __init__(self, matcher: MentionMatcher, flood: FloodGuard,
                 default_rule: GroupRule = GroupRule(),
                 group_rules: Mapping[str, GroupRule] | None = None) -> None:
        self.matcher = matcher
        self.normalizer = Normalizer(matcher.bot_names)
        self.flood = flood
        self.default_rule = default_rule
        self.group_rules = dict(group_rules or {})

    def rule_for(self, group_id: str) -> GroupRule:
        return self.group_rules.get(group_id, self.default_rule)

    def decide(self, msg: IncomingMessage) -> Decision:
        text = msg.text
        explicit = not msg.is_group or msg.mentioned or self.matcher.mentions(text)
        if msg.is_group and not explicit:
            rule = self.rule_for(msg.group_id or "")
            if rule.mode is Mode.KEYWORD and text.lstrip().startswith(rule.keyword):
                explicit = True
                text = text.lstrip()[len(rule.keyword):].lstrip(" ,，:：、")
            elif rule.mode is not Mode.ALL or msg.mentions_all:
                return Decision(Action.IGNORE, reason="not addressed to the bot")
        text = self.matcher.strip(text)
        verdict = self.flood.check(f"{msg.platform}:{msg.user_id}")
        if verdict is Verdict.DROP:
            return Decision(Action.IGNORE, reason="flood limit, already notified")
        if verdict is Verdict.NOTIFY:
            return Decision(Action.NOTICE, notices.FLOODED, reason="flood limit")
        if msg.kind is not MessageKind.TEXT:
            if not explicit:
                return Decision(Action.IGNORE, reason=f"{msg.kind.value} not addressed to the bot")
            return Decision(Action.NOTICE, notices.for_kind(msg.kind), reason=msg.kind.value)
        if not has_words(self.normalizer.normalize(text)):
            if not explicit:
                return Decision(Action.IGNORE, reason="no words")
            return Decision(Action.NOTICE, notices.EMPTY_QUESTION, reason="no words")
        return Decision(Action.ASK, text)

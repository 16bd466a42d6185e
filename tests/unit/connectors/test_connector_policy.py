"""Who gets an answer: mention detection and stripping, group rules, flood limit,
non-text and empty messages."""

from __future__ import annotations

from dataclasses import replace

import pytest

from connectors import notices
from connectors.flood import FloodGuard
from connectors.policy import (
    Action,
    AnswerPolicy,
    GroupRule,
    MentionMatcher,
    Mode,
    has_words,
)
from core.normalize import MAX_MESSAGE_CHARS
from platforms.message import IncomingMessage, MessageKind

MATCHER = MentionMatcher(("云博士",))
BASE = IncomingMessage(platform="web", message_id="m1", user_id="u1", user_name="王师傅",
                       text="@云博士 农民工怎么入会？", group_id="g1")


def _policy(**rules: GroupRule) -> AnswerPolicy:
    return AnswerPolicy(MATCHER, FloodGuard(limit=100), group_rules=rules)


@pytest.mark.parametrize("text, stripped", [
    ("@云博士 怎么入会", "怎么入会"),
    ("@云博士\u2005怎么入会", "怎么入会"),
    ("＠云博士　怎么入会", "怎么入会"),
    ("怎么入会 @云博士", "怎么入会"),
    ("@云博士工会 怎么入会", "怎么入会"),
    ("@ 云博士 你好 @云博士", "你好"),
])
def test_mention_is_found_and_stripped(text: str, stripped: str) -> None:
    assert MATCHER.mentions(text)
    assert MATCHER.strip(text) == stripped


def test_other_names_are_not_the_bot() -> None:
    assert not MATCHER.mentions("@李大姐 怎么入会")
    assert MATCHER.strip("@李大姐 怎么入会") == "@李大姐 怎么入会"


def test_group_rule_parsing() -> None:
    assert GroupRule.parse("all") == GroupRule(Mode.ALL)
    assert GroupRule.parse({"mode": "keyword"}, "云博士") == GroupRule(Mode.KEYWORD, "云博士")
    with pytest.raises(ValueError):
        GroupRule.parse("sometimes")
    with pytest.raises(ValueError):
        GroupRule.parse({"mode": "keyword"})
    with pytest.raises(ValueError):
        GroupRule.parse(3)


def test_mentioned_question_is_asked_without_the_mention() -> None:
    decision = _policy().decide(BASE)
    assert (decision.action, decision.text) == (Action.ASK, "农民工怎么入会？")


def test_structured_mention_counts_even_without_the_name_in_text() -> None:
    decision = _policy().decide(replace(BASE, text="怎么入会", mentioned=True))
    assert decision.action is Action.ASK


def test_unmentioned_group_message_is_ignored_unless_the_group_says_so() -> None:
    chatter = replace(BASE, text="谁家的快递")
    assert _policy().decide(chatter).action is Action.IGNORE
    assert _policy(g1=GroupRule(Mode.ALL)).decide(chatter).action is Action.ASK
    keyword = _policy(g1=GroupRule(Mode.KEYWORD, "云博士"))
    assert keyword.decide(chatter).action is Action.IGNORE
    asked = keyword.decide(replace(BASE, text="云博士，怎么入会"))
    assert (asked.action, asked.text) == (Action.ASK, "怎么入会")


def test_at_all_is_ignored_even_in_answer_everything_groups() -> None:
    notice = replace(BASE, text="@所有人 明天停水", mentions_all=True)
    assert _policy(g1=GroupRule(Mode.ALL)).decide(notice).action is Action.IGNORE


def test_direct_chat_is_always_answered() -> None:
    assert _policy().decide(replace(BASE, group_id=None, text="怎么入会")).action is Action.ASK


@pytest.mark.parametrize("kind, notice", [(MessageKind.IMAGE, notices.NOT_TEXT),
                                          (MessageKind.VOICE, notices.VOICE),
                                          (MessageKind.STICKER, notices.NOT_TEXT)])
def test_non_text_gets_a_notice_when_addressed(kind: MessageKind, notice: str) -> None:
    message = replace(BASE, kind=kind, text="", mentioned=True)
    assert _policy().decide(message).text == notice
    unaddressed = replace(message, mentioned=False)
    assert _policy(g1=GroupRule(Mode.ALL)).decide(unaddressed).action is Action.IGNORE


@pytest.mark.parametrize("text", ["@云博士", "@云博士 👍🙏", "@云博士 [捂脸][OK]", "@云博士 ？？？"])
def test_nothing_to_ask_gets_a_prompt(text: str) -> None:
    decision = _policy().decide(replace(BASE, text=text))
    assert (decision.action, decision.text) == (Action.NOTICE, notices.EMPTY_QUESTION)


def test_long_text_is_cut_before_the_policy_sees_it() -> None:
    message = replace(BASE, text="@云博士 " + "问" * 5000 + "\ud83d").bounded()
    assert len(message.text) == MAX_MESSAGE_CHARS
    assert _policy().decide(message).text == "问" * (MAX_MESSAGE_CHARS - 5)
    # A mention beyond the bound is not seen: nothing reads past MAX_MESSAGE_CHARS.
    late = replace(BASE, text="问" * 5000 + " @云博士").bounded()
    assert _policy().decide(late).action is Action.IGNORE


def test_flood_is_per_user_with_one_notice() -> None:
    policy = AnswerPolicy(MATCHER, FloodGuard(limit=2, window=60))
    actions = [policy.decide(BASE).action for _ in range(4)]
    assert actions == [Action.ASK, Action.ASK, Action.NOTICE, Action.IGNORE]
    assert policy.decide(replace(BASE, user_id="u2")).action is Action.ASK


def test_has_words() -> None:
    assert has_words("入会") and has_words("a") and has_words("12351")
    assert not has_words("👍 ！？ ") and not has_words("")

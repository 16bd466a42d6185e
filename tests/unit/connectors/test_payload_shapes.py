"""Every field of every payload fixture replaced by a value of the wrong shape: the
parsers either return an event or raise MalformedPayload, never anything else."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from platforms.errors import InboundError
from platforms.message import Event
from platforms.protocol import dingtalk, feishu, onebot, wecom

DATA = Path(__file__).parents[2] / "data"
WRONG = [None, 5, "x", [], {}, [1, "a", None], {"a": 1}, True, -1.5, "[CQ:at",
         [{"type": "text"}], [{"type": "text", "data": None}]]


def _feishu(payload: dict[str, Any]) -> Event:
    event = payload.get("event")
    return feishu.parse_message_event("e", event if isinstance(event, dict) else {},
                                      "ou_cloud_doctor_bot")


PARSERS: dict[str, Callable[[dict[str, Any]], Event]] = {
    "wecom/text_group.json": wecom.parse_robot_message,
    "wecom/mixed_single.json": wecom.parse_robot_message,
    "dingtalk/text_group.json": dingtalk.parse_message,
    "dingtalk/richtext_single.json": dingtalk.parse_message,
    "feishu/text_group.json": _feishu,
    "feishu/post_group.json": _feishu,
    "onebot/group_at.json": onebot.parse_message,
    "onebot/group_cq_string.json": onebot.parse_message,
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@pytest.mark.parametrize("fixture", list(PARSERS))
def test_wrong_shapes_never_crash_the_parser(fixture: str) -> None:
    original = json.loads((DATA / fixture).read_text(encoding="utf-8"))
    parse = PARSERS[fixture]
    for path in _paths(original):
        for wrong in WRONG:
            payload = copy.deepcopy(original)
            target = payload
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = wrong
            with contextlib.suppress(InboundError):  # refusing is fine; crashing is not
                parse(payload)

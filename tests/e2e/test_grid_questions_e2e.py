"""Done-criterion of the grid directory, through the real processes: the office
question in a known grid group names that grid's office; from an unknown chat it
leads through the address question to the right office."""

from __future__ import annotations

import pytest

from tests.fakes import FAKES
from tests.fakes.stack import RasaStack

pytestmark = pytest.mark.model

KNOWN_WECOM_GROUP = "wr0fa7fe59ef37c013"  # 福景社区第3网格居民群 in grids/sample/groups.csv
OFFICE = "福景社区工会服务站"


async def test_office_question_in_a_known_group_names_its_office(
        rasa_stack: RasaStack, fake_ports: dict[str, int]) -> None:
    fake = FAKES["wecom"](port=fake_ports["wecom"], bot_url=rasa_stack.webhook("wecom"))
    async with fake:
        await fake.send_group_message(KNOWN_WECOM_GROUP, "zhangsan", "最近的工会服务站在哪？",
                                      user_name="张大姐")
        [reply] = await fake.wait_for_replies(1, timeout=60)
    assert reply.group_id == KNOWN_WECOM_GROUP
    assert OFFICE in reply.text
    assert "地址" in reply.text and "电话" in reply.text


async def test_unknown_chat_is_asked_for_the_address_then_answered(
        rasa_stack: RasaStack, fake_ports: dict[str, int]) -> None:
    fake = FAKES["webchat"](port=fake_ports["webchat"], bot_url=rasa_stack.webhook("webchat"))
    async with fake:
        await fake.send_group_message("some-unknown-group", "u-77", "最近的工会服务站在哪？",
                                      user_name="刘师傅")
        [question] = await fake.wait_for_replies(1, timeout=60)
        assert "小区" in question.text  # asks which estate / address
        await fake.send_group_message("some-unknown-group", "u-77", "我住联盟小区5号楼",
                                      user_name="刘师傅")
        replies = await fake.wait_for_replies(2, timeout=60)
    assert OFFICE in replies[1].text

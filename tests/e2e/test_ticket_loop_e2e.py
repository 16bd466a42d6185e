"""The back office's whole loop against the running assistant (rasa run + the action
server, the real model) on the fake QQ (OneBot) platform, with the sample directory:
a question the worker wants a person for → a ticket for the grid's coordinator (@ in
the group and a direct message) → the coordinator's `#回复` → the answer in the group
@-mentioning the asker → 满意 → closed; and the same with a `#转办` to a back office."""

from __future__ import annotations

import re

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import create
from tests.fakes import FAKES
from tests.fakes.onebot import ACCESS_TOKEN
from tests.fakes.stack import RasaStack
from tickets.model import Status
from tickets.notifier import Notifier
from tickets.service import TicketService
from tickets.tables import MessageRow

pytestmark = pytest.mark.model

GROUP = "901000013"          # 泰峰社区第3网格居民群 (sample): grid D001-S01-C02-G03
COORDINATOR_QQ = "110011"    # its coordinator 魏梅婷 (fictitious)
ASKER_QQ = "3001"


async def _notify(grid_database: str, fake) -> int:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as session:
        notifier = Notifier(create(grid_database), session, onebot=(fake.base_url, ACCESS_TOKEN))
        return await notifier.send_due()


async def _say(fake, group: str, user: str, text: str, name: str,  # type: ignore[no-untyped-def]
               **kwargs):
    """Send a group message and return the bot's reply to it."""
    before = len(fake.replies)
    await fake.send_group_message(group, user, text, user_name=name, **kwargs)
    return (await fake.wait_for_replies(before + 1, timeout=60))[before]


def _number(text: str) -> str:
    match = re.search(r"T-\d{6}", text)
    assert match, text
    return match.group(0)


def _service(grid_database: str) -> TicketService:
    from tickets.holidays import HolidayCalendar
    from tickets.offices import load

    return TicketService(create(grid_database), load(), HolidayCalendar())


async def test_question_ticket_answer_rating(rasa_stack: RasaStack, fake_ports: dict[str, int],
                                             grid_database: str) -> None:
    fake = FAKES["onebot"](port=fake_ports["onebot"], bot_url=rasa_stack.webhook("onebot"))
    async with fake:
        await fake.send_group_message(GROUP, ASKER_QQ, "厂里宿舍漏水好几个月了，找谁都不管",
                                      user_name="王师傅")
        await fake.send_group_message(GROUP, ASKER_QQ, "转人工", user_name="王师傅")
        replies = await fake.wait_for_replies(2, timeout=90)
        told = replies[-1]
        assert told.group_id == GROUP and told.mentioned == ASKER_QQ
        number = _number(told.text)
        assert "魏梅婷" in told.text and "前答复" in told.text
        # the coordinator: @ in the group and a direct message, with the id and the deadline
        assert await _notify(grid_database, fake) == 2
        to_group, direct = fake.replies[-2:]
        assert to_group.group_id == GROUP and to_group.mentioned == COORDINATOR_QQ
        assert number in to_group.text and "#回复" in to_group.text
        assert direct.group_id is None and "宿舍漏水" in direct.text
        # a forged #回复 from another member changes nothing
        refused = await _say(fake, GROUP, ASKER_QQ, f"#回复 {number} 我自己答", "王师傅")
        assert "只有负责" in refused.text
        ack = await _say(fake, GROUP, COORDINATOR_QQ, f"#回复 {number} 已联系物业，明天上午上门维修",
                         "魏梅婷")
        assert ack.text.endswith(f"已答复 {number}，答复已发给提问人。")
        assert await _notify(grid_database, fake) == 1
        answer = fake.replies[-1]
        assert answer.group_id == GROUP and answer.mentioned == ASKER_QQ
        assert "明天上午上门维修" in answer.text and "满意" in answer.text
        thanks = await _say(fake, GROUP, ASKER_QQ, "满意", "王师傅")
        assert "谢谢" in thanks.text
    ticket = _service(grid_database).get(number)
    assert ticket.status is Status.CLOSED and ticket.rating == "satisfied"
    assert ticket.grid_code == "D001-S01-C02-G03"


async def test_transfer_to_a_back_office(rasa_stack: RasaStack, fake_ports: dict[str, int],
                                         grid_database: str) -> None:
    fake = FAKES["onebot"](port=fake_ports["onebot"], bot_url=rasa_stack.webhook("onebot"))
    async with fake:
        await fake.send_group_message(GROUP, "3002", "老板拖欠工资半年了，想打官司没钱请律师",
                                      user_name="李大姐")
        await fake.send_group_message(GROUP, "3002", "帮我转给工作人员", user_name="李大姐")
        number = _number((await fake.wait_for_replies(2, timeout=90))[-1].text)
        await _notify(grid_database, fake)
        ack = await _say(fake, GROUP, COORDINATOR_QQ, f"#转办 {number} 法律援助中心 需要律师", "魏梅婷")
        assert f"{number} 已转给法律援助中心" in ack.text
        await _notify(grid_database, fake)
        told = [r for r in fake.replies if r.mentioned == "3002" and "法律援助中心" in r.text]
        assert told, fake.replies
    ticket = _service(grid_database).get(number)
    assert ticket.status is Status.TRANSFERRED and ticket.office_code == "flyz"


async def test_a_quoted_reply_to_the_ticket_message_answers_it(
        rasa_stack: RasaStack, fake_ports: dict[str, int], grid_database: str) -> None:
    fake = FAKES["onebot"](port=fake_ports["onebot"], bot_url=rasa_stack.webhook("onebot"))
    async with fake:
        await fake.send_group_message(GROUP, "3003", "单位不给交社保，我想找个人问问", user_name="赵师傅")
        number = _number((await _say(fake, GROUP, "3003", "转人工", "赵师傅")).text)
        await _notify(grid_database, fake)
        with Session(create(grid_database), future=True) as session:
            posted = session.execute(select(MessageRow.platform_message_id).where(
                MessageRow.ticket_id == int(number[2:]),
                MessageRow.mention_id == COORDINATOR_QQ)).scalar_one()
        ack = await _say(fake, GROUP, COORDINATOR_QQ, "社保的事可以打12333，也可以来服务站", "魏梅婷",
                         quote=posted, mention=False)
        assert ack.text.endswith(f"已答复 {number}，答复已发给提问人。")
    ticket = _service(grid_database).get(number)
    assert ticket.status is Status.ANSWERED and "12333" in (ticket.answer or "")

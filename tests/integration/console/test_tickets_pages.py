"""The tickets inbox and a ticket's page: order by deadline, lights and filters,
masking, the scope of coordinators and street staff (by link, by number), and
answer / transfer / reassign / close / reopen through the one TicketService, each
in the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.compose import open_engine
from console.audit import AuditLog
from tests.integration.console.conftest import OTHER_GRID, Desk
from tickets.tables import MessageRow

pytestmark = pytest.mark.asyncio(loop_scope="module")
NUMBERS = re.compile(r'class="number" href="/tickets/(T-\d+)"')


def _audit(desk: Desk, action: str) -> list[tuple[str, str, str]]:
    return [(e.username, e.target, e.detail)
            for e in AuditLog(open_engine(desk.settings)).latest(action=action)]


async def test_inbox_by_deadline_with_masked_questions(desk: Desk) -> None:
    mine = desk.ticket(question="电话13812345678，身份证110101199003071234，工资被拖欠")
    complaint = desk.ticket(grid=None, question="投诉单位克扣工资", topic="complaint_report")
    browser = await desk.browser("admin")
    status, text, _ = await browser.get("/tickets?status=all")
    assert status == 200
    assert "138****5678" in text and "13812345678" not in text
    assert "110101********1234" in text
    numbers = NUMBERS.findall(text)
    assert mine in numbers and complaint in numbers
    resolve = {t.number: t.resolve_by for t in desk.service.tickets(limit=500)}
    assert [resolve[n] for n in numbers] == sorted(resolve[n] for n in numbers)


async def test_filters(desk: Desk) -> None:
    own, other = desk.ticket(), desk.ticket(grid=OTHER_GRID, topic="legal_aid")
    browser = await desk.browser("district")
    _, text, _ = await browser.get("/tickets?street=D001-S02")
    assert other in NUMBERS.findall(text) and own not in NUMBERS.findall(text)
    _, text, _ = await browser.get("/tickets?topic=legal_aid")
    assert other in NUMBERS.findall(text) and own not in NUMBERS.findall(text)
    _, text, _ = await browser.get("/tickets?light=green")
    light = {n: desk.service.light(desk.service.get(n)) for n in NUMBERS.findall(text)}
    assert light and {x.value for x in light.values() if x} == {"green"}
    _, text, _ = await browser.get("/tickets?status=closed")
    assert own not in NUMBERS.findall(text)
    status, text, _ = await browser.get("/tickets?light=purple&status=nonsense&page=abc")
    assert status == 200                               # unknown values are ignored


async def test_coordinator_sees_only_their_grids(desk: Desk) -> None:
    own, other = desk.ticket(), desk.ticket(grid=OTHER_GRID)
    nogrid = desk.ticket(grid=None)
    browser = await desk.browser("coordinator")
    _, text, _ = await browser.get("/tickets?status=all")
    listed = NUMBERS.findall(text)
    assert own in listed and other not in listed and nogrid not in listed
    for path in (f"/tickets/{other}", f"/tickets/{other.lower().replace('-', '')}",
                 f"/tickets/{int(other[2:])}", f"/tickets/{nogrid}"):
        status, text, _ = await browser.get(path)
        assert status == 404 and "不在您负责的范围内" in text, path
    status, _, resp = await browser.get(f"/tickets/find?number={other}")
    assert status == 303
    status, _, _ = await browser.get(resp.headers["Location"])
    assert status == 404
    # nor act on it by posting to its address
    status, _, _ = await browser.post(f"/tickets/{other}/answer", {"text": "越权答复"})
    assert status == 404 and desk.service.get(other).answer is None
    status, text, _ = await browser.get(f"/tickets/{own}")
    assert status == 200 and own in text


async def test_street_staff_see_only_their_street(desk: Desk) -> None:
    own, other = desk.ticket(), desk.ticket(grid=OTHER_GRID)
    browser = await desk.browser("street")
    _, text, _ = await browser.get("/tickets?status=all")
    assert own in NUMBERS.findall(text) and other not in NUMBERS.findall(text)
    assert (await browser.get(f"/tickets/{other}"))[0] == 404


async def test_answer_goes_to_the_asker_and_is_audited(desk: Desk) -> None:
    number = desk.ticket()
    browser = await desk.browser("coordinator")
    status, _, resp = await browser.post(f"/tickets/{number}/answer",
                                         {"text": "请带劳动合同到街道工会服务站"})
    assert status == 303
    status, text, _ = await browser.get(resp.headers["Location"])
    assert "已答复" in text and "请带劳动合同到街道工会服务站" in text
    ticket = desk.service.get(number)
    assert ticket.status.value == "answered" and ticket.answer == "请带劳动合同到街道工会服务站"
    assert desk.service.history(number)[-1].actor == "staff:coordinator"
    with desk.service.session() as session:
        told = session.execute(select(MessageRow.text).where(
            MessageRow.ticket_id == int(number[2:]))).scalars().all()
    assert any("请带劳动合同" in t and "网格员曾娜建" in t for t in told)
    assert ("coordinator", number, "请带劳动合同到街道工会服务站") in _audit(desk, "ticket.answer")


async def test_empty_answer_and_closed_ticket_get_chinese_errors(desk: Desk) -> None:
    number = desk.ticket()
    browser = await desk.browser("district")
    _, _, resp = await browser.post(f"/tickets/{number}/answer", {"text": "   "})
    _, text, _ = await browser.get(resp.headers["Location"])
    assert "请填写答复内容" in text
    await browser.post(f"/tickets/{number}/close")
    _, _, resp = await browser.post(f"/tickets/{number}/answer", {"text": "晚了"})
    _, text, _ = await browser.get(resp.headers["Location"])
    assert f"工单 {number} 已办结" in text
    assert desk.service.get(number).answer is None


async def test_transfer_reassign_close_reopen(desk: Desk) -> None:
    number = desk.ticket()
    browser = await desk.browser("district")
    status, text, _ = await browser.get(f"/tickets/{number}")
    assert "网格员 曾娜建" in text                      # a coordinator of the community
    await browser.post(f"/tickets/{number}/reassign", {"to": "coordinator:D001-P0002",
                                                        "reason": "原网格员休假"})
    ticket = desk.service.get(number)
    assert ticket.assignee is not None and ticket.assignee.name == "冯慧"
    assert desk.service.history(number)[-1].note == "改派给 冯慧：原网格员休假"
    _, _, resp = await browser.post(f"/tickets/{number}/reassign", {"to": "coordinator:nobody"})
    _, text, _ = await browser.get(resp.headers["Location"])
    assert "请从列表中选择改派给谁" in text

    await browser.post(f"/tickets/{number}/transfer", {"office": "法律援助中心",
                                                        "reason": "需要律师"})
    ticket = desk.service.get(number)
    assert ticket.status.value == "transferred" and ticket.office_code == "flyz"
    _, _, resp = await browser.post(f"/tickets/{number}/transfer", {"office": "不存在的部门"})
    _, text, _ = await browser.get(resp.headers["Location"])
    assert "没有这个部门" in text

    await browser.post(f"/tickets/{number}/close")
    assert desk.service.get(number).status.value == "closed"
    await browser.post(f"/tickets/{number}/reopen", {"reason": "提问人来电说没解决"})
    assert desk.service.get(number).status.value == "reopened"
    for action in ("ticket.reassign", "ticket.transfer", "ticket.close", "ticket.reopen"):
        assert any(t == number for _, t, _ in _audit(desk, action)), action
    _, text, _ = await browser.get(f"/tickets/{number}")
    for label in ("改派给 冯慧", "转办", "办结", "重新办理"):
        assert label in text


async def test_revealing_personal_numbers_is_audited(desk: Desk) -> None:
    number = desk.ticket(question="我的电话是13812345678")
    browser = await desk.browser("district")
    _, text, _ = await browser.get(f"/tickets/{number}")
    assert "138****5678" in text and "13812345678" not in text
    _, text, _ = await browser.get(f"/tickets/{number}?full=1")
    assert "13812345678" in text
    assert ("district", number, "") in _audit(desk, "ticket.reveal")

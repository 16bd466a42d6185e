"""The tickets' staff API on `bot.app.create_app(settings)` (the same app, token and
JSON errors as /api/notices), over a temporary SQLite database. Tickets are created
through `TicketService` with a fixed clock in the past (red lights, known
deadlines); every test makes its own, so the order of the tests does not matter."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import create_app
from bot.compose import open_engine
from core.clock import SHANGHAI
from core.settings import Settings
from tickets import offices as office_config
from tickets.holidays import default_calendar
from tickets.model import Kind, Person, TicketDraft
from tickets.service import TicketService
from tickets.tables import MessageRow

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "test-staff-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UNAUTHORIZED = {"error": "需要登录：请提供有效的访问令牌"}
GRID = "D001-S01-C01-G01"
ASKER = Person("onebot", "20002", "王师傅")


def settings_for(root: Path, **env: str) -> Settings:
    return Settings.from_env(env={"DATABASE_URL": f"sqlite:///{root / 'tickets.db'}",
                                  "DATA_DIR": str(root / "var"), "STAFF_API_TOKEN": TOKEN,
                                  **env}, project_dir=root)


@dataclass
class Coordinator:
    name: str
    accounts: dict[str, str] = field(default_factory=dict)


@dataclass
class Desk:
    client: TestClient
    service: TicketService        # the test's own, with a clock on 2026-11-23 10:00

    async def call(self, method: str, path: str, *, body: Any = None, raw: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        async with self.client.request(method, path, data=data,
                                       headers=AUTH if headers is None else headers) as resp:
            return resp.status, await resp.json()

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        status, data = await self.call(method, path, **kwargs)
        assert status == 200, data
        return data

    def create(self, question: str = "公司拖欠我三个月工资，怎么办", grid: str | None = GRID,
               topic: str = "wage_arrears", kind: Kind = Kind.HELP) -> str:
        ticket, _ = self.service.create(TicketDraft(question=question, asker=ASKER,
                                                    group_id="qq-group-1", grid_code=grid,
                                                    topic=topic, kind=kind))
        return ticket.number


MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI).timestamp()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Desk]:
    root = tmp_path_factory.mktemp("tickets-api")
    settings = settings_for(root)
    coordinators = {GRID: Coordinator("张网格员", {"onebot": "10001"})}
    service = TicketService(open_engine(settings), office_config.load(), default_calendar(),
                            coordinator_of=coordinators.get, clock=lambda: MONDAY)
    async with TestClient(TestServer(create_app(settings))) as client:
        yield Desk(client, service)


# --- authentication ---------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"},
                                     {"Authorization": f"Basic {TOKEN}"}],
                         ids=["none", "wrong", "basic"])
@pytest.mark.parametrize("method, path", [
    ("GET", "/api/tickets"),
    ("GET", "/api/tickets/T-000001"),
    ("POST", "/api/tickets/T-000001/answer"),
    ("POST", "/api/tickets/T-000001/transfer"),
    ("POST", "/api/tickets/T-000001/close"),
    ("POST", "/api/tickets/T-000001/reopen"),
])
async def test_every_route_needs_the_token(desk: Desk, method: str, path: str,
                                           headers: dict[str, str]) -> None:
    number = desk.create()
    before = desk.service.history(number)
    path = path.replace("T-000001", number)
    body = {"text": "x", "by": "y", "office": "法律援助中心", "reason": "z"}
    status, data = await desk.call(method, path, body=body, headers=headers)
    assert (status, data) == (401, UNAUTHORIZED)
    assert desk.service.history(number) == before


# --- reading ----------------------------------------------------------------------------
async def test_list_by_deadline_with_lights_and_status(desk: Desk) -> None:
    later = desk.create("两个工作日内答复的问题")       # the coordinator's: 2 working days
    sooner = desk.create("投诉单位克扣工资", grid=None, topic="complaint_report",
                         kind=Kind.COMPLAINT)           # 权益保障部, a complaint: 1 working day
    listed = (await desk.ok("GET", "/api/tickets?limit=500"))["tickets"]
    deadlines = [t["resolve_by"] for t in listed]
    assert deadlines == sorted(deadlines)
    numbers = [t["number"] for t in listed]
    assert numbers.index(sooner) < numbers.index(later)
    first = next(t for t in listed if t["number"] == sooner)
    assert first == {
        **first, "status": "assigned", "status_label": "已派给网格员", "light": "red",
        "light_label": "红灯", "kind": "complaint", "kind_label": "投诉举报",
        "question": "投诉单位克扣工资", "asker": {"name": "王师傅", "platform": "onebot"},
        "grid": None, "assignee": None, "office": {"code": "qybz", "name": "权益保障部"},
        "created_at": "2026-11-23T10:00:00+08:00", "respond_by": "2026-11-23T12:00:00+08:00",
        "resolve_by": "2026-11-24T10:00:00+08:00", "flagged": False, "answer": None,
        "rating": None, "escalation": 0}
    assert "events" not in first
    second = next(t for t in listed if t["number"] == later)
    assert second["assignee"] == {"name": "张网格员", "platform": "onebot"}

    await desk.ok("POST", f"/api/tickets/{later}/close", body={"by": "李干事"})
    closed = (await desk.ok("GET", "/api/tickets?status=closed&limit=500"))["tickets"]
    assert later in [t["number"] for t in closed] and sooner not in [t["number"] for t in closed]
    assert {(t["status"], t["light"], t["light_label"]) for t in closed} == {("closed", None, None)}
    assert len((await desk.ok("GET", "/api/tickets?limit=1"))["tickets"]) == 1


async def test_show_has_the_event_history(desk: Desk) -> None:
    number = desk.create("公司拖欠我三个月工资，\n电话13812345678")
    shown = await desk.ok("GET", f"/api/tickets/{number.lower().replace('-', '')}")
    assert shown["number"] == number
    assert shown["question"] == "公司拖欠我三个月工资，\n电话13812345678"   # staff see it all
    assert shown["events"] == [
        {"kind": "created", "label": "创建", "at": "2026-11-23T10:00:00+08:00",
         "actor": "onebot:20002", "note": "公司拖欠我三个月工资，\n电话13812345678"},
        {"kind": "assigned", "label": "派单", "at": "2026-11-23T10:00:00+08:00",
         "actor": "system", "note": "网格员 张网格员"}]


# --- the back office --------------------------------------------------------------------
async def test_answer_then_close_then_reopen(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    number = desk.create()
    with caplog.at_level(logging.INFO, logger="console.tickets_api"):
        answered = await desk.ok("POST", f"/api/tickets/{number}/answer",
                                 body={"text": " 请带劳动合同到街道工会服务站 ", "by": "李干事"})
        assert answered["status"] == "answered" and answered["light"] is None
        assert answered["answer"] == "请带劳动合同到街道工会服务站"
        assert answered["events"][-1] == {**answered["events"][-1], "kind": "answered",
                                          "label": "答复", "actor": "staff:李干事"}
        with desk.service.session() as session:
            told = session.execute(select(MessageRow.text).where(
                MessageRow.ticket_id == int(number[2:]))).scalars().all()
        assert any("请带劳动合同" in t and "（李干事）" in t for t in told)   # to the asker

        closed = await desk.ok("POST", f"/api/tickets/{number}/close", body={"by": "李干事"})
        assert closed["status"] == "closed" and closed["status_label"] == "已办结"

        reopened = await desk.ok("POST", f"/api/tickets/{number}/reopen",
                                 body={"reason": "提问人来电说没解决", "by": "李主席"})
    assert reopened["status"] == "reopened" and reopened["light"] == "green"
    assert reopened["respond_by"] > "2026-12"          # the clock restarted now
    assert [(e["kind"], e["actor"], e["note"]) for e in reopened["events"][-3:]] == [
        ("answered", "staff:李干事", "请带劳动合同到街道工会服务站"),
        ("closed", "staff:李干事", ""), ("reopened", "staff:李主席", "提问人来电说没解决")]
    assert f'Ticket {number} answered by "李干事" via the staff API' in caplog.text
    assert f'Ticket {number} closed by "李干事" via the staff API' in caplog.text
    assert f'Ticket {number} reopened by "李主席" via the staff API (reason "提问人来电说没解决")' \
        in caplog.text


async def test_transfer_restarts_the_clock(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    number = desk.create()
    with caplog.at_level(logging.INFO, logger="console.tickets_api"):
        moved = await desk.ok("POST", f"/api/tickets/{number}/transfer",
                              body={"office": "法律援助中心", "reason": "需要律师",
                                    "by": '李干事"\n伪造的一行'})
    assert moved["status"] == "transferred" and moved["status_label"] == "已转办"
    assert moved["office"] == {"code": "flyz", "name": "法律援助中心"}
    assert moved["assignee"] is None and moved["light"] == "green"
    assert moved["respond_by"] > "2026-12"
    assert moved["events"][-1] == {**moved["events"][-1], "kind": "transferred", "label": "转办",
                                   "note": "法律援助中心：需要律师"}
    [line] = [r.getMessage() for r in caplog.records if "transferred" in r.getMessage()]
    assert line == (f'Ticket {number} transferred to "法律援助中心" by "李干事\\"\\n伪造的一行" '
                    'via the staff API (reason "需要律师")')


# --- refused ----------------------------------------------------------------------------
async def test_state_errors_are_409_and_change_nothing(desk: Desk) -> None:
    number = desk.create()
    status, data = await desk.call("POST", f"/api/tickets/{number}/reopen",
                                   body={"reason": "再看看", "by": "李干事"})
    assert (status, data) == (409, {"error": f"工单 {number} 正在办理中（已派给网格员），不需要重新办理"})
    await desk.ok("POST", f"/api/tickets/{number}/close", body={"by": "李干事"})
    before = desk.service.history(number)
    for action, body, message in [
        ("close", {"by": "李干事"}, f"工单 {number} 已办结"),
        ("answer", {"text": "补充答复", "by": "李干事"}, f"工单 {number} 已办结"),
        ("transfer", {"office": "法律援助中心", "by": "李干事"}, f"工单 {number} 已办结，不能转办"),
    ]:
        status, data = await desk.call("POST", f"/api/tickets/{number}/{action}", body=body)
        assert (status, data) == (409, {"error": message})
    assert desk.service.history(number) == before


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/tickets/T-999999"),
    ("POST", "/api/tickets/T-999999/answer"),
    ("POST", "/api/tickets/T-999999/transfer"),
    ("POST", "/api/tickets/T-999999/close"),
    ("POST", "/api/tickets/T-999999/reopen"),
])
async def test_unknown_ticket_is_404(desk: Desk, method: str, path: str) -> None:
    body = {"text": "x", "by": "李干事", "office": "法律援助中心", "reason": "z"}
    action = path.rsplit("/", 1)[-1]
    fields = {"answer": ("text", "by"), "transfer": ("office", "reason", "by"), "close": ("by",),
              "reopen": ("reason", "by")}.get(action)
    status, data = await desk.call(method, path,
                                   body={k: body[k] for k in fields} if fields else None)
    assert (status, data) == (404, {"error": "没有找到工单 T-999999"})


@pytest.mark.parametrize("action, body, message", [
    ("answer", {"by": "李干事"}, "缺少字段“text”（答复内容）"),
    ("answer", {"text": "  ", "by": "李干事"}, "字段“text”（答复内容）不能为空"),
    ("answer", {"text": 5, "by": "李干事"}, "字段“text”（答复内容）应是字符串"),
    ("answer", {"text": "字" * 2001, "by": "李干事"}, "答复内容不能超过 2000 个字"),
    ("answer", {"text": "好", "by": "李" * 65}, "答复人不能超过 64 个字"),
    ("answer", {"text": "好"}, "缺少字段“by”（答复人）"),
    ("answer", {"text": "好", "by": "李", "who": "x"}, "不认识的字段：who（可用：text、by）"),
    ("transfer", {"office": "财务部", "by": "李干事"},
     "字段“office”（转办部门）：没有这个部门“财务部”（可转：权益保障部、法律援助中心"),
    ("transfer", {"by": "李干事"}, "缺少字段“office”（转办部门）"),
    ("transfer", {"office": "法律援助中心", "reason": ["x"], "by": "李"}, "字段“reason”（转办原因）应是字符串"),
    ("close", {}, "缺少字段“by”（办结人）"),
    ("close", {"by": "a\x00b"}, "字段“by”（办结人）不能包含空字符"),
    ("reopen", {"by": "李干事"}, "缺少字段“reason”（重新办理原因）"),
    ("reopen", {"reason": "不满意", "by": ""}, "字段“by”（操作人）不能为空"),
], ids=lambda v: v if isinstance(v, str) else "")
async def test_bad_fields_are_400_saying_which(desk: Desk, action: str, body: dict[str, Any],
                                               message: str) -> None:
    number = desk.create()
    before = desk.service.history(number)
    status, data = await desk.call("POST", f"/api/tickets/{number}/{action}", body=body)
    assert status == 400, data
    assert data["error"].startswith(message), data["error"]
    assert desk.service.history(number) == before


@pytest.mark.parametrize("method, path, raw, message", [
    ("GET", "/api/tickets/abc", None, "工单号应像 T-000457，收到“abc”"),
    ("POST", "/api/tickets/T-x/close", b'{"by": "li"}', "工单号应像 T-000457"),
    ("GET", "/api/tickets?status=lost", None, "参数 status 应为 new、assigned"),
    ("GET", "/api/tickets?limit=0", None, "参数 limit 应在 1 到 500 之间，收到 0"),
    ("GET", "/api/tickets?limit=x", None, "参数 limit 应是整数"),
    ("POST", "/api/tickets/T-000001/close", b"", "请求正文为空，应是 JSON 对象"),
    ("POST", "/api/tickets/T-000001/close", b"{not json", "请求正文不是有效的 JSON"),
    ("POST", "/api/tickets/T-000001/answer", b"[]", "请求正文应是 JSON 对象"),
])
async def test_malformed_requests_are_400(desk: Desk, method: str, path: str, raw: bytes | None,
                                          message: str) -> None:
    status, data = await desk.call(method, path, raw=raw)
    assert status == 400, data
    assert message in data["error"], data["error"]

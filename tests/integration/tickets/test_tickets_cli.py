"""`cloud-doctor tickets …` run as a subprocess like staff would, on a temporary SQLite
database (DATA_DIR, DATABASE_URL) holding tickets created through `TicketService`
with a fixed clock in the past (their lights are red) and one created just now
(green)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.compose import open_engine
from core.clock import SHANGHAI
from core.settings import Settings
from tickets import offices as office_config
from tickets.holidays import default_calendar
from tickets.model import Kind, Person, TicketDraft
from tickets.service import TicketService
from tickets.tables import MessageRow

ROOT = Path(__file__).resolve().parents[3]
GRID = "D001-S01-C01-G01"
ASKER = Person("onebot", "20002", "王师傅")
QUESTION = "公司拖欠我三个月工资，怎么办？\n老板说下个月再发。"


@dataclass
class Coordinator:
    name: str
    accounts: dict[str, str] = field(default_factory=dict)


@dataclass
class Desk:
    env: dict[str, str]
    service: TicketService

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "tickets", *args],
                              capture_output=True, text=True, cwd=ROOT, env=self.env, timeout=120)

    def ok(self, *args: str) -> str:
        proc = self.run(*args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def failed(self, code: int, *args: str) -> str:
        proc = self.run(*args)
        assert proc.returncode == code, (proc.stdout, proc.stderr)
        assert proc.stdout == ""
        return proc.stderr


def at(day: int, hour: int = 10) -> float:
    return datetime(2026, 11, day, hour, 0, tzinfo=SHANGHAI).timestamp()


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    env = {k: v for k, v in os.environ.items() if k != "CLOUD_DOCTOR_HOME"}
    env.update(DATA_DIR=str(tmp_path / "var"), DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}")
    settings = Settings.from_env(env=env, project_dir=ROOT)
    moment = [at(24)]
    coordinators = {GRID: Coordinator("张网格员", {"onebot": "10001"})}
    service = TicketService(open_engine(settings), office_config.load(), default_calendar(),
                            coordinator_of=coordinators.get, clock=lambda: moment[0])

    def create(question: str, grid: str | None, topic: str) -> None:
        service.create(TicketDraft(question=question, asker=ASKER, group_id="qq-group-1",
                                   grid_code=grid, topic=topic, kind=Kind.HELP))

    create(QUESTION, GRID, "wage_arrears")                 # T-000001, Tue 24th, the coordinator
    moment[0] = at(23)
    create("单位不给交社保", None, "wage_arrears")         # T-000002, Mon 23rd, 权益保障部
    moment[0] = datetime.now(SHANGHAI).timestamp()
    create("会费\x1b[2J交多少", None, "dues")              # T-000003, now
    return Desk(env, service)


def test_list_is_ordered_by_deadline_with_lights(desk: Desk) -> None:
    lines = desk.ok("list").splitlines()
    assert lines[0] == "3 个工单（按答复期限排序）："
    assert [line.split()[0] for line in lines[1:]] == ["T-000002", "T-000001", "T-000003"]
    second, first, third = lines[1:]
    assert "红灯" in second and "答复期限 2026-11-25 10:00" in second and "权益保障部" in second
    assert "响应期限 2026-11-23 15:30" in second
    assert "红灯" in first and "网格员 张网格员" in first and "答复期限 2026-11-26 10:00" in first
    assert "绿灯" in third
    assert "\x1b" not in desk.ok("list")    # what askers wrote cannot drive the terminal

    listed = desk.json("list")["tickets"]
    assert [t["number"] for t in listed] == ["T-000002", "T-000001", "T-000003"]
    assert [t["light"] for t in listed] == ["red", "red", "green"]
    assert listed[0]["respond_by"] == "2026-11-23T15:30:00+08:00"
    assert listed[0]["office"] == {"code": "qybz", "name": "权益保障部"}
    assert listed[1]["assignee"] == {"name": "张网格员", "platform": "onebot"}
    assert "events" not in listed[0]

    assert desk.ok("list", "--status", "closed") == "没有状态为“已办结”的工单。\n"
    assigned = desk.json("list", "--status", "已派给网格员", "--limit", "2")["tickets"]
    assert [t["number"] for t in assigned] == ["T-000002", "T-000001"]


def test_show_has_the_full_text_and_history(desk: Desk) -> None:
    out = desk.ok("show", "T-000001")
    assert "工单 T-000001（求助）  已派给网格员  红灯" in out
    assert f"问题：{QUESTION}\n" in out
    assert "提问人：王师傅（onebot）  网格：D001-S01-C01-G01" in out
    assert "办理人：张网格员（onebot）" in out
    assert "创建：2026-11-24 10:00  响应期限：2026-11-24 15:30  答复期限：2026-11-26 10:00" in out
    assert "期限标记：否" in out
    assert "2026-11-24 10:00  创建  onebot:20002" in out
    assert "2026-11-24 10:00  派单  system  网格员 张网格员" in out

    shown = desk.json("show", "1")
    assert shown["number"] == "T-000001" and shown["question"] == QUESTION
    assert shown["status"] == "assigned" and shown["flagged"] is False
    assert [(e["kind"], e["label"], e["actor"]) for e in shown["events"]] == [
        ("created", "创建", "onebot:20002"), ("assigned", "派单", "system")]


def test_answer_close_reopen_as_staff(desk: Desk) -> None:
    out = desk.ok("answer", "T-000001", "--text", "请带劳动合同到街道工会服务站", "--by", "李干事")
    assert out == "已答复工单 T-000001，答复会发给提问人王师傅。\n"
    ticket = desk.service.get("T-000001")
    assert ticket.status.value == "answered" and ticket.answer == "请带劳动合同到街道工会服务站"
    last = desk.service.history("T-000001")[-1]
    assert (last.kind.value, last.actor) == ("answered", "staff:李干事")
    with desk.service.session() as session:
        texts = session.execute(select(MessageRow.text).where(MessageRow.ticket_id == 1)).scalars()
        assert any("请带劳动合同" in t and "李干事" in t for t in texts)   # to the asker

    assert desk.ok("close", "T-000001", "--by", "李干事") == "工单 T-000001 已办结。\n"
    assert desk.failed(1, "close", "T-000001", "--by", "李干事") == "错误：工单 T-000001 已办结\n"
    assert "已办结" in desk.failed(1, "answer", "T-000001", "--text", "再答", "--by", "李干事")

    reopened = desk.json("reopen", "T-000001", "--reason", "提问人来电说没解决", "--by", "李主席")
    assert reopened["status"] == "reopened" and reopened["light"] == "green"
    assert [(e["kind"], e["actor"], e["note"]) for e in reopened["events"][-2:]] == [
        ("closed", "staff:李干事", ""), ("reopened", "staff:李主席", "提问人来电说没解决")]
    assert reopened["respond_by"] > "2026-12"


def test_transfer_to_a_back_office(desk: Desk) -> None:
    out = desk.ok("transfer", "T-000002", "--office", "法律援助中心", "--reason", "需要律师",
                  "--by", "李干事")
    assert out.startswith("已把工单 T-000002 转给法律援助中心，响应期限 ")
    shown = desk.json("show", "T-000002")
    assert shown["status"] == "transferred" and shown["status_label"] == "已转办"
    assert shown["office"] == {"code": "flyz", "name": "法律援助中心"}
    assert shown["events"][-1] == {**shown["events"][-1], "kind": "transferred",
                                   "actor": "staff:李干事", "note": "法律援助中心：需要律师"}
    assert shown["light"] == "green"


def test_errors_are_one_chinese_line_and_change_nothing(desk: Desk) -> None:
    before = desk.service.history("T-000001")
    assert desk.failed(1, "show", "T-000099") == "错误：没有找到工单 T-000099\n"
    assert desk.failed(1, "answer", "T-000099", "--text", "x", "--by", "李干事") \
        == "错误：没有找到工单 T-000099\n"
    err = desk.failed(1, "transfer", "T-000001", "--office", "财务部", "--by", "李干事")
    assert err.startswith("错误：没有这个部门：“财务部”（可转：权益保障部、法律援助中心")
    assert err.count("\n") == 1
    err = desk.failed(1, "reopen", "T-000001", "--reason", "再看看", "--by", "李干事")
    assert err == "错误：工单 T-000001 正在办理中（已派给网格员），不需要重新办理\n"
    assert desk.service.history("T-000001") == before

    assert "工单号应像 T-000457" in desk.failed(2, "show", "abc")
    assert "--by" in desk.failed(2, "answer", "T-000001", "--text", "好的")
    assert "答复内容（--text）不能为空" in desk.failed(2, "answer", "1", "--text", " ", "--by", "李")
    assert "--reason" in desk.failed(2, "reopen", "T-000001", "--by", "李干事")
    assert "状态应为" in desk.failed(2, "list", "--status", "lost")
    assert desk.service.history("T-000001") == before

"""The staff API end to end: `create_app(settings)` with its dispatcher and
scheduler, a temporary SQLite database holding the fictitious grid directory, and
the fake group platforms receiving what it sends.

One app and one fake serve the whole module (seeding the directory takes about a
second); every test uses its own notices and titles, so they do not depend on
each other's order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import pytz
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import create_app, token_path
from broadcast.tables import WebMessageRow
from core.settings import Settings
from grids import db as grid_db
from grids.directory import Directory
from grids.generator import generate
from tests.fakes.broadcast import FakeGroupPlatforms
from tests.fakes.broadcast_directory import pointed_at, seed

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "test-staff-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UNAUTHORIZED = {"error": "需要登录：请提供有效的访问令牌"}
SHANGHAI = pytz.timezone("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[3]


def settings_for(root: Path, database_url: str, **env: str) -> Settings:
    return Settings.from_env(env={"DATABASE_URL": database_url,
                                  "DATA_DIR": str(root / "var"), **env}, project_dir=root)


@dataclass
class Staff:
    """The running staff app, what it sends to, and how tests talk to it."""

    client: TestClient
    fake: FakeGroupPlatforms
    database_url: str
    directory: Directory = field(repr=False)

    async def call(self, method: str, path: str, *, body: Any = None, raw: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        async with self.client.request(method, path, data=data,
                                       headers=AUTH if headers is None else headers) as resp:
            return resp.status, await resp.json()

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        got, data = await self.call(method, path, **kwargs)
        assert got == status, data
        return data

    async def send(self, title: str, to: list[str], **fields: Any) -> dict[str, Any]:
        body = {"title": title, "body": f"{title}的正文。\n\n第二段。", "author": "张干事",
                "to": to, **fields}
        return await self.ok("POST", "/api/notices", status=201, body=body)

    async def wait_for(self, notice_id: int, status: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            report = await self.ok("GET", f"/api/notices/{notice_id}")
            if report["status"] == status:
                return report
            if time.monotonic() > deadline:
                raise AssertionError(f"notice {notice_id} not {status} after {timeout}s: {report}")
            await asyncio.sleep(0.05)

    async def deliveries(self, notice_id: int, query: str = "") -> list[dict[str, Any]]:
        data = await self.ok("GET", f"/api/notices/{notice_id}/deliveries?limit=1000{query}")
        return data["deliveries"]

    def grid_in(self, street: str, platform: str) -> str:
        """A grid of `street` (code) that has a group on `platform`, and other groups too."""
        counts: dict[str, set[str]] = {}
        for group in self.directory.groups.values():
            counts.setdefault(group.grid_code, set()).add(group.platform)
        for code in sorted(counts):
            community = self.directory.communities[self.directory.grids[code].community_code]
            if community.street_code == street and platform in counts[code] \
                    and len(counts[code]) > 1:
                return code
        raise AssertionError(f"no grid of {street} with a {platform} group")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def staff(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Staff]:
    root = tmp_path_factory.mktemp("staff-api")
    database_url = f"sqlite:///{root / 'broadcast.db'}"
    async with FakeGroupPlatforms(onebot_limit=(1000, 1.0)) as fake:
        directory = pointed_at(fake, generate())
        engine = grid_db.create(database_url)
        try:
            seed(engine, directory)
        finally:
            engine.dispose()
        settings = settings_for(root, database_url, STAFF_API_TOKEN=TOKEN,
                                ONEBOT_API_URL=fake.onebot_base_url,
                                BROADCAST_LIMIT_ONEBOT="200/1:200")
        async with TestClient(TestServer(create_app(settings))) as client:
            yield Staff(client, fake, database_url, directory)


# --- authentication ---------------------------------------------------------------------
async def test_health_needs_no_token(staff: Staff) -> None:
    status, data = await staff.call("GET", "/api/health", headers={})
    assert status == 200
    assert data["ok"] is True


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer"},
    {"Authorization": TOKEN},
], ids=["none", "wrong", "longer", "basic", "empty", "no-scheme"])
@pytest.mark.parametrize("method, path", [
    ("GET", "/api/notices"),
    ("POST", "/api/notices"),
    ("GET", "/api/notices/1"),
    ("GET", "/api/notices/1/deliveries"),
    ("GET", "/api/deliveries/1/attempts"),
    ("POST", "/api/notices/1/retry-failed"),
    ("POST", "/api/notices/1/cancel"),
    ("GET", "/api/no-such-route"),
])
async def test_everything_but_health_needs_the_token(staff: Staff, method: str, path: str,
                                                    headers: dict[str, str]) -> None:
    # a malformed body must not matter: the token is checked before the body is read
    status, data = await staff.call(method, path, raw=b"{not json", headers=headers)
    assert (status, data) == (401, UNAUTHORIZED)


async def test_401_carries_a_bearer_challenge_and_the_scheme_is_case_insensitive(
        staff: Staff) -> None:
    async with staff.client.get("/api/notices") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    await staff.ok("GET", "/api/notices", headers={"Authorization": f"bearer {TOKEN}"})


# --- sending ------------------------------------------------------------------------------
async def test_notice_to_a_street_reaches_every_group_once(staff: Staff) -> None:
    title = "联盟街道工会会员体检通知"
    created = await staff.send(title, ["street:联盟街道"])
    assert created["status"] in ("sending", "done")
    assert created["target_label"] == "街道 联盟街道"
    assert created["next_run"] is None
    notice_id = created["id"]

    report = await staff.wait_for(notice_id, "done")
    assert report["status_label"] == "已完成"
    assert report["counts"] == {"sent": report["total"]}
    assert report["failures"] == {}
    assert report["finished_at"] is not None

    deliveries = await staff.deliveries(notice_id)
    assert len(deliveries) == report["total"] > 20
    assert {d["state"] for d in deliveries} == {"sent"}
    assert {d["state_label"] for d in deliveries} == {"已送达"}
    assert all(d["sent_at"] and d["parts_sent"] == d["parts_total"] for d in deliveries)
    # every group the outbox says it reached got the notice, exactly once
    platforms = {d["platform"] for d in deliveries}
    assert {"wecom", "dingtalk", "feishu", "onebot", "web"} <= platforms
    expected = {f"{d['platform']}:{d['external_id']}" for d in deliveries if d["platform"] != "web"}
    reached = {target for target, texts in staff.fake.by_target.items()
               if any(title in text for text in texts)}
    assert reached == expected
    assert all(sum(title in t for t in staff.fake.by_target[target]) == 1 for target in expected)
    assert staff.fake.duplicates() == 0
    engine = grid_db.create(staff.database_url)
    try:
        with engine.connect() as conn:
            web = conn.execute(select(func.count()).select_from(WebMessageRow)
                               .where(WebMessageRow.notice_id == notice_id)).scalar()
    finally:
        engine.dispose()
    assert web == sum(d["platform"] == "web" for d in deliveries)

    listed = await staff.ok("GET", "/api/notices?limit=5")
    assert notice_id in [n["id"] for n in listed["notices"]]
    attempts = await staff.ok("GET", f"/api/deliveries/{deliveries[0]['id']}/attempts")
    assert [a["outcome"] for a in attempts["attempts"]] == ["sent"]


async def test_retry_failed_after_the_robot_was_fixed(staff: Staff) -> None:
    grid = staff.grid_in("D001-S01", "wecom")
    broken = next(f"wecom:{g.external_id}" for g in staff.directory.groups.values()
                  if g.grid_code == grid and g.platform == "wecom")
    title = "网格活动场地变更"
    staff.fake.invalid_targets.add(broken)
    try:
        created = await staff.send(title, [f"grid:{grid}"])
        report = await staff.wait_for(created["id"], "done")
    finally:
        staff.fake.invalid_targets.discard(broken)
    total = report["total"]
    assert report["counts"] == {"sent": total - 1, "failed": 1}
    [(reason, count)] = report["failures"].items()
    assert count == 1 and "机器人地址或密钥无效" in reason

    [failed] = await staff.deliveries(created["id"], "&state=failed")
    assert f"wecom:{failed['external_id']}" == broken
    assert failed["reason"] == reason and failed["state_label"] == "失败"
    attempts = (await staff.ok("GET", f"/api/deliveries/{failed['id']}/attempts"))["attempts"]
    assert [(a["outcome"], a["code"]) for a in attempts] == [("failed", "93000")]

    retried = await staff.ok("POST", f"/api/notices/{created['id']}/retry-failed")
    assert retried == {"retried": 1}
    report = await staff.wait_for(created["id"], "done")
    assert report["counts"] == {"sent": total}
    assert report["failures"] == {}
    assert sum(title in text for text in staff.fake.by_target[broken]) == 1
    again = await staff.ok("POST", f"/api/notices/{created['id']}/retry-failed")
    assert again == {"retried": 0}


# --- scheduling ---------------------------------------------------------------------------
async def test_scheduled_notice_waits_and_can_be_cancelled(staff: Staff) -> None:
    tomorrow = datetime.now(SHANGHAI) + timedelta(days=1)
    created = await staff.send("明日停水通知", ["street:明珠街道"],
                               at=tomorrow.strftime("%Y-%m-%d %H:%M"))
    assert created["status"] == "scheduled" and created["status_label"] == "定时待发"
    assert created["schedule_kind"] == "at"
    assert created["next_run"] == pytest.approx(created["run_at"], abs=1.0)
    assert created["run_at"] > time.time() + 23 * 3600
    assert created["counts"] == {"pending": created["total"]}

    cancelled = await staff.ok("POST", f"/api/notices/{created['id']}/cancel",
                               body={"by": "李主席"})
    assert cancelled == {"cancelled": created["total"]}
    report = await staff.ok("GET", f"/api/notices/{created['id']}")
    assert report["status"] == "cancelled" and report["next_run"] is None
    assert report["counts"] == {"cancelled": created["total"]}
    deliveries = await staff.deliveries(created["id"])
    assert {(d["state"], d["state_label"]) for d in deliveries} == {("cancelled", "已取消")}


async def test_scheduled_notice_goes_out_at_its_time(staff: Staff) -> None:
    grid = staff.grid_in("D001-S02", "feishu")
    at = (datetime.now(SHANGHAI) + timedelta(seconds=2)).isoformat(timespec="seconds")
    created = await staff.send("两秒后的通知", [f"grid:{grid}"], at=at)
    assert created["status"] == "scheduled"
    report = await staff.wait_for(created["id"], "done", timeout=15.0)
    assert report["counts"] == {"sent": report["total"]}
    assert report["finished_at"] >= created["run_at"]


async def test_recurring_notice_is_a_template_and_can_be_cancelled(staff: Staff) -> None:
    created = await staff.send("每周一工会例会提醒", ["community:联盟街道/福景社区"],
                               cron="0 9 * * 1")
    assert created["status"] == "recurring" and created["status_label"] == "周期发送"
    assert created["cron"] == "0 9 * * 1" and created["total"] == 0
    next_run = datetime.fromtimestamp(created["next_run"], SHANGHAI)
    assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 9, 0)
    assert created["next_run"] > time.time()

    assert await staff.ok("POST", f"/api/notices/{created['id']}/cancel") == {"cancelled": 0}
    report = await staff.ok("GET", f"/api/notices/{created['id']}")
    assert report["status"] == "cancelled" and report["next_run"] is None


# --- bad input ----------------------------------------------------------------------------
GOOD = {"title": "标题", "body": "正文", "author": "张干事", "to": ["street:联盟街道"]}


@pytest.mark.parametrize("body, message", [
    ({**GOOD, "title": ""}, "通知标题不能为空"),
    ({**GOOD, "title": "  "}, "通知标题不能为空"),
    ({**GOOD, "body": ""}, "通知正文不能为空"),
    ({**GOOD, "author": ""}, "请填写发布人"),
    ({**GOOD, "author": "张" * 65}, "发布人不能超过 64 个字"),
    ({**GOOD, "to": ["street:联盟大街"]}, "网格目录里没有街道“联盟大街”，您是不是要找：联盟街道"),
    ({**GOOD, "to": ["grid:NOPE"]}, "网格目录里没有网格“NOPE”"),
    ({**GOOD, "to": ["town:联盟"]}, "无法识别发送范围“town:联盟”"),
    ({**GOOD, "to": []}, "请指定发送范围"),
    ({**GOOD, "to": [1]}, "字段“to”（发送范围）应是字符串列表"),
    ({**GOOD, "platforms": ["wechat"]}, "不支持的平台：wechat"),
    ({**GOOD, "body_format": "html"}, "正文格式应为 text 或 markdown"),
    ({**GOOD, "title": 5}, "字段“title”（通知标题）应是字符串"),
    ({k: v for k, v in GOOD.items() if k != "title"}, "缺少字段“title”（通知标题）"),
    ({**GOOD, "target": "all"}, "不认识的字段：target"),
    ({**GOOD, "title": "a\x00b"}, "不能包含空字符"),
    ({**GOOD, "at": "2020-01-01 09:00"}, "已经过去了"),
    ({**GOOD, "at": "明天上午"}, "无法识别，请写成 2026-11-23 09:00"),
    ({**GOOD, "at": "9999-12-31 23:59"}, "超出了可用的范围"),
    ({**GOOD, "at": 1700000000}, "字段“at”（定时发送时间）应是字符串"),
    ({**GOOD, "cron": "0 9 * *"}, "应为 5 段"),
    ({**GOOD, "cron": "61 9 * * *"}, "无法识别"),
    ({**GOOD, "at": "2030-01-01 09:00", "cron": "0 9 * * 1"}, "只能选一种"),
    ({**GOOD, "cron": "0 9 * * 1", "timezone": "Mars/Olympus"}, "未知的时区“Mars/Olympus”"),
], ids=lambda v: v if isinstance(v, str) else "")
async def test_invalid_notices_are_400_in_chinese(staff: Staff, body: dict[str, Any],
                                                  message: str) -> None:
    before = await staff.ok("GET", "/api/notices?limit=500")
    status, data = await staff.call("POST", "/api/notices", body=body)
    assert status == 400, data
    assert message in data["error"], data["error"]
    assert await staff.ok("GET", "/api/notices?limit=500") == before


@pytest.mark.parametrize("raw, message", [
    (b"", "请求正文为空，应是 JSON 对象"),
    (b"{not json", "请求正文不是有效的 JSON（第 1 行第 2 列）"),
    (b"[" * 100_000, "请求正文不是有效的 JSON"),
    (b'"title"', "请求正文应是 JSON 对象"),
    (b"[]", "请求正文应是 JSON 对象"),
    (b'{"title": "\xff"}', "请求正文不是 UTF-8 编码"),
], ids=["empty", "malformed", "deep", "string", "list", "latin1"])
async def test_malformed_bodies_are_400(staff: Staff, raw: bytes, message: str) -> None:
    status, data = await staff.call("POST", "/api/notices", raw=raw)
    assert (status, data) == (400, {"error": message})


async def test_oversized_body_is_413(staff: Staff) -> None:
    body = {**GOOD, "body": "字" * 100_000}  # ~300 KB of UTF-8
    status, data = await staff.call("POST", "/api/notices", body=body)
    assert status == 413 and "请求内容过大" in data["error"]


@pytest.mark.parametrize("method, path, status, message", [
    ("GET", "/api/notices/999999", 404, "找不到编号为 999999 的通知"),
    ("GET", "/api/notices/99999999999999999999", 404, "找不到编号为 99999999999999999999 的通知"),
    ("GET", "/api/notices/999999/deliveries", 404, "找不到编号为 999999 的通知"),
    ("POST", "/api/notices/999999/cancel", 404, "找不到编号为 999999 的通知"),
    ("POST", "/api/notices/999999/retry-failed", 404, "找不到编号为 999999 的通知"),
    ("GET", "/api/deliveries/999999/attempts", 404, "找不到编号为 999999 的发送记录"),
    ("GET", "/api/notices/abc", 400, "通知编号应是正整数，收到“abc”"),
    ("GET", "/api/notices/0", 400, "通知编号应是正整数"),
    ("GET", "/api/notices/-3/deliveries", 400, "通知编号应是正整数"),
    ("GET", "/api/deliveries/x1/attempts", 400, "发送记录编号应是正整数"),
    ("GET", "/api/notices?limit=abc", 400, "参数 limit 应是整数，收到“abc”"),
    ("GET", "/api/notices?limit=0", 400, "参数 limit 应在 1 到 500 之间，收到 0"),
    ("GET", "/api/notices/1/deliveries?state=lost", 400, "参数 state 应为 pending"),
    ("GET", "/api/notices/1/deliveries?offset=-1", 400, "参数 offset 应在 0 到"),
    ("GET", "/api/notices/1/deliveries?offset=99999999999999999999", 400, "参数 offset 应在"),
    ("GET", "/api/nowhere", 404, "没有这个接口"),
    ("GET", "/api/notices/1/cancel", 405, "该接口不支持这种请求方法"),
])
async def test_bad_ids_and_parameters(staff: Staff, method: str, path: str, status: int,
                                      message: str) -> None:
    got, data = await staff.call(method, path)
    assert got == status, data
    assert message in data["error"], data["error"]


@pytest.mark.parametrize("raw, message", [
    (b'{"by": 5}', "字段“by”（取消人）应是字符串"),
    (b'{"who": "x"}', "不认识的字段：who"),
    (b"nope", "请求正文不是有效的 JSON"),
])
async def test_cancel_body_is_checked(staff: Staff, raw: bytes, message: str) -> None:
    created = await staff.send("待取消", ["grid:" + staff.grid_in("D001-S03", "wecom")],
                               at="2099-01-01 09:00")
    status, data = await staff.call("POST", f"/api/notices/{created['id']}/cancel", raw=raw)
    assert status == 400 and message in data["error"]
    assert (await staff.ok("GET", f"/api/notices/{created['id']}"))["status"] == "scheduled"
    await staff.ok("POST", f"/api/notices/{created['id']}/cancel")


# --- the token file -----------------------------------------------------------------------
async def test_token_file_is_generated_private_and_reused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}", STAFF_API_TOKEN="")
    with caplog.at_level(logging.INFO, logger="bot.app"):
        app = create_app(settings)
    path = token_path(settings)
    assert path == tmp_path / "var" / "staff_token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text().strip()
    assert len(token) >= 32
    assert str(path) in caplog.text and token not in caplog.text

    async with TestClient(TestServer(app)) as client:
        async with client.get("/api/notices", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200 and await r.json() == {"notices": []}
        async with client.get("/api/notices", headers=AUTH) as r:
            assert r.status == 401

    create_app(settings)  # a restart keeps the token
    assert path.read_text().strip() == token


# --- the process ----------------------------------------------------------------------
SERVE = """
import logging, sys
from pathlib import Path
from bot.app import serve
from core.settings import Settings
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
root = Path(sys.argv[1])
sys.exit(serve(Settings.from_env(env={"DATA_DIR": str(root / "var"), "STAFF_PORT": sys.argv[2],
                                      "STAFF_API_TOKEN": "t0ken-for-the-test-only"}, project_dir=root)))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_logs_its_url_and_stops_promptly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(tmp_path), str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as r:
                    assert json.load(r)["ok"] is True
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                await asyncio.sleep(0.1)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert time.monotonic() - started < 8, "shutdown waited for the dispatcher"
    assert f"Staff API on http://127.0.0.1:{port}/api" in output
    assert "Dispatcher" in output and "stopped" in output
    assert "t0ken" not in output

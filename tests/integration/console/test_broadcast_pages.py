"""The broadcast composer and the live progress of a notice, against the fake
platforms: one street's groups, the preview of how a notice splits per platform,
server-sent events up to 100%, retrying the failed, cancelling a scheduled notice,
and street staff kept to their street."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from bot.compose import open_engine
from console.audit import AuditLog
from console.staff_api import RUNNING
from tests.integration.console.conftest import STREET, Browser, Desk

pytestmark = pytest.mark.asyncio(loop_scope="module")
NOTICE = re.compile(r"^/broadcasts/(\d+)$")


async def _send(browser: Browser, **fields: Any) -> tuple[int, str, int | None]:
    data = {"title": "停水通知", "body": "明天 8:00-12:00 停水，请提前储水。", "body_format": "text",
            "when": "now", **fields}
    status, text, resp = await browser.post("/broadcasts", data)
    match = NOTICE.match(resp.headers.get("Location", "")) if status == 303 else None
    return status, text, int(match.group(1)) if match else None


async def _events(browser: Browser, notice_id: int, timeout: float = 30.0) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    async with browser.client.get(f"/broadcasts/{notice_id}/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        name = ""
        async with asyncio.timeout(timeout) if hasattr(asyncio, "timeout") else _nothing():
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
                    if name == "done":
                        break
    return events


def _grid_with(desk: Desk, platform: str, street: str) -> str:
    from sqlalchemy.orm import Session

    from grids.repository import placed_groups

    with Session(open_engine(desk.settings), future=True) as session:
        return next(p.group.grid_code for p in placed_groups(session)
                    if p.group.platform == platform and p.street_code == street)


class _nothing:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_: object) -> None:
        return None


async def test_send_to_one_street_and_watch_it_reach_100_percent(desk: Desk) -> None:
    browser = await desk.browser("district")
    status, text, _ = await browser.get("/broadcasts/new")
    assert status == 200 and "联盟街道" in text and "企业微信" in text
    before = len(desk.fake.received)
    status, text, notice_id = await _send(browser, street=STREET)
    assert status == 303, text
    assert notice_id is not None
    events = await asyncio.wait_for(_events(browser, notice_id), 60)
    names = [n for n, _ in events]
    assert names[-1] == "done" and "progress" in names
    final = events[-1][1]
    assert final["percent"] == 100 and final["counts"].get("sent") == final["total"] > 0
    seen = {d["id"]: d["state"] for n, data in events for d in data.get("deliveries", [])}
    assert len(seen) == final["total"] and set(seen.values()) == {"sent"}
    groups = final["total"] - final["counts"].get("sent", 0)
    assert groups == 0
    web_rooms = sum(1 for d in (await asyncio.to_thread(
        desk.server.app[RUNNING].broadcaster.outbox.deliveries, notice_id))
        if d.platform == "web")
    assert len(desk.fake.received) - before == final["total"] - web_rooms
    status, text, _ = await browser.get(f"/broadcasts/{notice_id}")
    assert "100%" in text and "已送达" in text
    entries = AuditLog(open_engine(desk.settings)).latest(action="broadcast.send")
    assert any(e.target == f"通知 {notice_id}" and "停水通知" in e.detail for e in entries)


async def test_preview_splits_per_platform(desk: Desk) -> None:
    browser = await desk.browser("district")
    body = "\n\n".join(f"第{i}段：" + "工会通知内容。" * 60 for i in range(6))
    async with browser.client.post("/broadcasts/preview", headers={"X-CSRF-Token": browser.csrf},
                                   json={"title": "长通知", "body": body,
                                         "platforms": ["wecom", "feishu"]}) as resp:
        assert resp.status == 200
        data = await resp.json()
    parts = {p["platform"]: p["messages"] for p in data["platforms"]}
    assert len(parts["wecom"]) > 1 and len(parts["feishu"]) == 1
    assert parts["wecom"][0]["text"].startswith(f"【长通知】（1/{len(parts['wecom'])}）")
    assert all(m["bytes"] <= 2048 for m in parts["wecom"])
    async with browser.client.post("/broadcasts/preview", json={"title": "x", "body": "y"}) as r:
        assert r.status == 403                           # no CSRF header: refused


async def test_bad_input_is_answered_in_chinese_and_kept(desk: Desk) -> None:
    browser = await desk.browser("district")
    status, text, notice_id = await _send(browser, title="", body="正文留着")
    assert status == 400 and notice_id is None and "通知标题不能为空" in text
    assert "正文留着" in text                             # nothing the user typed is lost
    status, text, _ = await _send(browser)
    assert status == 400 and "请至少选择一个发送范围" in text
    status, text, _ = await _send(browser, street=STREET, when="at", at="2020-01-01T09:00")
    assert status == 400 and "已经过去了" in text


async def test_street_staff_cannot_send_beyond_their_street(desk: Desk) -> None:
    browser = await desk.browser("street")
    _, text, _ = await browser.get("/broadcasts/new")
    assert "联盟街道" in text and 'value="D001-S02"' not in text
    count = len(await asyncio.to_thread(
        desk.server.app[RUNNING].broadcaster.outbox.notices, 500))
    status, text, _ = await _send(browser, street="D001-S02")
    assert status == 400 and "不在您可发送范围内的街道" in text
    status, text, _ = await _send(browser, all="1")
    assert status == 400 and "不能选“全部网格群”" in text
    assert count == len(await asyncio.to_thread(
        desk.server.app[RUNNING].broadcaster.outbox.notices, 500))
    # their own notice: they see it; a district notice they do not
    status, _, own = await _send(browser, grid="D001-S01-C01-G01", platform="web")
    assert status == 303 and own is not None
    district = await desk.browser("district")
    _, _, theirs = await _send(district, grid="D001-S02-C01-G01", platform="web")
    assert (await browser.get(f"/broadcasts/{own}"))[0] == 200
    assert (await browser.get(f"/broadcasts/{theirs}"))[0] == 404
    _, text, _ = await browser.get("/broadcasts")
    assert f"/broadcasts/{own}" in text and f"/broadcasts/{theirs}" not in text


async def test_failed_deliveries_can_be_retried(desk: Desk) -> None:
    browser = await desk.browser("district")
    grid = _grid_with(desk, "wecom", street="D001-S03")
    broadcaster = desk.server.app[RUNNING].broadcaster
    _, _, notice_id = await _send(browser, grid=grid, platform="wecom")
    assert notice_id is not None
    await asyncio.wait_for(_events(browser, notice_id), 60)
    report = await asyncio.to_thread(broadcaster.report, notice_id)
    assert report.counts.get("sent") == report.total
    # the grid's robots answer "invalid webhook" (a permanent failure) until fixed
    targets = [d for d in await asyncio.to_thread(broadcaster.outbox.deliveries, notice_id)]
    for d in targets:
        desk.fake.invalid_targets.add(f"wecom:{d.send_target.rsplit('key=', 1)[-1]}")
    _, _, failing = await _send(browser, grid=grid, platform="wecom")
    assert failing is not None
    await asyncio.wait_for(_events(browser, failing), 60)
    report = await asyncio.to_thread(broadcaster.report, failing)
    assert report.counts.get("failed") == report.total > 0
    _, text, _ = await browser.get(f"/broadcasts/{failing}")
    assert "失败" in text and "机器人地址或密钥无效" in text
    desk.fake.invalid_targets.clear()
    status, _, resp = await browser.post(f"/broadcasts/{failing}/retry")
    assert status == 303
    await asyncio.wait_for(_events(browser, failing), 60)
    report = await asyncio.to_thread(broadcaster.report, failing)
    assert report.counts.get("sent") == report.total
    assert any(e.target == f"通知 {failing}" for e in AuditLog(
        open_engine(desk.settings)).latest(action="broadcast.retry"))


async def test_a_scheduled_notice_can_be_cancelled(desk: Desk) -> None:
    browser = await desk.browser("district")
    status, _, notice_id = await _send(browser, grid="D001-S01-C01-G01", when="at",
                                       at="2099-01-04T09:00")
    assert status == 303 and notice_id is not None
    status, text, _ = await browser.get(f"/broadcasts/{notice_id}")
    assert "定时待发" in text and "2099-01-04 09:00" in text
    status, _, _ = await browser.post(f"/broadcasts/{notice_id}/cancel")
    assert status == 303
    _, text, _ = await browser.get(f"/broadcasts/{notice_id}")
    assert "已取消" in text
    status, _, notice_id = await _send(browser, grid="D001-S01-C01-G01", when="cron",
                                       cron="0 9 * * 1")
    assert status == 303
    _, text, _ = await browser.get(f"/broadcasts/{notice_id}")
    assert "周期发送" in text and "下次" in text
    status, text, _ = await _send(browser, grid="D001-S01-C01-G01", when="cron", cron="nonsense")
    assert status == 400

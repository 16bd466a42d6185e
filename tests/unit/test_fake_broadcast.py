"""The broadcast fake itself: platform answers, measured rate limits, faults, control API."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.broadcast import FakeGroupPlatforms, feishu_sign
from tests.fakes.signing import dingtalk_sign

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def post(session: aiohttp.ClientSession, url: str, body: Any, *, timeout: float = 5.0,
               **kwargs: Any) -> tuple[int, Any, Any]:
    async with session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=timeout),
                            **kwargs) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


def wecom(text: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": text}}


def ding(text: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": text}, "at": {"isAtAll": False}}


def feishu(text: str, **extra: str) -> dict[str, Any]:
    return {"msg_type": "text", "content": {"text": text}, **extra}


def onebot(group: int | str, text: str) -> dict[str, Any]:
    return {"group_id": group, "message": [{"type": "text", "data": {"text": text}},
                                           {"type": "face", "data": {"id": "1"}}]}


async def test_each_platform_records_what_it_accepts(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        status, body, _ = await post(session, fake.url("wecom", "k1"), wecom("停水通知"))
        assert (status, body) == (200, {"errcode": 0, "errmsg": "ok"})
        status, body, _ = await post(session, f"{fake.base_url}/webhook/send?key=k1",
                                     {"msgtype": "markdown", "markdown": {"content": "**通知**"}})
        assert (status, body) == (200, {"errcode": 0, "errmsg": "ok"})
        status, body, _ = await post(session, fake.url("dingtalk", "t1"),
                                     {"msgtype": "markdown",
                                      "markdown": {"title": "通知", "text": "# 停电"}})
        assert body == {"errcode": 0, "errmsg": "ok"}
        status, body, _ = await post(session, fake.url("feishu", "h1"), feishu("开会"))
        assert body == {"code": 0, "msg": "success", "data": {}}
        status, body, _ = await post(session, f"{fake.onebot_base_url}/send_group_msg",
                                     onebot(123, "体检"))
        assert body["status"] == "ok" and body["retcode"] == 0
        assert isinstance(body["data"]["message_id"], int)
        status, body, _ = await post(session, f"{fake.onebot_base_url}/qq2/send_group_msg",
                                     {"group_id": "456", "message": "纯文本"})
        assert body["status"] == "ok"

        assert fake.by_target == {"wecom:k1": ["停水通知", "**通知**"], "dingtalk:t1": ["# 停电"],
                                  "feishu:h1": ["开会"], "onebot:123": ["体检"],
                                  "onebot:456": ["纯文本"]}
        assert [r.platform for r in fake.received] == ["wecom", "wecom", "dingtalk", "feishu",
                                                       "onebot", "onebot"]
        stats = fake.stats()
        assert stats["received"] == 6 and stats["targets"] == 5 and stats["calls"] == 6
        assert stats["duplicates"] == 0 and stats["violations"] == 0


async def test_wecom_21st_message_in_a_minute_is_refused(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        url = fake.url("wecom", "grid")
        answers = [(await post(session, url, wecom(f"第{i}条")))[1]["errcode"] for i in range(21)]
        assert answers == [0] * 20 + [45009]
        assert len(fake.by_target["wecom:grid"]) == 20
        assert [(v.target, v.platform) for v in fake.violations] == [("wecom:grid", "wecom")]
        # another robot has its own window
        assert (await post(session, fake.url("wecom", "other"), wecom("x")))[1]["errcode"] == 0


async def test_windows_slide(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms(wecom_limit=(2, 0.2)) as fake:
        url = fake.url("wecom", "g")
        codes = [(await post(session, url, wecom(str(i))))[1]["errcode"] for i in range(3)]
        assert codes == [0, 0, 45009]
        await asyncio.sleep(0.25)
        assert (await post(session, url, wecom("later")))[1]["errcode"] == 0


async def test_dingtalk_throttle_persists(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms(dingtalk_limit=(2, 0.1), dingtalk_throttle=0.4) as fake:
        url = fake.url("dingtalk", "t")
        codes = [(await post(session, url, ding(str(i))))[1]["errcode"] for i in range(3)]
        assert codes == [0, 0, 130101]
        await asyncio.sleep(0.15)  # the window is free again, the throttle is not
        assert (await post(session, url, ding("again")))[1]["errcode"] == 130101
        assert fake.stats()["violations_by_platform"]["dingtalk"] == 2
        await asyncio.sleep(0.3)
        assert (await post(session, url, ding("after")))[1]["errcode"] == 0
        assert fake.by_target["dingtalk:t"] == ["0", "1", "after"]


async def test_feishu_six_in_a_second_gets_429(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        url = fake.url("feishu", "h")
        results = [await post(session, url, feishu(str(i))) for i in range(6)]
        assert [s for s, _, _ in results] == [200] * 5 + [429]
        status, body, headers = results[-1]
        assert body == {"code": 99991400, "msg": "request trigger frequency limit"}
        assert headers["x-ogw-ratelimit-reset"] == "1"
        assert fake.stats()["violations"] == 1 and len(fake.received) == 5
    async with FakeGroupPlatforms(feishu_limits=((100, 1.0), (3, 60.0))) as fake:
        statuses = [(await post(session, fake.url("feishu", "h"), feishu(str(i))))[0]
                    for i in range(4)]
        assert statuses == [200, 200, 200, 429]


async def test_onebot_over_pace_is_delivered_and_flagged(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms(onebot_access_token="secret-token") as fake:
        auth = {"Authorization": "Bearer secret-token"}
        base = fake.onebot_base_url
        assert (await post(session, f"{base}/send_group_msg", onebot(1, "a")))[0] == 401
        for group in (1, 2):
            _, body, _ = await post(session, f"{base}/send_group_msg", onebot(group, "a"),
                                    headers=auth)
            assert body["status"] == "ok"
        _, body, _ = await post(session, f"{base}/acct2/send_group_msg", onebot(3, "a"),
                                headers=auth)
        assert body["status"] == "ok"
        assert sorted(fake.by_target) == ["onebot:1", "onebot:2", "onebot:3"]
        assert [(v.target, v.platform) for v in fake.violations] == [("onebot:2", "onebot")]


async def test_signatures(session: aiohttp.ClientSession) -> None:
    secrets = {"dingtalk:t": "SECding", "h": "feishu-secret"}
    async with FakeGroupPlatforms(secrets=secrets) as fake:
        url = fake.url("dingtalk", "t")
        now_ms = str(int(time.time() * 1000))
        good = {"timestamp": now_ms, "sign": dingtalk_sign(now_ms, "SECding")}
        assert (await post(session, url, ding("ok"), params=good))[1]["errcode"] == 0
        old_ms = str(int(time.time() * 1000) - 3_700_000)
        for params in ({"timestamp": now_ms, "sign": dingtalk_sign(now_ms, "wrong")},
                       {"timestamp": old_ms, "sign": dingtalk_sign(old_ms, "SECding")}, {}):
            _, body, _ = await post(session, url, ding("bad"), params=params)
            assert body == {"errcode": 310000, "errmsg": "sign not match"}

        hook = fake.url("feishu", "h")
        now_s = str(int(time.time()))
        _, body, _ = await post(session, hook, feishu("ok", timestamp=now_s,
                                                      sign=feishu_sign(now_s, "feishu-secret")))
        assert body["code"] == 0
        _, body, _ = await post(session, hook, feishu("bad", timestamp=now_s,
                                                      sign=feishu_sign(now_s, "nope")))
        assert body["code"] == 19021
        assert fake.by_target == {"dingtalk:t": ["ok"], "feishu:h": ["ok"]}


async def test_invalid_targets(session: aiohttp.ClientSession) -> None:
    invalid = ["wecom:gone", "dingtalk:gone", "feishu:gone", "onebot:404"]
    async with FakeGroupPlatforms(invalid_targets=invalid) as fake:
        assert (await post(session, fake.url("wecom", "gone"), wecom("x")))[1] == {
            "errcode": 93000, "errmsg": "invalid webhook url"}
        assert (await post(session, fake.url("dingtalk", "gone"), ding("x")))[1] == {
            "errcode": 300001, "errmsg": "token is not exist"}
        assert (await post(session, fake.url("feishu", "gone"), feishu("x")))[1]["code"] == 19001
        _, body, _ = await post(session, f"{fake.onebot_base_url}/send_group_msg",
                                onebot(404, "x"))
        assert body == {"status": "failed", "retcode": 1200, "message": "群不存在", "data": None}
        assert fake.received == [] and fake.stats()["calls"] == 4


async def test_oversize_is_refused_and_counted(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        assert (await post(session, fake.url("wecom", "k"), wecom("字" * 683)))[1][
            "errcode"] == 40058  # 2049 bytes
        markdown = {"msgtype": "markdown", "markdown": {"content": "a" * 4096}}
        assert (await post(session, fake.url("wecom", "k"), markdown))[1]["errcode"] == 0
        assert (await post(session, fake.url("dingtalk", "t"), ding("a" * 20_000)))[1][
            "errcode"] == 460101
        assert (await post(session, fake.url("feishu", "h"), feishu("a" * 20_480)))[1] == {
            "code": 9499, "msg": "Bad Request"}
        assert fake.stats()["oversize"] == 3 and len(fake.received) == 1


async def test_duplicates_count_extra_copies(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        for key, text in [("a", "x"), ("a", "x"), ("a", "x"), ("a", "y"), ("b", "x"),
                          ("b", "x")]:
            await post(session, fake.url("wecom", key), wecom(text))
        assert fake.duplicates() == 3 and fake.stats()["duplicates"] == 3


async def test_error_busy_and_rate_limit_faults(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        fake.faults.add("error", status=502)
        fake.faults.add("busy")
        fake.faults.add("busy")
        assert (await post(session, fake.url("wecom", "k"), wecom("x")))[0] == 502
        assert (await post(session, fake.url("wecom", "k"), wecom("x")))[1] == {
            "errcode": -1, "errmsg": "system busy"}
        assert (await post(session, fake.url("feishu", "h"), feishu("x")))[0] == 503

        fake.faults.add("rate_limit", times=4)
        assert (await post(session, fake.url("wecom", "k"), wecom("x")))[1]["errcode"] == 45009
        assert (await post(session, fake.url("dingtalk", "t"), ding("x")))[1][
            "errcode"] == 130101
        status, body, headers = await post(session, fake.url("feishu", "h"), feishu("x"))
        assert (status, body["code"], headers["x-ogw-ratelimit-reset"]) == (429, 99991400, "1")
        _, body, _ = await post(session, f"{fake.onebot_base_url}/send_group_msg", onebot(1, "x"))
        assert (body["status"], body["retcode"]) == ("failed", 100)
        # the injected DingTalk answer does not throttle the token
        assert (await post(session, fake.url("dingtalk", "t"), ding("y")))[1]["errcode"] == 0
        assert fake.received[-1].text == "y" and len(fake.received) == 1
        assert fake.violations == [] and fake.stats()["faults_applied"] == 7


async def test_targeted_fault_waits_for_its_target(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        fake.faults.add("error", target="wecom:b")
        assert (await post(session, fake.url("wecom", "a"), wecom("x")))[0] == 200
        assert (await post(session, fake.url("wecom", "b"), wecom("x")))[0] == 500
        assert (await post(session, fake.url("wecom", "b"), wecom("x")))[0] == 200


async def test_timeout_faults(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        fake.faults.add("timeout", seconds=0.05)
        assert (await post(session, fake.url("wecom", "k"), wecom("lost")))[0] == 504
        fake.faults.add("timeout", seconds=5)
        with pytest.raises(asyncio.TimeoutError):
            await post(session, fake.url("wecom", "k"), wecom("lost"), timeout=0.2)
        assert fake.received == []

        fake.faults.add("accept_then_timeout", seconds=5)
        with pytest.raises(asyncio.TimeoutError):
            await post(session, fake.url("feishu", "h"), feishu("delivered"), timeout=0.2)
        assert fake.by_target == {"feishu:h": ["delivered"]}
        assert (await post(session, fake.url("feishu", "h"), feishu("delivered")))[0] == 200
        assert fake.duplicates() == 1 and fake.stats()["faults_applied"] == 3


async def test_in_flight_and_wait_received(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms(latency=0.1) as fake:
        sends = [post(session, fake.url("wecom", f"g{i}"), wecom("x")) for i in range(5)]
        waiter = asyncio.ensure_future(fake.wait_received(5, timeout=2))
        await asyncio.gather(*sends)
        assert len(await waiter) == 5
        assert fake.stats()["max_in_flight"] == 5
        with pytest.raises(AssertionError):
            await fake.wait_received(6, timeout=0.05)


async def test_control_api(session: aiohttp.ClientSession) -> None:
    async with FakeGroupPlatforms() as fake:
        await post(session, fake.url("wecom", "k"), wecom("before"))
        status, body, _ = await post(session, f"{fake.base_url}/_fake/config",
                                     {"reset": True, "latency": 0.01,
                                      "invalid_targets": ["wecom:bad"],
                                      "secrets": {"dingtalk:t": "s"}})
        assert status == 200 and fake.received == [] and fake.latency == 0.01
        assert fake.secrets == {"dingtalk:t": "s"}
        assert (await post(session, fake.url("wecom", "bad"), wecom("x")))[1]["errcode"] == 93000
        _, body, _ = await post(session, f"{fake.base_url}/_fake/faults",
                                {"kind": "error", "times": 2, "target": "wecom:k",
                                 "status": 503})
        assert body == {"pending": 2}
        assert (await post(session, f"{fake.base_url}/_fake/faults", {"kind": "nope"}))[0] == 400
        assert (await post(session, fake.url("wecom", "k"), wecom("x")))[0] == 503
        await post(session, fake.url("wecom", "k"), wecom("x"))
        await post(session, fake.url("wecom", "k"), wecom("ok"))
        async with session.get(f"{fake.base_url}/_fake/received") as resp:
            assert await resp.json() == {"wecom:k": ["ok"]}
        async with session.get(f"{fake.base_url}/_fake/stats") as resp:
            stats = await resp.json()
        assert stats["received"] == 1 and stats["calls"] == 4 and stats["faults_applied"] == 2
        assert set(stats) >= {"received", "targets", "duplicates", "violations",
                              "violations_by_platform", "oversize", "max_in_flight", "calls",
                              "faults_applied"}


async def test_runs_as_a_separate_process(session: aiohttp.ClientSession) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.broadcast", "--port", "0", "--latency", "0.01",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode()
        assert line.startswith("READY ")
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        await post(session, f"{base}/cgi-bin/webhook/send?key=k", wecom("hi"))
        async with session.get(f"{base}/_fake/stats") as resp:
            assert (await resp.json())["received"] == 1
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0

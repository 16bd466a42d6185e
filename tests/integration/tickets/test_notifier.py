"""The notifier against the fake platforms, on SQLite and PostgreSQL: group posts
with the @ rendered each platform's way, direct messages, retries with backoff,
permanent failures and unreachable targets with their reasons, leases, and two
notifiers sending at once without ever sending a row twice."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from broadcast import db as broadcast_db
from broadcast.webfeed import WebNoticeFeed
from core.db import create
from grids import db as grids_db
from grids import repository
from grids.directory import ChatGroup, Community, Directory, Grid, OfficeLevel, Street, UnionOffice
from tests.fakes.base import Recorded
from tests.fakes.broadcast import FakeGroupPlatforms
from tests.fakes.dingtalk import ROBOT_SECRET, ROBOT_TOKEN, FakeDingTalk
from tests.fakes.feishu import APP_ID, APP_SECRET, FakeFeishu
from tests.fakes.onebot import ACCESS_TOKEN, FakeOneBot
from tests.fakes.wecom import WEBHOOK_KEY, FakeWeCom
from tests.pg import PostgresSchemas, schemas_or_skip
from tickets import db as tickets_db
from tickets.notifier import (
    NO_DIRECT,
    NO_FEISHU,
    NO_ONEBOT,
    UNKNOWN_GROUP,
    WEB_DIRECT,
    Notifier,
)
from tickets.tables import MessageRow, TicketRow

GRID = "D001-S01-C01-G01"
NOW = 1_780_000_000.0
TEXT = "工单 T-000001 请跟进：王师傅（138****5678）问拖欠工资"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FeishuApp(FakeFeishu):
    """The Feishu fake, also taking messages to a person (receive_id_type=open_id)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.direct: list[tuple[str, str]] = []   # (open_id, text)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/open-apis/im/v1/messages", self._direct_or_chat)
        super().routes(app)

    async def _direct_or_chat(self, request: web.Request) -> web.Response:
        if request.query.get("receive_id_type") != "open_id":
            return await self._create(request)
        body = await self.record(request)
        if not self._authorized(request):
            return self._invalid_token()
        self.direct.append((body["receive_id"], _feishu_text(body)))
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": "om_1"}})


def _feishu_text(body: dict[str, Any]) -> str:
    return str(json.loads(body["content"])["text"])


@dataclass
class Fakes:
    wecom: FakeWeCom
    dingtalk: FakeDingTalk
    onebot: FakeOneBot
    feishu: FeishuApp
    hooks: FakeGroupPlatforms   # the Feishu custom bot's hook
    groups: list[ChatGroup] = field(default_factory=list)   # the directory's, at the fakes


# --- fixtures ----------------------------------------------------------------------------
@pytest.fixture
def pg() -> Iterator[PostgresSchemas]:
    yield from schemas_or_skip()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'notifier.db'}"
    return str(request.getfixturevalue("pg").new_url())


@pytest_asyncio.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with FakeWeCom() as wecom, FakeDingTalk() as dingtalk, FakeOneBot() as onebot, \
            FeishuApp() as feishu, FakeGroupPlatforms() as hooks:
        found = Fakes(wecom, dingtalk, onebot, feishu, hooks)
        found.groups = _groups(found)
        yield found


def _groups(f: Fakes) -> list[ChatGroup]:
    def group(platform: str, external_id: str, via: str, target: str) -> ChatGroup:
        return ChatGroup(platform, external_id, "幸福里居民群", GRID, via, target)

    return [
        group("wecom", "wr-grid-1", "webhook",
              f"{f.wecom.base_url}/cgi-bin/webhook/send?key={WEBHOOK_KEY}"),
        group("wecom", "wr-bad", "webhook", f"{f.wecom.base_url}/cgi-bin/webhook/send?key=nope"),
        group("dingtalk", "cid-grid-1", "webhook",
              f"{f.dingtalk.base_url}/robot/send?access_token={ROBOT_TOKEN}#secret={ROBOT_SECRET}"),
        group("onebot", "900000001", "onebot", "send_group_msg"),
        group("feishu", "oc-grid-1", "webhook", f.hooks.url("feishu", "hook-grid-1")),
        group("web", "web-grid-1", "web", "room:G01"),
    ]


@pytest.fixture
def engine(url: str, fakes: Fakes) -> Iterator[Engine]:
    engine = create(url)
    grids_db.upgrade(engine)
    broadcast_db.upgrade(engine)
    tickets_db.upgrade(engine)
    directory = Directory.of(
        streets=[Street("D001-S01", "联盟街道", "示范区")],
        communities=[Community("D001-S01-C01", "幸福社区", "D001-S01")],
        offices=[UnionOffice("D001-O01", "幸福社区工会服务站", OfficeLevel.COMMUNITY, "幸福路1号",
                             "0571-88880000", ((),) * 7, community_code="D001-S01-C01")],
        grids=[Grid(GRID, "幸福里网格", "D001-S01-C01", None, "D001-O01")],
        groups=fakes.groups)
    with Session(engine, future=True) as session, session.begin():
        repository.upsert(session, directory)
        ticket = TicketRow(question="公司拖欠我三个月工资", turns=[], topic="wage_arrears",
                           kind="help", status="assigned", asker_platform="onebot",
                           asker_id="20002", asker_name="王师傅", created_at=NOW,
                           clock_started_at=NOW, respond_by=NOW + 3600, resolve_by=NOW + 86400)
        session.add(ticket)
    yield engine
    engine.dispose()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def notifier(engine: Engine, http: aiohttp.ClientSession, fakes: Fakes, clock: Clock,
             **kwargs: Any) -> Notifier:
    options: dict[str, Any] = {
        "onebot": (fakes.onebot.base_url, ACCESS_TOKEN), "feishu": (APP_ID, APP_SECRET),
        "feishu_base_url": fakes.feishu.base_url, "clock": clock, "timeout": 5.0, **kwargs}
    return Notifier(engine, http, **options)


def post(engine: Engine, platform: str, *, group: str | None = None, user: str | None = None,
         mention: tuple[str, str] | None = None, text: str = TEXT, due_at: float = NOW) -> int:
    """A pending row of the outbox, as `TicketService` writes it."""
    with Session(engine, future=True) as session, session.begin():
        ticket_id = session.execute(select(TicketRow.id)).scalars().first()
        row = MessageRow(ticket_id=ticket_id, platform=platform, group_id=group, user_id=user,
                         mention_id=mention[0] if mention else None,
                         mention_name=mention[1] if mention else None, text=text,
                         state="pending", attempts=0, due_at=due_at, created_at=due_at)
        session.add(row)
        session.flush()
        return int(row.id)


def row(engine: Engine, message_id: int) -> MessageRow:
    with Session(engine, future=True, expire_on_commit=False) as session:
        found = session.get(MessageRow, message_id)
        assert found is not None
        return found


def bodies(records: list[Recorded], suffix: str) -> list[Any]:
    return [r.body for r in records if r.path.endswith(suffix)]


# --- group posts and direct messages ---------------------------------------------------------
async def test_group_posts_carry_the_mention_on_each_platform(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    ids = [post(engine, "wecom", group="wr-grid-1", mention=("zhangsan", "张网格员")),
           post(engine, "dingtalk", group="cid-grid-1", mention=("dd-user-7", "张网格员")),
           post(engine, "onebot", group="900000001", mention=("10001", "张网格员")),
           post(engine, "feishu", group="oc-grid-1", mention=("ou_abc", "张网格员"))]

    assert await notifier(engine, http, fakes, Clock()).send_due() == 4

    [wecom] = fakes.wecom.replies
    assert (wecom.mentioned, wecom.text) == ("zhangsan", TEXT)
    assert bodies(fakes.wecom.records, "/webhook/send")[0]["text"]["mentioned_list"] == ["zhangsan"]
    [dingtalk] = fakes.dingtalk.replies
    assert dingtalk.group_id == ROBOT_TOKEN       # signed with the URL's #secret
    assert (dingtalk.mentioned, dingtalk.text) == ("dd-user-7", f"@dd-user-7 {TEXT}")
    [onebot] = fakes.onebot.replies
    assert (onebot.group_id, onebot.mentioned, onebot.text) == ("900000001", "10001", TEXT)
    segments = bodies(fakes.onebot.records, "/send_group_msg")[0]["message"]
    assert [s["type"] for s in segments] == ["at", "text"]
    assert fakes.hooks.by_target == {
        "feishu:hook-grid-1": [f'<at user_id="ou_abc">张网格员</at> {TEXT}']}
    for message_id in ids:
        sent = row(engine, message_id)
        assert (sent.state, sent.attempts, sent.sent_at) == ("sent", 1, NOW)


async def test_a_group_post_without_mention(engine: Engine, http: aiohttp.ClientSession,
                                            fakes: Fakes) -> None:
    post(engine, "onebot", group="900000001")
    post(engine, "wecom", group="wr-grid-1")
    assert await notifier(engine, http, fakes, Clock()).send_due() == 2
    assert [(r.mentioned, r.text) for r in fakes.onebot.replies] == [(None, TEXT)]
    assert "mentioned_list" not in bodies(fakes.wecom.records, "/webhook/send")[0]["text"]


async def test_direct_messages_on_onebot_and_feishu(engine: Engine, http: aiohttp.ClientSession,
                                                    fakes: Fakes) -> None:
    qq = post(engine, "onebot", user="10001", text="工单 T-000001：电话 13812345678")
    feishu = post(engine, "feishu", user="ou_staff_1")

    assert await notifier(engine, http, fakes, Clock()).send_due() == 2

    [reply] = fakes.onebot.replies
    assert (reply.group_id, reply.text) == (None, "工单 T-000001：电话 13812345678")
    assert bodies(fakes.onebot.records, "/send_private_msg")[0]["user_id"] == 10001
    assert fakes.feishu.direct == [("ou_staff_1", TEXT)]
    assert row(engine, qq).state == row(engine, feishu).state == "sent"


# --- errors --------------------------------------------------------------------------------
async def test_a_transient_error_is_retried_with_backoff_then_sent(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    clock = Clock()
    sender = notifier(engine, http, fakes, clock, backoff=30.0)
    message_id = post(engine, "wecom", group="wr-grid-1", mention=("zhangsan", "张网格员"))
    fakes.wecom.faults.error(503)

    assert await sender.send_due() == 0
    waiting = row(engine, message_id)
    assert (waiting.state, waiting.attempts, waiting.due_at) == ("pending", 1, NOW + 30)
    assert "503" in (waiting.last_error or "")

    clock.now += 29
    assert await sender.send_due() == 0                  # not due yet: not even tried
    assert row(engine, message_id).attempts == 1 and not fakes.wecom.replies
    clock.now += 1
    assert await sender.send_due() == 1
    sent = row(engine, message_id)
    assert (sent.state, sent.attempts) == ("sent", 2)
    assert [(r.mentioned, r.text) for r in fakes.wecom.replies] == [("zhangsan", TEXT)]


async def test_transient_errors_give_up_after_six_attempts(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    clock = Clock()
    sender = notifier(engine, http, fakes, clock, backoff=30.0)
    message_id = post(engine, "onebot", user="10001")
    fakes.onebot.faults.error(502, times=10)
    due = []
    for _ in range(6):
        assert await sender.send_due() == 0
        due.append(row(engine, message_id).due_at - clock.now)
        clock.now += 10_000

    failed = row(engine, message_id)
    assert (failed.state, failed.attempts) == ("failed", 6)
    assert (failed.last_error or "").startswith("重试 6 次仍失败：onebot: HTTP 502")
    assert due[:5] == [30, 60, 120, 240, 480]           # exponential backoff
    assert await sender.send_due() == 0
    assert len(fakes.onebot.faults.queue) == 10 - 6      # six calls, then none


async def test_a_rate_limit_waits_at_least_the_platforms_retry_after(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    sender = notifier(engine, http, fakes, Clock(), backoff=1.0)
    message_id = post(engine, "wecom", group="wr-grid-1")
    fakes.wecom.faults.rate_limit()                      # 45009: wait 60 s
    assert await sender.send_due() == 0
    assert row(engine, message_id).due_at == NOW + 60


async def test_a_permanent_error_fails_at_once_with_the_reason(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes,
        caplog: pytest.LogCaptureFixture) -> None:
    message_id = post(engine, "wecom", group="wr-bad", text="王师傅电话 13812345678")
    with caplog.at_level(logging.INFO, logger="tickets.notifier"):
        assert await notifier(engine, http, fakes, Clock()).send_due() == 0

    failed = row(engine, message_id)
    assert (failed.state, failed.attempts) == ("failed", 1)
    assert failed.last_error == "平台拒绝，不再重试：wecom: invalid webhook url (code 93000)"
    assert "93000" in caplog.text and "13812345678" not in caplog.text
    assert "138****5678" in caplog.text
    assert await notifier(engine, http, fakes, Clock(NOW + 10_000)).send_due() == 0
    assert len(fakes.wecom.records) == 1


@pytest.mark.parametrize(("platform", "group", "user", "reason"), [
    ("wecom", "wr-unknown", None, f"{UNKNOWN_GROUP}（wecom wr-unknown）"),
    ("onebot", "123456", None, f"{UNKNOWN_GROUP}（onebot 123456）"),
    ("wecom", None, "zhangsan", NO_DIRECT),
    ("dingtalk", None, "dd-user-7", NO_DIRECT),
    ("web", None, "staff-1", WEB_DIRECT),
])
async def test_an_unreachable_target_fails_with_the_reason(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes, platform: str,
        group: str | None, user: str | None, reason: str) -> None:
    message_id = post(engine, platform, group=group, user=user, mention=("10001", "张"))
    assert await notifier(engine, http, fakes, Clock()).send_due() == 0
    failed = row(engine, message_id)
    assert (failed.state, failed.last_error) == ("failed", reason)
    assert not (fakes.wecom.records or fakes.dingtalk.records or fakes.onebot.records)


async def test_a_web_group_post_appears_in_the_rooms_feed(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    message_id = post(engine, "web", group="web-grid-1", mention=("web-abc", "王师傅"),
                      text="您的问题 T-000001 有答复了")
    assert await notifier(engine, http, fakes, Clock()).send_due() == 1
    assert row(engine, message_id).state == "sent"
    [shown] = WebNoticeFeed(engine).since("web-grid-1")
    assert shown.text == "@王师傅 您的问题 T-000001 有答复了"


async def test_without_accounts_qq_and_feishu_fail_with_the_reason(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    qq_group = post(engine, "onebot", group="900000001")
    qq_user = post(engine, "onebot", user="10001")
    feishu_user = post(engine, "feishu", user="ou_staff_1")
    sender = notifier(engine, http, fakes, Clock(), onebot=None, feishu=None)
    assert await sender.send_due() == 0
    assert [row(engine, i).last_error for i in (qq_group, qq_user, feishu_user)] == [
        NO_ONEBOT, NO_ONEBOT, NO_FEISHU]


# --- claims ----------------------------------------------------------------------------------
async def test_only_due_rows_go_and_the_limit_holds(engine: Engine, http: aiohttp.ClientSession,
                                                    fakes: Fakes) -> None:
    later = post(engine, "onebot", user="10001", due_at=NOW + 60)
    for _ in range(3):
        post(engine, "onebot", user="10002")
    sender = notifier(engine, http, fakes, Clock())
    assert await sender.send_due(limit=2) == 2
    assert await sender.send_due() == 1
    assert row(engine, later).state == "pending"


async def test_a_claimed_row_waits_for_the_lease_of_a_crashed_notifier(
        engine: Engine, http: aiohttp.ClientSession, fakes: Fakes) -> None:
    clock = Clock()
    message_id = post(engine, "onebot", user="10001")
    crashed = notifier(engine, http, fakes, clock, lease=300.0)
    found, claimed = await asyncio.to_thread(crashed._claim, 10)
    assert (found, [c.id for c in claimed]) == (1, [message_id])

    other = notifier(engine, http, fakes, clock)
    assert await other.send_due() == 0
    clock.now += 301
    assert await other.send_due() == 1
    sent = row(engine, message_id)
    assert (sent.state, sent.attempts) == ("sent", 2)


async def test_two_notifiers_never_send_a_row_twice(url: str, engine: Engine, fakes: Fakes,
                                                    http: aiohttp.ClientSession) -> None:
    texts = [f"消息 {n}" for n in range(40)]
    for n, text in enumerate(texts):
        if n % 2:
            post(engine, "onebot", user=str(10_000 + n), text=text)
        else:
            post(engine, "onebot", group="900000001", mention=(str(10_000 + n), "张"), text=text)
    fakes.onebot.faults.latency = 0.01
    second_engine = create(url)                # a second process: its own connections
    try:
        clock = Clock()
        first = notifier(engine, http, fakes, clock)
        second = notifier(second_engine, http, fakes, clock)
        counts = await asyncio.gather(first.send_due(), second.send_due(), first.send_due(),
                                      second.send_due())
    finally:
        second_engine.dispose()

    assert sum(counts) == 40
    assert sorted(r.text for r in fakes.onebot.replies) == sorted(texts)
    with Session(engine, future=True) as session:
        states = session.execute(select(MessageRow.state, MessageRow.attempts)).all()
    assert {tuple(s) for s in states} == {("sent", 1)}


async def test_run_sends_until_stopped(engine: Engine, http: aiohttp.ClientSession,
                                       fakes: Fakes) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(notifier(engine, http, fakes, Clock()).run(stop, poll=0.05))
    post(engine, "onebot", user="10001")
    await fakes.onebot.wait_for_replies(1, timeout=5.0)
    stop.set()
    await asyncio.wait_for(task, timeout=5.0)
    assert len(fakes.onebot.replies) == 1

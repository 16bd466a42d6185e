"""The dispatcher against the fake platforms: every group gets the notice once,
faults are retried or failed with a reason, limits hold, long notices split."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast.model import NoticeDraft, Targets
from broadcast.outbox import Outbox
from broadcast.pacing import Limit
from broadcast.tables import AttemptRow, DeliveryRow, WebMessageRow
from broadcast.webfeed import UnknownRoom, WebNoticeFeed


def notice(to: str = "all", body: str = "本周六上午九点，社区工会服务站举办免费法律咨询。",
           title: str = "法律咨询活动", **kw: object) -> NoticeDraft:
    return NoticeDraft(title=title, body=body, author="区总工会", targets=Targets.parse([to]),
                       **kw)  # type: ignore[arg-type]


def fake_target(row: DeliveryRow) -> str:
    return f"{row.platform}:{row.external_id}"


async def test_every_group_gets_the_notice_once_with_its_status(outbox: Outbox, fake, dispatch):
    notice_id = outbox.create(notice())
    stats = await dispatch()
    report = outbox.report(notice_id)
    assert report.status.value == "done"
    assert report.counts == {"sent": report.total} and report.total == 960
    rows = outbox.deliveries(notice_id, limit=5000)
    remote = [r for r in rows if r.platform != "web"]
    wecom_keys = {r.external_id for r in rows if r.platform == "wecom"}
    assert all(r.sent_at and r.attempts == 0 and r.parts_sent == 1 for r in rows)
    # The fake keys WeCom/DingTalk/Feishu by the robot key/token/hook id = the group id here.
    assert {k.split(":", 1)[1] for k in fake.by_target if k.startswith("wecom:")} == wecom_keys
    assert fake.stats()["received"] == len(remote) and fake.duplicates() == 0
    assert fake.violations == []
    assert all(texts[0].startswith("【法律咨询活动】") for texts in fake.by_target.values())
    with Session(outbox.engine) as session:
        web = session.execute(select(WebMessageRow)).scalars().all()
        attempts = session.execute(select(AttemptRow)).scalars().all()
    assert sorted(m.room for m in web) == sorted(
        r.send_target.removeprefix("room:") for r in rows if r.platform == "web")
    assert len(attempts) == 960 and {a.outcome for a in attempts} == {"sent"}
    assert stats.sent == 960 and stats.failed == 0


async def test_transient_faults_are_retried_and_nothing_is_lost(outbox: Outbox, fake, dispatch):
    notice_id = outbox.create(notice("street:联盟街道"))
    rows = outbox.deliveries(notice_id)
    wecom = [r for r in rows if r.platform == "wecom"]
    dingtalk = [r for r in rows if r.platform == "dingtalk"]
    feishu = [r for r in rows if r.platform == "feishu"]
    fake.faults.add("error", times=2, target=fake_target(wecom[0]), status=502)
    fake.faults.add("busy", target=fake_target(wecom[1]))
    fake.faults.add("busy", target=fake_target(wecom[2]))
    fake.faults.add("busy", target=fake_target(dingtalk[0]))        # errcode -1: 系统繁忙
    fake.faults.add("rate_limit", target=fake_target(feishu[0]))   # 429 + reset header
    fake.faults.add("timeout", seconds=6.0, target=fake_target(dingtalk[1]))
    fake.faults.add("error", status=500, target="onebot:" + next(
        r.external_id for r in rows if r.platform == "onebot"))
    stats = await dispatch(timeout=2.0)
    report = outbox.report(notice_id)
    assert report.counts == {"sent": len(rows)}
    assert fake.stats()["faults_applied"] == 8 and fake.duplicates() == 0
    assert stats.retried == 8
    logs = outbox.attempts(wecom[0].id)
    assert [a.outcome for a in logs] == ["retrying", "retrying", "sent"]
    assert "502" in (logs[0].code or "") + (logs[0].answer or "")
    assert [a.outcome for a in outbox.attempts(dingtalk[0].id)] == ["retrying", "sent"]
    assert fake.violations == []


async def test_permanent_errors_fail_at_once_with_a_reason(outbox: Outbox, fake, dispatch):
    notice_id = outbox.create(notice("street:联盟街道"))
    rows = outbox.deliveries(notice_id)
    bad_wecom = next(r for r in rows if r.platform == "wecom")
    bad_ding = next(r for r in rows if r.platform == "dingtalk")
    bad_qq = next(r for r in rows if r.platform == "onebot")
    fake.invalid_targets.add(fake_target(bad_wecom))
    fake.secrets[fake_target(bad_ding)] = "SEC-robot-has-signing-on"   # we do not sign
    fake.invalid_targets.add(fake_target(bad_qq))
    await dispatch()
    report = outbox.report(notice_id)
    assert report.counts == {"sent": len(rows) - 3, "failed": 3}
    failed = {r.platform: r for r in outbox.deliveries(notice_id, "failed")}
    assert "93000" in failed["wecom"].reason and "无效" in failed["wecom"].reason
    assert "310000" in failed["dingtalk"].reason
    assert "群不存在" in failed["onebot"].reason or "1200" in failed["onebot"].reason
    assert all(r.attempts == 1 for r in failed.values())
    assert sum(report.failures.values()) == 3


async def test_signed_robots_get_valid_signatures(outbox: Outbox, engine, fake, dispatch):
    notice_id = outbox.create(notice("street:联盟街道"))
    rows = outbox.deliveries(notice_id)
    ding = next(r for r in rows if r.platform == "dingtalk")
    lark = next(r for r in rows if r.platform == "feishu")
    fake.secrets[fake_target(ding)] = "SECding"
    fake.secrets[fake_target(lark)] = "larksecret"
    with Session(engine) as session, session.begin():
        for row, secret in ((ding, "SECding"), (lark, "larksecret")):
            session.get(DeliveryRow, row.id).send_target += f"#secret={secret}"
    await dispatch()
    assert outbox.report(notice_id).counts == {"sent": len(rows)}
    assert fake_target(ding) in fake.by_target and fake_target(lark) in fake.by_target


async def test_rate_limits_hold_when_one_robot_gets_many_messages(outbox: Outbox, fake, dispatch):
    # Five notices to one grid's groups, each split in several parts: the same robots
    # get ~20 messages each. The fake allows 20 per 2 s; we book 5 + 7/s (≤ 19 per 2 s).
    fake.wecom_limit = (20, 2.0)
    fake.dingtalk_limit = (20, 2.0)
    body = "\n\n".join(f"第{i}段：" + "工会通知内容。" * 60 for i in range(4))
    ids = [outbox.create(notice("community:联盟街道/福景社区", body=body, title=f"通知{i}"))
           for i in range(5)]
    tight = Limit(7.0, 5)
    await dispatch(limits={"wecom": tight, "dingtalk": tight}, defer_over=0.3)
    for notice_id in ids:
        assert outbox.report(notice_id).counts == {"sent": outbox.report(notice_id).total}
    assert fake.violations == [] and fake.duplicates() == 0
    per_robot = Counter(r.target for r in fake.received if r.platform == "wecom")
    assert per_robot and max(per_robot.values()) >= 15


async def test_long_notice_is_split_on_paragraphs_and_numbered(outbox: Outbox, fake, dispatch):
    paragraphs = [f"第{i}条：" + "职工朋友们请注意，" * 40 for i in range(1, 7)]
    notice_id = outbox.create(notice("grid:D001-S01-C01-G03", body="\n\n".join(paragraphs),
                                     title="冬季安全生产须知"))
    await dispatch()
    rows = outbox.deliveries(notice_id)
    assert rows and all(r.state == "sent" for r in rows)
    wecom = next(r for r in rows if r.platform == "wecom")
    parts = fake.by_target[fake_target(wecom)]
    assert len(parts) == wecom.parts_total > 1
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert [p.split("\n", 1)[0] for p in parts] == [
        f"【冬季安全生产须知】（{i}/{len(parts)}）" for i in range(1, len(parts) + 1)]
    joined = "\n\n".join(p.split("\n", 1)[1] for p in parts)
    assert joined == "\n\n".join(paragraphs)
    assert fake.stats()["oversize"] == 0


async def test_answer_lost_after_delivery_is_the_only_double(outbox: Outbox, fake, dispatch):
    notice_id = outbox.create(notice("grid:D001-S01-C01-G03"))
    wecom = next(r for r in outbox.deliveries(notice_id) if r.platform == "wecom")
    fake.faults.add("accept_then_timeout", seconds=6.0, target=fake_target(wecom))
    await dispatch(timeout=2.0)
    assert outbox.report(notice_id).counts == {"sent": outbox.report(notice_id).total}
    assert fake.duplicates() == 1      # at-least-once: the platform's answer never came
    assert "可能已送达" in outbox.attempts(wecom.id)[0].answer


async def test_cancel_stops_what_has_not_gone_out(outbox: Outbox, fake, dispatch):
    notice_id = outbox.create(notice())
    assert outbox.cancel(notice_id, "李干事") == 960
    await dispatch()
    report = outbox.report(notice_id)
    assert report.status.value == "cancelled" and report.counts == {"cancelled": 960}
    assert fake.stats()["received"] == 0


async def test_retry_failed_after_the_robot_is_fixed(outbox: Outbox, fake, dispatch):
    notice_id = outbox.create(notice("grid:D001-S01-C01-G03"))
    wecom = next(r for r in outbox.deliveries(notice_id) if r.platform == "wecom")
    fake.invalid_targets.add(fake_target(wecom))
    await dispatch()
    assert outbox.report(notice_id).counts.get("failed") == 1
    fake.invalid_targets.clear()
    assert outbox.retry_failed(notice_id) == 1
    await dispatch()
    report = outbox.report(notice_id)
    assert report.status.value == "done" and report.counts == {"sent": report.total}


async def test_robot_throttles_are_waited_out_as_the_platform_asks(outbox: Outbox, fake,
                                                                   dispatch):
    """WeCom 45009 means "this minute's budget is gone", DingTalk 130101 "throttled for
    ten minutes": the delivery waits that long and so does everything for that robot."""
    import asyncio
    import time

    notice_id = outbox.create(notice("street:联盟街道", body="x"))
    rows = outbox.deliveries(notice_id)
    wecom = next(r for r in rows if r.platform == "wecom")
    ding = next(r for r in rows if r.platform == "dingtalk")
    fake.faults.add("rate_limit", target=fake_target(wecom))   # errcode 45009
    fake.faults.add("rate_limit", target=fake_target(ding))    # errcode 130101
    task = asyncio.ensure_future(dispatch())
    waits = {}
    for _ in range(100):
        await asyncio.sleep(0.1)
        now = time.time()
        states = {r.id: r for r in outbox.deliveries(notice_id)}
        if states[wecom.id].state == states[ding.id].state == "retrying":
            waits = {p: states[r.id].due_at - now for p, r in (("wecom", wecom), ("dingtalk", ding))}
            break
    assert 55 <= waits["wecom"] <= 61 and 590 <= waits["dingtalk"] <= 601
    assert "130101" in (states[ding.id].last_error or "")
    outbox.cancel(notice_id, "test")      # lets the dispatcher go idle
    await task
    assert outbox.report(notice_id).counts["sent"] == len(rows) - 2


async def test_web_groups_read_their_notices_from_the_feed(outbox: Outbox, engine, dispatch):
    feed = WebNoticeFeed(engine)
    group = "web-d001-s01-c01-g01"
    assert feed.since(group) == []
    first = outbox.create(notice("grid:D001-S01-C01-G01", title="停电通知"))
    other = outbox.create(notice("grid:D001-S01-C02-G04", title="别的网格"))
    await dispatch()
    shown = feed.since(group)
    assert [n.notice_id for n in shown] == [first]
    assert "停电通知" in shown[0].text and other not in [n.notice_id for n in shown]
    second = outbox.create(notice("grid:D001-S01-C01-G01", title="第二条"))
    await dispatch()
    assert [n.notice_id for n in feed.since(group, after=shown[-1].id)] == [second]
    assert [n.notice_id for n in feed.since(group)] == [first, second]  # oldest first
    with pytest.raises(UnknownRoom):
        feed.since("web-nope")
    with pytest.raises(UnknownRoom):
        feed.since("oc_00340370a0ec260e")  # only web groups have rooms

"""Dispatcher processes for real: SIGKILL in the middle of a broadcast and a
restart; two dispatchers sharing the outbox on PostgreSQL; scheduled notices that
survive a restart. The fake platforms run in the test's event loop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcast.model import NoticeDraft, NoticeStatus, Schedule, Targets
from broadcast.outbox import Outbox
from broadcast.scheduler import NoticeScheduler
from broadcast.service import Broadcaster
from broadcast.tables import AttemptRow, DeliveryRow, WebMessageRow
from grids import db
from tests.fakes.broadcast import FakeGroupPlatforms
from tests.fakes.broadcast_directory import pointed_at, seed
from tests.pg import PostgresSchemas, schemas_or_skip

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def worker_env(url: str, fake: FakeGroupPlatforms, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path),
            "ONEBOT_API_URL": fake.onebot_base_url, "BROADCAST_LIMIT_ONEBOT": "40/1:10",
            "BROADCAST_LEASE": "5", **extra}


async def start_worker(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "broadcast", "worker", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


def create_notice(url: str, body: str = "今晚八点社区停电检修，请提前做好准备。") -> int:
    return Outbox(db.create(url)).create(
        NoticeDraft("停电通知", body, "区总工会", Targets(everyone=True)))


def remote_groups(url: str, notice_id: int) -> tuple[set[str], int]:
    rows = Outbox(db.create(url)).deliveries(notice_id, limit=10_000)
    return {f"{r.platform}:{r.external_id}" for r in rows if r.platform != "web"}, len(rows)


async def test_sigkill_mid_broadcast_then_restart_loses_nothing(tmp_path: Path, capsys):
    async with FakeGroupPlatforms(latency=0.05, onebot_limit=(60, 1.0)) as fake:
        url = f"sqlite:///{tmp_path / 'kill.db'}"
        seed(db.create(url), pointed_at(fake))
        notice_id = create_notice(url)
        expected, total = remote_groups(url, notice_id)
        env = worker_env(url, fake, tmp_path, BROADCAST_CONCURRENCY="8")
        first = await start_worker(env)
        deadline = time.monotonic() + 60
        while len(fake.received) < 250 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert first.returncode is None, "the dispatcher ended before the kill"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        received_at_kill = len(fake.received)
        engine = db.create(url)
        with Session(engine) as session:
            in_flight = session.execute(select(func.count()).select_from(DeliveryRow).where(
                DeliveryRow.state == "sending")).scalar()
        assert 0 < received_at_kill < len(expected)

        second = await start_worker(env, "--until-idle")
        out, err = await asyncio.wait_for(second.communicate(), 120)
        assert second.returncode == 0, err.decode()
        assert set(fake.by_target) == expected                 # every group got it
        report = Outbox(engine).report(notice_id)
        assert report.counts == {"sent": total} and report.status is NoticeStatus.DONE
        with Session(engine) as session:
            rooms = session.execute(select(func.count(func.distinct(WebMessageRow.room)))).scalar()
        assert rooms == total - len(expected)
        doubled = fake.duplicates()
        assert fake.violations == []
        assert doubled <= in_flight                            # only what was in flight
        with capsys.disabled():
            print(f"\n[sigkill] {received_at_kill} received at the kill, {in_flight} in flight, "
                  f"{doubled} delivered twice after the restart, 0 lost of {len(expected)}")


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresSchemas]:
    yield from schemas_or_skip()


@pytest.mark.postgres
async def test_two_dispatchers_on_postgres_share_the_work_without_doubles(tmp_path, pg, capsys):
    async with FakeGroupPlatforms(latency=0.05, onebot_limit=(60, 1.0)) as fake:
        url = pg.new_url()
        seed(db.create(url), pointed_at(fake))
        notice_ids = [create_notice(url, f"第{i}批：工会冬季送温暖活动报名开始。") for i in range(3)]
        env = worker_env(url, fake, tmp_path, BROADCAST_CONCURRENCY="16")
        workers = [await start_worker(env, "--until-idle") for _ in range(2)]
        results = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 180)
        assert [w.returncode for w in workers] == [0, 0], [e.decode()[-2000:] for _, e in results]
        engine = db.create(url)
        outbox = Outbox(engine)
        for notice_id in notice_ids:
            report = outbox.report(notice_id)
            assert report.counts == {"sent": report.total}
        expected, _ = remote_groups(url, notice_ids[0])
        assert set(fake.by_target) == expected
        assert all(len(texts) == 3 for texts in fake.by_target.values())
        assert fake.duplicates() == 0 and fake.violations == []
        with Session(engine) as session:
            by_worker = dict(session.execute(select(AttemptRow.worker, func.count())
                                             .group_by(AttemptRow.worker)).all())
        assert len(by_worker) == 2 and min(by_worker.values()) > 0.2 * sum(by_worker.values())
        with capsys.disabled():
            print(f"\n[postgres] attempts per dispatcher: {sorted(by_worker.values())}, "
                  f"0 doubled, 0 lost")


async def test_scheduled_and_recurring_notices_survive_a_restart(tmp_path: Path):
    async with FakeGroupPlatforms(onebot_limit=(60, 1.0)) as fake:
        url = f"sqlite:///{tmp_path / 'sched.db'}"
        engine = db.create(url)
        seed(engine, pointed_at(fake))
        targets = Targets.parse(["grid:D001-S01-C01-G03"])
        with NoticeScheduler(url) as scheduler:      # like the CLI: writes jobs only
            broadcaster = Broadcaster(Outbox(engine), scheduler)
            at_id = broadcaster.create(NoticeDraft(
                "会员日", "本周六会员日。", "区总工会", targets,
                schedule=Schedule("at", at=time.time() + 2.5)))
            cron_id = broadcaster.create(NoticeDraft(
                "周例会", "每周一例会。", "区总工会", targets,
                schedule=Schedule("cron", cron="0 9 * * 1")))
            cancelled = broadcaster.create(NoticeDraft(
                "取消的", "不会发出。", "区总工会", targets,
                schedule=Schedule("at", at=time.time() + 2.0)))
            broadcaster.cancel(cancelled, "李干事")
        outbox = Outbox(engine)
        assert outbox.report(at_id).status is NoticeStatus.SCHEDULED
        # A dispatcher process started afterwards fires what the store holds.
        worker = await start_worker(worker_env(url, fake, tmp_path))
        try:
            deadline = time.monotonic() + 30
            while (outbox.report(at_id).status is not NoticeStatus.DONE
                   and time.monotonic() < deadline):
                await asyncio.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.communicate(), 30)
        assert outbox.report(at_id).counts == {"sent": outbox.report(at_id).total}
        assert outbox.report(cancelled).status is NoticeStatus.CANCELLED
        texts = [t for texts in fake.by_target.values() for t in texts]
        assert any("会员日" in t for t in texts) and not any("取消的" in t for t in texts)

        # The recurring job is still in the store after both processes ended: next Monday 9:00.
        with NoticeScheduler(url) as scheduler:
            next_run = scheduler.next_run(cron_id)
            assert next_run is not None
            broadcaster = Broadcaster(outbox, scheduler)
            # Two dispatchers firing the same minute create one run.
            broadcaster.fire("cron", cron_id)
            broadcaster.fire("cron", cron_id)
        from datetime import datetime

        import pytz

        local = datetime.fromtimestamp(next_run, pytz.timezone("Asia/Shanghai"))
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        runs = [r for r in outbox.notices(50) if r.parent_id == cron_id]
        assert len(runs) == 1 and runs[0].total == outbox.report(at_id).total
        assert outbox.report(cron_id).status is NoticeStatus.RECURRING


async def test_cli_send_reaches_every_fake_group_with_per_group_status(tmp_path: Path):
    async with FakeGroupPlatforms(latency=0.05, onebot_limit=(60, 1.0)) as fake:
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        seed(db.create(url), pointed_at(fake))
        body = tmp_path / "notice.md"
        body.write_text("各位职工朋友：\n\n本周六上午九点举办**免费法律咨询**。", encoding="utf-8")
        env = worker_env(url, fake, tmp_path)
        send = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "broadcast", "send", "--title", "法律咨询",
            "--body-file", str(body), "--to", "all", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(send.communicate(), 120)
        assert send.returncode == 0, err.decode()[-2000:]
        assert "已送达：960" in out.decode() and "预计剩余" in err.decode()
        notice_id = Outbox(db.create(url)).notices(1)[0].id
        expected, total = remote_groups(url, notice_id)
        assert set(fake.by_target) == expected and fake.duplicates() == 0
        assert fake.violations == []
        status = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "broadcast", "status", str(notice_id), "--json",
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE)
        report = json.loads((await status.communicate())[0])
        assert report["counts"] == {"sent": total} and report["status"] == "done"
        bad = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "broadcast", "send", "--title", "x", "--body", "y",
            "--to", "street:不存在街道", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
        _, bad_err = await bad.communicate()
        assert bad.returncode == 1 and "网格目录里没有街道“不存在街道”" in bad_err.decode()

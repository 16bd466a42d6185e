"""Broadcast benchmark: the dispatcher against the fake platforms (a separate
process, 50 ms latency per call, enforcing every platform's rate limit).

Prints, for 805 groups (one robot each, as each grid group has its own robot):
wall time and sends/s of the dispatcher; the same for a naive sequential sender
and the ratio; the ideal bound from latency, concurrency and rate limits and our
time as a ratio of it. Then throughput and peak memory (RSS of the dispatcher
process) at 80,500 groups for one dispatcher on SQLite and for one and two
dispatchers on PostgreSQL. Rate-limit violations and duplicates come from the fake.

    .venv/bin/python bench/broadcast.py [--large 80500] [--skip-large] [--runs sqlite,pg,pg2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from bot.compose import run_loop  # noqa: E402
from broadcast.db import upgrade_all  # noqa: E402
from broadcast.dispatcher import Dispatcher, DispatcherConfig  # noqa: E402
from broadcast.formatting import render  # noqa: E402
from broadcast.model import NoticeDraft, Recipient, Targets  # noqa: E402
from broadcast.outbox import Job, Outbox  # noqa: E402
from broadcast.pacing import DEFAULT_LIMITS, ideal_seconds  # noqa: E402
from broadcast.senders import Senders  # noqa: E402
from grids import db  # noqa: E402
from tests.fakes.base import free_port  # noqa: E402
from tests.fakes.broadcast import FakeGroupPlatforms  # noqa: E402
from tests.pg import PostgresSchemas  # noqa: E402

LATENCY = 0.05
CONCURRENCY = int(os.environ.get("BROADCAST_CONCURRENCY", "48"))
MIX = ("wecom",) * 5 + ("dingtalk",) * 2 + ("feishu",) * 2  # about the sample's proportions
BODY = "各位职工朋友：\n\n本周六上午九点，各社区工会服务站举办免费法律咨询，欢迎参加。"


class FakeProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.broadcast", "--port", str(self.port),
             "--latency", str(LATENCY)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("READY"):
            raise RuntimeError(f"fake did not start: {line!r}")
        self.urls = FakeGroupPlatforms(port=self.port)

    def call(self, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self.call("/_fake/config", {"reset": True, "latency": LATENCY})

    def stats(self) -> dict:
        return self.call("/_fake/stats")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def recipients(fake: FakeProcess, count: int, tag: str) -> list[Recipient]:
    out = []
    for i in range(count):
        platform = MIX[i % len(MIX)]
        ext = f"{tag}-{i:06d}"
        out.append(Recipient(platform, ext, f"第{i}网格群", f"G{i:06d}", "webhook",
                             fake.urls.url(platform, ext)))
    return out


def ideal(groups: Sequence[Recipient], concurrency: int) -> float:
    counts = {f"{g.platform}:{g.send_target}": (1, DEFAULT_LIMITS[g.platform]) for g in groups}
    return ideal_seconds(counts, concurrency, LATENCY)


def new_notice(url: str, groups: Sequence[Recipient]) -> int:
    engine = db.create(url)
    upgrade_all(engine)
    return Outbox(engine).create(NoticeDraft("法律咨询", BODY, "区总工会", Targets(everyone=True)),
                                 recipients=groups)


async def ours(url: str) -> float:
    outbox = Outbox(db.create(url))
    async with aiohttp.ClientSession() as session:
        dispatcher = Dispatcher(outbox, Senders(session),
                                config=DispatcherConfig(concurrency=CONCURRENCY))
        started = time.perf_counter()
        await dispatcher.run(asyncio.Event(), until_idle=True)
        return time.perf_counter() - started


async def sequential(groups: Sequence[Recipient]) -> float:
    """What a first version would do: one group after another, waiting for each answer."""
    async with aiohttp.ClientSession() as session:
        senders = Senders(session)
        started = time.perf_counter()
        for i, g in enumerate(groups):
            job = Job(i, 0, g.platform, g.external_id, g.name, g.send_via, g.send_target,
                      "法律咨询", BODY, "text", 0, 0)
            for message in render(g.platform, job.title, job.body):
                await senders.send(job, message)
        return time.perf_counter() - started


def workers(url: str, count: int, tmp: str) -> tuple[float, list[float], list[dict]]:
    """Run `count` dispatcher processes until idle: wall, peak RSS MiB each, their stats."""
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": tmp,
           "BROADCAST_CONCURRENCY": str(CONCURRENCY)}
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "broadcast", "worker",
                               "--until-idle"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=open(f"{tmp}/worker-{i}.log", "w"), text=True)  # noqa: SIM115
             for i in range(count)]
    peaks, stats = [], []
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            logs = "".join(Path(f"{tmp}/worker-{i}.log").read_text()[-3000:]
                           for i in range(count))
            raise RuntimeError(f"dispatcher exited with {proc.returncode}:\n{logs}")
        peaks.append(usage.ru_maxrss / 1024)
        out = proc.stdout.read() if proc.stdout else ""
        stats.append(json.loads(out.strip().splitlines()[-1]))
    return time.perf_counter() - started, peaks, stats


def long_markdown(nbytes: int) -> str:
    """A markdown notice of about `nbytes` UTF-8 bytes in paragraphs (a real street notice)."""
    paragraph = ("**冬季送温暖**：各社区工会服务站即日起受理困难职工帮扶申请，"
                 "请携带身份证、工会会员证和收入证明到所在社区服务站登记。")
    parts: list[str] = []
    size = 0
    while size < nbytes:
        parts.append(f"{len(parts) + 1}. {paragraph}")
        size += len(parts[-1].encode()) + 2
    return "\n\n".join(parts)


def new_process_notices(fake: FakeProcess, tmp: str) -> None:
    """Two notices to the same robots, each sent by a new `broadcast worker` process
    (as every `cloud-doctor broadcast send` is), the second after the robots were idle
    long enough to have their whole burst again: the second must take as long as the
    first, not one pacing interval per message."""
    groups = [g for g in recipients(fake, 9, "n") if g.platform == "wecom"]
    limit = DEFAULT_LIMITS["wecom"]
    url = f"sqlite:///{tmp}/new-process.db"
    engine = db.create(url)
    upgrade_all(engine)
    body = long_markdown(5972)
    outbox = Outbox(engine)
    parts = len(render("wecom", "冬季送温暖", body, "markdown"))
    bound = ideal_seconds({f"wecom:{g.send_target}": (parts, limit) for g in groups},
                          CONCURRENCY, LATENCY)
    print(f"\n# a {len(body.encode())}-byte markdown notice ({parts} messages per group) to "
          f"{len(groups)} WeCom robots, each notice sent by a new dispatcher process")
    walls = []
    for round_ in (1, 2):
        if round_ == 2:  # idle until every robot has its whole burst again
            time.sleep(limit.burst * limit.interval + 1)
        fake.reset()
        outbox.create(NoticeDraft("冬季送温暖", body, "区总工会", Targets(everyone=True),
                                  body_format="markdown"), recipients=groups)
        wall, _, _ = workers(url, 1, tmp)
        walls.append(wall)
        print(f"  notice {round_}: {wall:5.2f} s, process start included "
              f"({check(fake, len(groups))})")
    print(f"second / first: {walls[1] / walls[0]:.2f} (target about 1); pacing allows "
          f"{bound:.2f} s of sending, the rest is the process starting")


def check(fake: FakeProcess, expected: int) -> str:
    s = fake.stats()
    lost = expected - s["targets"]
    return (f"received {s['received']}, lost {lost}, doubled {s['duplicates']}, "
            f"rate-limit violations {s['violations']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=805)
    parser.add_argument("--large", type=int, default=80_500)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the 805-group case")
    parser.add_argument("--runs", default="sqlite,pg,pg2",
                        help="large runs, comma-separated: sqlite, pg (one dispatcher), "
                             "pg2 (two dispatchers)")
    args = parser.parse_args()
    fake = FakeProcess()
    tmp = tempfile.mkdtemp(prefix="bench-broadcast-")
    try:
        groups = recipients(fake, args.groups, "g")
        bound = ideal(groups, CONCURRENCY)
        print(f"# broadcast to {len(groups)} groups, {LATENCY * 1000:.0f} ms per call, "
              f"concurrency {CONCURRENCY}")
        walls = []
        for run in range(args.repeat):  # the machine's noise: report the median run
            fake.reset()
            url = f"sqlite:///{tmp}/small-{run}.db"
            new_notice(url, groups)
            walls.append(run_loop(ours(url)))
            print(f"  run {run + 1}: {walls[-1]:5.2f} s  ({check(fake, len(groups))})")
        wall = statistics.median(walls)
        print(f"dispatcher:  {wall:6.2f} s  {len(groups) / wall:7.1f} sends/s   "
              f"(median of {len(walls)} runs, {min(walls):.2f}-{max(walls):.2f} s)")
        fake.reset()
        seq = run_loop(sequential(groups))
        print(f"sequential:  {seq:6.2f} s  {len(groups) / seq:7.1f} sends/s   "
              f"speed-up {seq / wall:.1f}x (target >= 30x)")
        print(f"ideal bound: {bound:6.2f} s  (latency x ceil(groups / concurrency); no robot "
              f"gets more than one message)   ours/ideal {wall / bound:.2f} (target <= 1.5)")
        new_process_notices(fake, tmp)
        if args.skip_large:
            return 0
        big = recipients(fake, args.large, "b")
        print(f"\n# {len(big)} groups, one robot each; dispatcher processes of "
              f"`cloud-doctor broadcast worker`, ideal bound per process "
              f"{ideal(big, CONCURRENCY):.1f} s")
        wanted = set(args.runs.split(","))
        unknown = wanted - {"sqlite", "pg", "pg2"}
        if unknown:
            parser.error(f"unknown runs: {', '.join(sorted(unknown))}")
        runs: list[tuple[str, str, int]] = []
        if "sqlite" in wanted:
            runs.append(("SQLite", f"sqlite:///{tmp}/large.db", 1))
        schemas = None
        if wanted & {"pg", "pg2"}:
            try:
                schemas = PostgresSchemas()
                runs += [("PostgreSQL", schemas.new_url(), n)
                         for n, name in ((1, "pg"), (2, "pg2")) if name in wanted]
            except Exception as exc:
                print(f"PostgreSQL not available: {exc}")
        for label, db_url, count in runs:
            fake.reset()
            t0 = time.perf_counter()
            new_notice(db_url, big)
            created = time.perf_counter() - t0
            wall, peaks, stats = workers(db_url, count, tmp)
            share = "/".join(str(s["sent"]) for s in stats)
            print(f"{label:<10} x{count}: notice written in {created:5.1f} s; sent in "
                  f"{wall:6.1f} s = {len(big) / wall:7.1f} sends/s; peak RSS "
                  f"{'/'.join(f'{p:.0f}' for p in peaks)} MiB; per process {share} "
                  f"({check(fake, len(big))})")
        if schemas is not None:
            schemas.drop_all()
        return 0
    finally:
        fake.stop()


if __name__ == "__main__":
    raise SystemExit(main())

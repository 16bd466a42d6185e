"""Benchmark: the real assistant through the WeCom connector, next to Rasa's REST
channel, in one run.

A fake WeCom sends signed, encrypted "@云博士 ..." callbacks from 50 groups in bursts
of simultaneous questions; a reply is the markdown the bot posts to the callback's
response_url. The same questions go through POST /webhooks/rest/webhook. Bursts
alternate which path goes first. Prints messages/s and reply latency p50/p95 per
path, the p95 ratio (target <= 1.2), and lost or doubled replies (target: none).

    .venv/bin/python bench/connectors.py [--groups 50] [--bursts 6] [--model PATH]

Exit status 0 when the targets are met, 1 when not, 2 when there is no model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.base import free_port  # noqa: E402
from tests.fakes.stack import RasaStack, newest_model  # noqa: E402
from tests.fakes.wecom import FakeWeCom  # noqa: E402

logger = logging.getLogger("bench.connectors")

QUESTIONS = [
    "农民工怎么入会？",
    "老板拖欠工资三个月了怎么办",
    "最近的工会服务站在哪？",
    "工会会费怎么交",
    "干活受伤了算工伤吗",
    "你好",
    "加班不给加班费合法吗",
    "谢谢云博士",
]
TARGET_RATIO = 1.2


@dataclass
class PathResult:
    name: str
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)  # callback → platform acknowledged
    busy_seconds: float = 0.0
    sent: int = 0
    lost: int = 0
    doubled: int = 0

    def line(self) -> str:
        p50, p95 = percentile(self.latencies, 50), percentile(self.latencies, 95)
        rate = len(self.latencies) / self.busy_seconds if self.busy_seconds else 0.0
        return (f"{self.name:<16}{self.sent:>6}{rate:>12.1f}{p50 * 1000:>10.0f}{p95 * 1000:>10.0f}"
                f"{self.lost:>7}{self.doubled:>9}")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


async def wecom_burst(fake: FakeWeCom, burst: int, groups: int, result: PathResult,
                      timeout: float) -> None:
    already = len(fake.replies)
    started: dict[tuple[str, str], float] = {}

    async def one(group: int) -> None:
        group_id, user_id = f"wrk-grid-{group:03d}", f"b{burst}u{group}"
        started[(group_id, user_id)] = time.monotonic()
        response = await fake.send_group_message(group_id, user_id,
                                                 QUESTIONS[(burst + group) % len(QUESTIONS)])
        result.acks.append(response.elapsed)
        if response.status != 200:
            logger.warning("callback answered %s", response.status)

    begin = time.monotonic()
    await asyncio.gather(*(one(g) for g in range(groups)))
    deadline = time.monotonic() + timeout
    while len(fake.replies) - already < groups and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # let any doubled reply arrive before counting
    replies = fake.replies[already:]
    result.busy_seconds += max((r.at for r in replies), default=begin) - begin
    counts = Counter((r.group_id, r.mentioned) for r in replies)
    for key, start in started.items():
        arrivals = [r.at for r in replies if (r.group_id, r.mentioned) == key]
        if arrivals:
            result.latencies.append(min(arrivals) - start)
        result.lost += counts[key] == 0
        result.doubled += max(counts[key] - 1, 0)
    result.sent += groups


async def rest_burst(session: aiohttp.ClientSession, url: str, burst: int, groups: int,
                     result: PathResult, timeout: float) -> None:
    async def one(group: int) -> None:
        body = {"sender": f"rest:grid-{group:03d}:b{burst}u{group}",
                "message": f"@云博士 {QUESTIONS[(burst + group) % len(QUESTIONS)]}"}
        start = time.monotonic()
        try:
            async with session.post(url, json=body,
                                    timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                answers = await resp.json()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            result.lost += 1
            return
        if any(a.get("text") for a in answers):
            result.latencies.append(time.monotonic() - start)
        else:
            result.lost += 1

    begin = time.monotonic()
    await asyncio.gather(*(one(g) for g in range(groups)))
    result.busy_seconds += time.monotonic() - begin
    result.sent += groups


async def run(stack: RasaStack, fake_port: int, groups: int, bursts: int, timeout: float) -> int:
    fake = FakeWeCom(bot_url=stack.webhook("wecom"), port=fake_port)
    connector, rest = PathResult("wecom connector"), PathResult("rest channel")
    async with fake, aiohttp.ClientSession() as session:
        rest_url = f"{stack.url}/webhooks/rest/webhook"
        # Warm-up (first-call costs in both paths), not measured.
        await wecom_burst(fake, -1, min(groups, 5), PathResult("warm-up"), timeout)
        await rest_burst(session, rest_url, -1, min(groups, 5), PathResult("warm-up"), timeout)
        for burst in range(bursts):
            steps = [wecom_burst(fake, burst, groups, connector, timeout),
                     rest_burst(session, rest_url, burst, groups, rest, timeout)]
            for step in steps if burst % 2 == 0 else reversed(steps):
                await step
    ratio = percentile(connector.latencies, 95) / percentile(rest.latencies, 95)
    print(f"{'path':<16}{'sent':>6}{'msg/s':>12}{'p50 ms':>10}{'p95 ms':>10}{'lost':>7}"
          f"{'doubled':>9}")
    print(connector.line())
    print(rest.line())
    print(f"p95 ratio connector/rest: {ratio:.2f} (target <= {TARGET_RATIO})")
    print(f"wecom acknowledgements: p95 {percentile(connector.acks, 95) * 1000:.0f} ms, "
          f"max {max(connector.acks, default=0) * 1000:.0f} ms (platform deadline 1-5 s)")
    print(json.dumps({"groups": groups, "bursts": bursts, "p95_ratio": round(ratio, 3),
                      "ack_max_ms": round(max(connector.acks, default=0) * 1000),
                      "lost": connector.lost + rest.lost,
                      "doubled": connector.doubled + rest.doubled}))
    ok = ratio <= TARGET_RATIO and not (connector.lost or connector.doubled or rest.lost)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=50, help="groups per burst (default 50)")
    parser.add_argument("--bursts", type=int, default=6, help="bursts per path (default 6)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait per burst")
    parser.add_argument("--model", type=Path, help="model file (default: newest in models/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    model = args.model or newest_model()
    if model is None or not model.exists():
        logger.error("no trained model in models/; run `make train` first")
        return 2
    fake_port = free_port()  # fixed up front: the credentials file names the fake's URL
    channels = {"wecom": FakeWeCom(port=fake_port).credentials()}
    with tempfile.TemporaryDirectory(prefix="bench-connectors-") as workdir:
        logger.info("starting the assistant with %s", model.name)
        with RasaStack(model, channels, Path(workdir), rest=True) as stack:
            return asyncio.run(run(stack, fake_port, args.groups, args.bursts, args.timeout))


if __name__ == "__main__":
    sys.exit(main())

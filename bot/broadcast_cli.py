"""`cloud-doctor broadcast ...`: send, status, list, retry-failed, cancel, worker.

`send` writes the notice and its deliveries, then shows a live progress bar
(sent / failed / retrying) with an ETA computed from the platforms' rate limits.
If a dispatcher is already running (`worker`, or `cloud-doctor run`), it only
watches; otherwise it dispatches in this process until the notice is finished.
Exit codes: 0 all delivered, 1 bad input, 3 some groups failed, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.compose import (
    config_of,
    editing,
    onebot_of,
    open_engine,
    run_loop,
    running,
)
from broadcast.model import (
    STATE_LABELS,
    STATUS_LABELS,
    BroadcastError,
    DeliveryState,
    NoticeDraft,
    NoticeStatus,
    Schedule,
    Targets,
)
from broadcast.outbox import NoticeReport, Outbox
from broadcast.pacing import ideal_seconds
from broadcast.senders import pace_key
from broadcast.service import DEFAULT_TZ, parse_at
from core.settings import Settings

EXIT_INPUT, EXIT_FAILED, EXIT_INTERRUPTED = 1, 3, 130


def _fail(message: str) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return EXIT_INPUT


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S") if epoch else "-"


def _draft(args: argparse.Namespace) -> NoticeDraft:
    if args.body_file is not None:
        path = Path(args.body_file)
        try:
            body = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BroadcastError(f"读不了正文文件 {path}：{exc}") from exc
    else:
        body = args.body or ""
    if args.at and args.cron:
        raise BroadcastError("--at 和 --cron 只能选一个")
    schedule = Schedule()
    if args.at:
        schedule = Schedule("at", at=parse_at(args.at, args.timezone), timezone=args.timezone)
    elif args.cron:
        schedule = Schedule("cron", cron=args.cron, timezone=args.timezone)
    fmt = args.format or ("markdown" if str(args.body_file or "").endswith(".md") else "text")
    return NoticeDraft(title=args.title, body=body, author=args.author,
                       targets=Targets.parse(args.to, args.platform or ()), body_format=fmt,
                       schedule=schedule)


def cmd_send(settings: Settings, args: argparse.Namespace) -> int:
    try:
        draft = _draft(args)
        with editing(settings) as broadcaster:
            notice_id = broadcaster.create(draft)
            report = broadcaster.report(notice_id)
            next_run = broadcaster.next_run(notice_id)
    except BroadcastError as exc:
        return _fail(str(exc))
    print(f"通知 {notice_id}「{report.title}」→ {report.target_label}："
          f"{report.total or '每次运行时确定'} 个群")
    if draft.schedule.kind != "now":
        print(f"{STATUS_LABELS[report.status]}，下次发送：{_when(next_run)}。"
              "发送进程（cloud-doctor run 或 broadcast worker）需在运行。")
        return 0
    if args.no_wait:
        print("已写入待发队列，由运行中的发送进程发送；查看进度：cloud-doctor broadcast status "
              f"{notice_id}")
        return 0
    try:
        return run_loop(_send_and_watch(settings, notice_id))
    except BroadcastError as exc:
        return _fail(f"{exc}；通知已写入待发队列，由运行中的发送进程发送")


async def _send_and_watch(settings: Settings, notice_id: int) -> int:
    outbox = Outbox(open_engine(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        stop.set()

    loop.add_signal_handler(signal.SIGINT, interrupt)
    loop.add_signal_handler(signal.SIGTERM, interrupt)
    progress = Progress(outbox, notice_id, settings, sys.stderr)
    if outbox.live_workers(settings.broadcast_lease) > 0:
        print("发送进程已在运行，以下为发送进度：", file=sys.stderr)
        report = await progress.watch(stop)
    else:
        async with running(settings, asyncio.Event(), schedule=False) as run:
            watcher = asyncio.create_task(progress.watch(stop))
            done, _ = await asyncio.wait({watcher, run.task}, return_when=asyncio.FIRST_COMPLETED)
            if run.task in done and not watcher.done():
                stop.set()
                if run.task.exception() is not None:
                    watcher.cancel()
                    return _fail(str(run.task.exception()))
            report = await watcher
    print(summary(report))
    if interrupted:
        print("已中断；未发完的群会在发送进程下次运行时继续发送。", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.counts.get(DeliveryState.FAILED.value) else 0


class Progress:
    """A one-line progress bar on a terminal (a line every few seconds otherwise)."""

    def __init__(self, outbox: Outbox, notice_id: int, settings: Settings, out: TextIO,
                 interval: float = 0.25) -> None:
        self.outbox, self.notice_id, self.out = outbox, notice_id, out
        self.interval = interval
        self.config = config_of(settings)
        self.onebot = onebot_of(settings)
        self._eta: tuple[float, float] = (0.0, 0.0)   # (computed at, seconds)

    async def watch(self, stop: asyncio.Event) -> NoticeReport:
        started = last_line = time.monotonic()
        tty = self.out.isatty()
        while True:
            report = await asyncio.to_thread(self.outbox.report, self.notice_id)
            now = time.monotonic()
            finished = report.open == 0 or report.status is NoticeStatus.CANCELLED
            if tty or finished or now - last_line >= 5.0:
                eta = 0.0 if finished else await asyncio.to_thread(self.eta, now)
                line = bar(report, now - started, eta)
                self.out.write(("\r" + line) if tty else line + "\n")
                self.out.flush()
                last_line = now
            if finished or stop.is_set():
                if tty:
                    self.out.write("\n")
                return report
            await asyncio.sleep(self.interval)

    def eta(self, now: float) -> float:
        """Seconds left by the rate limits, the concurrency cap and the latency seen so far."""
        if now - self._eta[0] < 1.0:
            return max(0.0, self._eta[1] - (now - self._eta[0]))
        counts: Counter[str] = Counter()
        limits = {}
        for platform, via, target, parts in self.outbox.pending_by_target(self.notice_id):
            key = pace_key(platform, via, target, self.onebot)
            counts[key] += parts
            limits[key] = self.config.limits[platform]
        latency = self.outbox.mean_latency(self.notice_id) or 0.2
        seconds = ideal_seconds({k: (n, limits[k]) for k, n in counts.items()},
                                self.config.concurrency, latency)
        self._eta = (now, seconds)
        return seconds


def bar(report: NoticeReport, elapsed: float, eta: float, width: int = 24) -> str:
    total = max(report.total, 1)
    sent = report.counts.get("sent", 0)
    failed = report.counts.get("failed", 0)
    retrying = report.counts.get("retrying", 0)
    done = sent + failed + report.counts.get("cancelled", 0)
    filled = int(width * done / total)
    return (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{report.total} "
            f"已送达 {sent} 失败 {failed} 重试中 {retrying} "
            f"用时 {_duration(elapsed)} 预计剩余 {_duration(eta)}")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def summary(report: NoticeReport) -> str:
    lines = [f"通知 {report.id}「{report.title}」 状态：{STATUS_LABELS[report.status]}"]
    lines += [f"  {STATE_LABELS[DeliveryState(state)]}：{count}"
              for state, count in sorted(report.counts.items(),
                                         key=lambda kv: list(DeliveryState).index(
                                             DeliveryState(kv[0])))]
    if report.failures:
        lines.append("  失败原因：")
        lines += [f"    {count} 个群：{reason}" for reason, count in report.failures.items()]
    return "\n".join(lines)


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with editing(settings) as broadcaster:
            report = broadcaster.report(args.id)
            next_run = broadcaster.next_run(args.id)
    except BroadcastError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps({**report.as_json(), "next_run": next_run}, ensure_ascii=False))
        return 0
    print(summary(report))
    print(f"  发送范围：{report.target_label}　发布人：{report.author}　创建：{_when(report.created_at)}")
    if next_run:
        print(f"  下次发送：{_when(next_run)}")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    outbox = Outbox(open_engine(settings))
    for r in outbox.notices(args.limit):
        print(f"{r.id:>6}  {STATUS_LABELS[r.status]:<6}  {_when(r.created_at)}  "
              f"已送达 {r.counts.get('sent', 0)}/{r.total}  失败 {r.counts.get('failed', 0)}  "
              f"{r.title}")
    return 0


def cmd_retry(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with editing(settings) as broadcaster:
            count = broadcaster.retry_failed(args.id)
    except BroadcastError as exc:
        return _fail(str(exc))
    print(f"通知 {args.id}：{count} 个失败的群已重新排队发送")
    return 0


def cmd_cancel(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with editing(settings) as broadcaster:
            count = broadcaster.cancel(args.id, args.by)
    except BroadcastError as exc:
        return _fail(str(exc))
    print(f"通知 {args.id} 已取消，{count} 个群不再发送（已送达的无法撤回）")
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with running(settings, stop, until_idle=args.until_idle) as run:
            print(f"发送进程 {run.dispatcher.worker_id} 已启动", file=sys.stderr, flush=True)
            await asyncio.gather(run.task, return_exceptions=True)
            if run.task.exception() is not None:
                return _fail(str(run.task.exception()))
            print(json.dumps({"worker": run.dispatcher.worker_id,
                              **run.dispatcher.stats.__dict__}), flush=True)
        return 0

    import logging

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run_loop(work())
    except BroadcastError as exc:
        return _fail(str(exc))


def _notice_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"通知编号应是数字：{text}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"通知编号应是正整数：{text}")
    return value


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("broadcast", help="staff notices to grid groups")
    sub = top.add_subparsers(dest="broadcast_command", required=True)

    p = sub.add_parser("send", help="send a notice now, at a time (--at) or recurring (--cron)")
    p.add_argument("--title", required=True)
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", help="UTF-8 text or markdown file (- for stdin)")
    body.add_argument("--body")
    p.add_argument("--to", action="append", required=True,
                   help="all | street:NAME | community:NAME | grid:CODE (repeatable)")
    p.add_argument("--platform", action="append",
                   help="only these platforms: wecom dingtalk feishu onebot web")
    p.add_argument("--format", choices=("text", "markdown"))
    p.add_argument("--author", default="区总工会")
    p.add_argument("--at", help="local time, e.g. '2026-11-23 09:00'")
    p.add_argument("--cron", help="crontab: minute hour day month weekday, e.g. '0 9 * * 1'")
    p.add_argument("--timezone", default=DEFAULT_TZ)
    p.add_argument("--no-wait", action="store_true", help="queue only; a running worker sends")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("status", help="counts per state and failures grouped by reason")
    p.add_argument("id", type=_notice_id)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("list", help="the latest notices")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("retry-failed", help="queue a notice's failed groups again")
    p.add_argument("id", type=_notice_id)
    p.set_defaults(func=cmd_retry)

    p = sub.add_parser("cancel", help="stop a notice (scheduled, recurring or under way)")
    p.add_argument("id", type=_notice_id)
    p.add_argument("--by", default="staff")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("worker", help="run a dispatcher (and the scheduler) until stopped")
    p.add_argument("--until-idle", action="store_true", help="exit when nothing is left")
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(func=cmd_worker)

"""`cloud-doctor run`: train if needed, then start the rasa-sdk action server and
the Rasa server (channels + demo page) with the embedded defaults: SQLite
tracker store under DATA_DIR, no other service."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.training import train
from core.settings import Settings, check_secret, make_private
from insight.runner import broker_database_url

# The largest request body Sanic buffers for the Rasa server and the action server
# (its default is 100 MB): the platforms' callbacks are a few KB. The connectors refuse
# bodies over their own `max_body_bytes` (1 MiB) with a JSON 413 first.
REQUEST_MAX_BYTES = 2 * 1024 * 1024

logger = logging.getLogger(__name__)


def event_broker_endpoint(settings: Settings) -> dict[str, object]:
    """Rasa's event broker: SQL on the embedded default; with EVENT_BROKER_URL, Rasa's
    Pika broker on RabbitMQ (the staff app then consumes the queue: bot.app)."""
    if not settings.event_broker_url:
        return {"type": "SQL", "url": broker_database_url(settings.database_url,
                                                          settings.data_dir)}
    from urllib.parse import unquote, urlsplit

    from insight.consumer import DEFAULT_QUEUE

    url = urlsplit(settings.event_broker_url)
    endpoint: dict[str, object] = {
        "type": "pika", "url": url.hostname, "port": url.port or 5672,
        "username": unquote(url.username or ""), "password": unquote(url.password or ""),
        "queues": [DEFAULT_QUEUE],
    }
    if url.scheme == "amqps":
        endpoint["ssl"] = True
    return endpoint


def runtime_endpoints(settings: Settings) -> Path:
    """Write the endpoints file for this run (action server port, SQLite tracker store,
    the knowledge base's NLG)."""
    make_private(settings.data_dir)
    endpoints = {
        "action_endpoint": {"url": f"http://127.0.0.1:{settings.action_port}/webhook"},
        "tracker_store": {
            "type": "SQL",
            "dialect": "sqlite",
            "db": str(settings.data_dir / "trackers.db"),
        },
        # Responses from the knowledge base (bot/nlg.py), in the Rasa process itself.
        "nlg": {"type": "bot.nlg.KnowledgeBaseNLG", "url": settings.database_url},
        # Every conversation event, for the statistics (insight.ingest tails its table).
        "event_broker": event_broker_endpoint(settings),
    }
    path = settings.data_dir / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints, allow_unicode=True), encoding="utf-8")
    return path


def ensure_grid_directory(settings: Settings) -> None:
    """The embedded default starts with the fictitious sample directory when none exists."""
    from sqlalchemy.orm import Session

    from grids import db, repository
    from grids.generator import SAMPLE_DIR
    from grids.importer import import_path

    make_private(settings.data_dir)
    engine = db.create(settings.database_url)
    try:
        db.upgrade(engine)
        with Session(engine, future=True) as session:
            empty = repository.revision(session) == 0
        if empty:
            import_path(engine, SAMPLE_DIR)
            print("网格目录为空，已导入示例数据（虚构）：cloud-doctor grids import 可导入真实数据。",
                  flush=True)
    finally:
        engine.dispose()


def ensure_console_admin(settings: Settings) -> str:
    """On an empty accounts table, a demo admin with a one-time password, printed once
    (and returned as a reminder for the start-up banner)."""
    from bot.compose import open_engine
    from console.accounts import DEMO_ADMIN, AccountStore

    password = AccountStore(open_engine(settings)).ensure_demo_admin()
    if password is None:
        return "（账号：cloud-doctor users list）"
    print(f"控制台还没有账号，已创建演示管理员：账号 {DEMO_ADMIN}，一次性密码 {password}"
          "（只在这次启动时显示，首次登录后须修改；忘了可运行 cloud-doctor users passwd admin）",
          flush=True)
    return f"（演示管理员 {DEMO_ADMIN}，一次性密码 {password}）"


@dataclass(frozen=True)
class Process:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def processes(settings: Settings, model: Path, endpoints: Path) -> list[Process]:
    """What `cloud-doctor run` starts, each bound to `settings.host` only (127.0.0.1 by
    default): the action server (rasa-sdk binds 0.0.0.0 unless SANIC_HOST is set), the
    Rasa server and the staff API. Sanic reads SANIC_* variables into its config."""
    python = sys.executable
    env = {**os.environ, "SANIC_HOST": settings.host,
           "SANIC_REQUEST_MAX_SIZE": str(REQUEST_MAX_BYTES)}
    rasa = [python, "-m", "rasa", "run", "--model", str(model), "--credentials",
            str(settings.project_dir / "credentials.yml"), "--endpoints", str(endpoints),
            "--interface", settings.host, "--port", str(settings.port)]
    if settings.cors_origins:
        rasa += ["--cors", *settings.cors_origins]
    return [
        Process("actions", [python, "-m", "rasa_sdk", "--actions", "actions",
                            "--port", str(settings.action_port)], env),
        Process("rasa", rasa, env),
        Process("staff", [python, "-m", "bot.cli", "staff"], env),
    ]


WARM_UP_QUESTION = "联盟小区5号楼，最近的工会服务站在哪"


@dataclass(frozen=True)
class WarmUp:
    seconds: float
    reply: str


def warm_up(host: str, action_port: int, timeout: float = 120.0) -> WarmUp | None:
    """Ask the action server one grid question at start-up, so that the first real
    one does not wait for spaCy, the gazetteer and the directory to load (3.5 s
    measured). Read-only; None (logged) when it failed."""
    import json
    import urllib.request

    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    latest = {"text": WARM_UP_QUESTION, "intent": {"name": "find_office", "confidence": 1.0},
              "entities": [], "metadata": {}}
    call = {"next_action": "action_find_office", "sender_id": "warm-up", "version": "3.6.21",
            "domain": {}, "tracker": {"sender_id": "warm-up", "slots": {},
                                      "latest_message": latest, "events": [], "paused": False,
                                      "followup_action": None, "active_loop": {},
                                      "latest_action_name": None}}
    request = urllib.request.Request(f"http://{host}:{action_port}/webhook",
                                     data=json.dumps(call, ensure_ascii=False).encode(),
                                     headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            result = json.load(answer)
    except (OSError, ValueError) as exc:
        logger.warning("Warming up the action server failed: %s", exc)
        return None
    texts = [str(r.get("text") or "") for r in result.get("responses") or []]
    return WarmUp(time.monotonic() - started, "\n".join(texts))


def _wait_for_port(host: str, port: int, timeout: float) -> bool:
    import socket

    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.3)
    return False


def serve(settings: Settings, train_first: bool = True) -> int:
    project = settings.project_dir
    if settings.staff_token:
        try:
            check_secret("STAFF_API_TOKEN", settings.staff_token)
        except ValueError as exc:
            print(f"错误: {exc}", file=sys.stderr)
            return 2
    if train_first:
        print("检查模型（数据有变化时重新训练，约需几分钟）……", flush=True)
        model = train(project, settings.model_dir, database_url=settings.database_url)
    else:
        from bot.training import latest_model

        found = latest_model(settings.model_dir)
        if found is None:
            print("错误: 没有模型，请去掉 --no-train 或先运行 cloud-doctor train", file=sys.stderr)
            return 3
        model = found
    ensure_grid_directory(settings)
    from bot.compose import open_engine

    open_engine(settings)  # every schema migrated here, before the processes that use them
    console_login = ensure_console_admin(settings)
    from bot.kb import open_knowledge_base

    open_knowledge_base(settings)  # answers seeded from data/answers before Rasa reads them
    endpoints = runtime_endpoints(settings)
    children = [subprocess.Popen(c.argv, cwd=project, env=c.env)
                for c in processes(settings, model, endpoints)]

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        if _wait_for_port(settings.host, settings.port, timeout=180):
            if _wait_for_port(settings.host, settings.action_port, timeout=60):
                warmed = warm_up(settings.host, settings.action_port)
                if warmed is not None:
                    logger.info("Action server warmed up in %.1f s", warmed.seconds)
            print(f"\n云博士已启动。演示页面: http://{settings.host}:{settings.port}/webhooks/webchat/\n"
                  f"工作人员控制台: http://{settings.host}:{settings.staff_port}/ {console_login}\n"
                  f"工作人员接口（群发通知）: http://{settings.host}:{settings.staff_port}/api "
                  f"（令牌见 {settings.data_dir / 'staff_token'} 或 STAFF_API_TOKEN）\n"
                  "按 Ctrl-C 停止。", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [c.returncode for c in children if c.returncode and c.returncode > 0]
    return failed[0] if failed else 0

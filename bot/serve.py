"""`cloud-doctor run`: train if needed, then start the rasa-sdk action server and
the Rasa server (channels + demo page) with the embedded defaults: SQLite
tracker store under DATA_DIR, no other service."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bot.settings import Settings
from bot.training import train

logger = logging.getLogger(__name__)


def runtime_endpoints(settings: Settings) -> Path:
    """Write the endpoints file for this run (action server port, SQLite tracker store)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    endpoints = {
        "action_endpoint": {"url": f"http://127.0.0.1:{settings.action_port}/webhook"},
        "tracker_store": {
            "type": "SQL",
            "dialect": "sqlite",
            "db": str(settings.data_dir / "trackers.db"),
        },
    }
    path = settings.data_dir / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints, allow_unicode=True), encoding="utf-8")
    return path


def ensure_grid_directory(settings: Settings) -> None:
    """The embedded default starts with the fictitious sample directory when none exists."""
    from sqlalchemy.orm import Session

    from grids import db, repository
    from grids.cli import SAMPLE_DIR
    from grids.importer import import_path

    settings.data_dir.mkdir(parents=True, exist_ok=True)
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


def _wait_for_port(port: int, timeout: float) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.3)
    return False


def serve(settings: Settings, train_first: bool = True) -> int:
    project = settings.project_dir
    if train_first:
        print("检查模型（数据有变化时重新训练，约需几分钟）……", flush=True)
        model = train(project, settings.model_dir)
    else:
        from bot.training import latest_model

        found = latest_model(settings.model_dir)
        if found is None:
            print("错误: 没有模型，请去掉 --no-train 或先运行 cloud-doctor train", file=sys.stderr)
            return 3
        model = found
    ensure_grid_directory(settings)
    endpoints = runtime_endpoints(settings)
    python = sys.executable
    actions = subprocess.Popen(
        [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.action_port)],
        cwd=project,
    )
    server = subprocess.Popen(
        [python, "-m", "rasa", "run", "--model", str(model), "--credentials",
         str(project / "credentials.yml"), "--endpoints", str(endpoints),
         "--interface", settings.host, "--port", str(settings.port), "--cors", "*"],
        cwd=project,
    )
    staff = subprocess.Popen([python, "-m", "bot.cli", "staff"], cwd=project)
    children = [actions, server, staff]

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        if _wait_for_port(settings.port, timeout=180):
            print(f"\n云博士已启动。演示页面: http://{settings.host}:{settings.port}/webhooks/webchat/\n"
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

"""Starts the real assistant as `cloud-doctor run` would: the rasa-sdk action server
and `rasa run` with a credentials file that points the connectors at the fakes.
Used by the end-to-end tests and bench/connectors.py."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.base import free_port

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CHANNEL_CLASSES = {
    "wecom": "connectors.wecom.WeComInput",
    "dingtalk": "connectors.dingtalk.DingTalkInput",
    "feishu": "connectors.feishu.FeishuInput",
    "onebot": "connectors.onebot.OneBotInput",
    "webchat": "connectors.webchat.WebChatInput",
}


def newest_model(model_dir: Path = ROOT / "models") -> Path | None:
    models = sorted(model_dir.glob("cloud-doctor-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


class RasaStack:
    """The action server and the Rasa server as child processes, logs in `workdir`."""

    def __init__(self, model: Path, channels: Mapping[str, Mapping[str, Any]], workdir: Path,
                 *, rest: bool = False, endpoints: Mapping[str, Any] | None = None) -> None:
        self.model = model
        self.endpoints = dict(endpoints or {})   # more of `cloud-doctor run`'s: nlg, broker
        self.channels = channels
        self.workdir = workdir
        self.rest = rest
        self.port = free_port()
        self.action_port = free_port()
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def webhook(self, channel: str) -> str:
        return f"{self.url}/webhooks/{channel}/webhook"

    def start(self, timeout: float = 180.0) -> RasaStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        credentials: dict[str, Any] = {CHANNEL_CLASSES[name]: dict(block)
                                       for name, block in self.channels.items()}
        if self.rest:  # unauthenticated: only for benches on this machine (not shipped)
            credentials["rest"] = None
        credentials_file = self.workdir / "credentials.yml"
        credentials_file.write_text(yaml.safe_dump(credentials, allow_unicode=True), "utf-8")
        endpoints_file = self.workdir / "endpoints.yml"
        endpoints_file.write_text(yaml.safe_dump(
            {"action_endpoint": {"url": f"http://127.0.0.1:{self.action_port}/webhook"},
             **self.endpoints}), "utf-8")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
               "RASA_TELEMETRY_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
        python = sys.executable
        self._spawn("actions", [python, "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(self.action_port)], env)
        self._spawn("rasa", [python, "-m", "rasa", "run", "--model", str(self.model),
                             "--credentials", str(credentials_file),
                             "--endpoints", str(endpoints_file), "--interface", "127.0.0.1",
                             "--port", str(self.port)], env)
        try:
            self._wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, command: list[str], env: Mapping[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self._processes.append(subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=log,
                                                stderr=subprocess.STDOUT,
                                                start_new_session=True))

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        checks = [f"http://127.0.0.1:{self.action_port}/health", f"{self.url}/"]
        while checks:
            for process in self._processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a child process exited with {process.returncode}; "
                                       f"see the logs in {self.workdir}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the assistant was not ready in {timeout:.0f}s; "
                                   f"see the logs in {self.workdir}")
            try:
                with urllib.request.urlopen(checks[0], timeout=2) as answer:
                    if answer.status == 200:
                        checks.pop(0)
                        continue
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        logger.info("assistant ready on %s (model %s)", self.url, self.model.name)

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self._processes.clear()

    def __enter__(self) -> RasaStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

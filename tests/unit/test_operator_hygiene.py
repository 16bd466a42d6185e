"""Operator hygiene: private data files, secrets that are really secret, audit lines
that reach the log and cannot be forged, processes bound to the configured host."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.serve import REQUEST_MAX_BYTES, processes, warm_up
from core.settings import Settings, check_secret, make_private

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env={"DATA_DIR": str(tmp_path / "var"), **env}, project_dir=ROOT)


def test_every_process_of_run_binds_the_configured_host_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    started = {p.name: p for p in processes(settings, tmp_path / "m.tar.gz", tmp_path / "e.yml")}
    assert set(started) == {"actions", "rasa", "staff"}
    for process in started.values():   # rasa-sdk binds 0.0.0.0 unless SANIC_HOST is set
        assert process.env["SANIC_HOST"] == "127.0.0.1"
        assert process.env["SANIC_REQUEST_MAX_SIZE"] == str(REQUEST_MAX_BYTES)
    rasa = started["rasa"].argv
    assert rasa[rasa.index("--interface") + 1] == "127.0.0.1"
    assert "--cors" not in rasa   # no other origin unless CORS_ORIGINS says so
    other = _settings(tmp_path, HOST="10.0.0.5", CORS_ORIGINS="https://union.example")
    rasa = next(p for p in processes(other, tmp_path, tmp_path) if p.name == "rasa").argv
    assert rasa[rasa.index("--interface") + 1] == "10.0.0.5"
    assert rasa[rasa.index("--cors") + 1:rasa.index("--cors") + 2] == ["https://union.example"]


def _listening(port: int) -> set[str]:
    """Local addresses listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.slow
def test_the_action_server_really_listens_on_loopback_only(tmp_path: Path) -> None:
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from core.db import create
    from grids import db as grid_db
    from grids.generator import SAMPLE_DIR
    from grids.importer import import_path

    url = f"sqlite:///{tmp_path / 'grids.db'}"
    engine = create(url)
    grid_db.upgrade(engine)
    import_path(engine, SAMPLE_DIR)
    engine.dispose()
    settings = _settings(tmp_path, ACTION_PORT=str(port), DATABASE_URL=url)
    actions = next(p for p in processes(settings, tmp_path, tmp_path) if p.name == "actions")
    actions.env["DATABASE_URL"] = url
    proc = subprocess.Popen(actions.argv, cwd=ROOT, env=actions.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.3)
        assert _listening(port) == {"0100007F"}   # 127.0.0.1, not 00000000 (0.0.0.0)
        # start-up warms it with a real grid question (the directory, spaCy, the
        # gazetteer load then), so the first member's question is answered at once
        first = warm_up(settings.host, port)
        assert first is not None and "联盟" in first.reply and "服务站" in first.reply
        second = warm_up(settings.host, port)
        assert second is not None and second.reply == first.reply
        assert second.seconds < first.seconds
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_data_dir_and_its_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    (data / "cloud_doctor.db").write_text("x")
    (data / "cloud_doctor.db").chmod(0o644)
    make_private(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "cloud_doctor.db").stat().st_mode) == 0o600


def test_files_the_cli_creates_are_private(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'cloud_doctor.db'}"}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "grids", "migrate"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "var" / "cloud_doctor.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("token", ["s3cr", "CHANGE_ME_LONG_RANDOM", "<your staff token here>"])
def test_weak_or_placeholder_staff_tokens_are_refused(tmp_path: Path, token: str) -> None:
    with pytest.raises(ValueError, match="STAFF_API_TOKEN") as info:
        check_secret("STAFF_API_TOKEN", token)
    assert token not in str(info.value)
    from bot.app import create_app

    with pytest.raises(ValueError):
        create_app(_settings(tmp_path, STAFF_API_TOKEN=token))
    assert check_secret("STAFF_API_TOKEN", "a-long-random-value-42") == "a-long-random-value-42"


def test_audit_lines_reach_the_log_of_a_service_and_cannot_forge_a_line() -> None:
    from bot.cli import _quiet, service_logging
    from console.staff_api import quoted

    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        _quiet()             # what every command does first (root at WARNING)
        service_logging()    # what `cloud-doctor staff` does then
        assert logging.getLogger("console.staff_api").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
    forged = quoted("李干事\nINFO console.staff_api: Notice 1 cancelled by 区长")
    assert "\n" not in forged and json.loads(forged).startswith("李干事\n")

"""`cloud-doctor users add|passwd|disable|enable|list` on a temporary database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.cli import main
from bot.compose import open_engine
from console.accounts import AccountStore
from console.audit import AuditLog
from core.settings import Settings
from grids import repository
from grids.generator import generate


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'u.db'}")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    found = Settings.from_env()
    with Session(open_engine(found), future=True) as session, session.begin():
        repository.upsert(session, generate())
    return found


def _one_time(out: str) -> str:
    return next(line.split("：", 1)[1] for line in out.splitlines() if line.startswith("一次性密码"))


def test_add_passwd_disable_list(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    store = AccountStore(open_engine(settings))
    assert main(["users", "add", "li", "--role", "staff", "--street", "联盟街道",
                 "--name", "李干事"]) == 0
    password = _one_time(capsys.readouterr().out)
    li = store.authenticate("li", password)
    assert li is not None and li.street_code == "D001-S01" and li.must_change_password
    assert main(["users", "add", "zeng", "--role", "coordinator",
                 "--coordinator", "D001-P0001"]) == 0
    capsys.readouterr()
    assert main(["users", "add", "x", "--role", "staff", "--street", "不存在街道"]) == 1
    assert "网格目录里没有街道" in capsys.readouterr().err
    assert main(["users", "add", "y", "--role", "coordinator", "--coordinator", "NOPE"]) == 1
    assert main(["users", "add", "li", "--role", "admin"]) == 1
    assert "已存在" in capsys.readouterr().err
    assert main(["users", "passwd", "li"]) == 0
    new = _one_time(capsys.readouterr().out)
    assert store.authenticate("li", password) is None and store.authenticate("li", new)
    assert main(["users", "disable", "li"]) == 0
    assert store.authenticate("li", new) is None
    assert main(["users", "enable", "li"]) == 0 and store.authenticate("li", new)
    capsys.readouterr()
    assert main(["users", "list", "--json"]) == 0
    rows = {r["username"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["li"]["profile"] == "street_staff" and rows["zeng"]["profile"] == "coordinator"
    assert main(["users", "passwd", "nobody"]) == 1
    actions = [e.action for e in AuditLog(open_engine(settings)).latest()]
    assert {"user.add", "user.passwd", "user.disable", "user.enable"} <= set(actions)


def test_password_from_stdin(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("my-chosen-password-1\n"))
    assert main(["users", "add", "boss", "--role", "admin", "--password-stdin"]) == 0
    assert "一次性密码" not in capsys.readouterr().out
    boss = AccountStore(open_engine(settings)).authenticate("boss", "my-chosen-password-1")
    assert boss is not None and not boss.must_change_password

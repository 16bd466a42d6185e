"""`cloud-doctor kb …` as staff run it on the server (a subprocess on a fresh SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def kb(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'kb.db'}"}
    return subprocess.run([sys.executable, "-m", "bot.cli", "kb", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_list_fields_history_and_export(tmp_path: Path) -> None:
    listed = kb(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    topics = {g["topic"]: g for g in json.loads(listed.stdout)["topics"]}
    assert topics["join_union"]["answers"][0]["name"] == "utter_faq/join_union"

    refused = kb(tmp_path, "fields", "set", "no_such_field", "x")
    assert refused.returncode == 1 and "没有这个字段" in refused.stderr
    done = kb(tmp_path, "fields", "set", "hotline_hours", "每天 8:30-20:00", "--by", "王主任")
    assert done.returncode == 0, done.stderr
    assert "[[hotline_hours]]" in done.stdout and "每天 8:30-20:00" in done.stdout

    history = kb(tmp_path, "history", "utter_faq/join_union", "--json")
    assert history.returncode == 0 and json.loads(history.stdout)[0]["kind"] == "seed"
    missing = kb(tmp_path, "history", "utter_nothing")
    assert missing.returncode == 1 and "没有这个答复" in missing.stderr

    out = tmp_path / "export"
    exported = kb(tmp_path, "export", str(out))
    assert exported.returncode == 0, exported.stderr
    for path in (ROOT / "data" / "answers").glob("*.yml"):
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name

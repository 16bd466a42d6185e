"""The `cloud-doctor` command line, run as a subprocess like a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.topics import contract

pytestmark = pytest.mark.slow


def test_cli_ask_reads_stdin_and_writes_json_lines(small_model: Path, project_root: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--model", str(small_model)],
        input="@云博士 会费交多少\n\n醫保報銷比例是多少\n",
        capture_output=True, text=True, cwd=project_root, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["@云博士 会费交多少", "醫保報銷比例是多少"]
    for row in rows:
        assert set(row) >= {"text", "topic", "confidence", "answer"}
        assert row["topic"] in contract()


def test_cli_ask_survives_huge_lines_broken_bytes_and_half_emoji(small_model: Path,
                                                                 project_root: Path) -> None:
    huge = "工会" * 50_000                       # 100 000 characters on one line
    lines = [huge.encode(), "会费\xff交多少".encode().replace(b"\xc3\xbf", b"\xff"),
             "入会\ud83d".encode("utf-8", "surrogatepass")]
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--model", str(small_model)],
        input=b"\n".join(lines) + b"\n", capture_output=True, cwd=project_root, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(rows) == 3 and all(r["topic"] in contract() for r in rows)
    assert len(rows[0]["text"]) == 2000            # cut before anything expensive
    assert rows[1]["text"] == "会费\ufffd交多少"
    assert rows[2]["text"].startswith("入会")    # its bytes are not UTF-8 either: U+FFFD
    # An argument with a byte that is not UTF-8 reaches Python as a lone surrogate.
    broken = subprocess.run(
        [sys.executable.encode(), b"-m", b"bot.cli", b"ask", b"--json", b"--model",
         str(small_model).encode(), "会费多少".encode() + b"\xff"],
        capture_output=True, text=True, cwd=project_root, timeout=300)
    assert broken.returncode == 0, broken.stderr
    assert json.loads(broken.stdout)["text"] == "会费多少"


def test_cli_eval_rejects_a_broken_file(tmp_path: Path, project_root: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("questions:\n  - text: 你好\n    topic: not_a_topic\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "eval", str(bad)],
                          capture_output=True, text=True, cwd=project_root, timeout=120)
    assert proc.returncode == 2
    assert "unknown topic key 'not_a_topic'" in proc.stderr

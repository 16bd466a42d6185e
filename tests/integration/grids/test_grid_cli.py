"""`cloud-doctor grids ...` through the real entry point bot.cli.main, on SQLite."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.grids_cli import EXIT_INVALID_FILE, EXIT_NOT_FOUND

SAMPLE = Path(__file__).resolve().parents[3] / "grids" / "sample"


@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    return tmp_path


def test_import_broken_file_reports_lines_and_exit_code(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = database / "in"
    broken.mkdir()
    (broken / "estates.csv").write_text(
        "小区编码,小区名称,社区编码,别名,楼栋\nE1,联盟小区,NO-SUCH,,1-5\nE2,,C1,,1-x\n", encoding="utf-8")
    assert main(["grids", "import", str(broken)]) == EXIT_INVALID_FILE
    err = capsys.readouterr().err
    assert "estates.csv 第3行 第2列（小区名称）：不能为空" in err
    assert "estates.csv 第3行 第5列（楼栋）" in err
    assert "estates.csv 第2行 第3列（社区编码）：社区编码“NO-SUCH”不存在" in err
    assert "数据库未作任何修改" in err


def test_seed_show_lookup_export(database: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["grids", "seed"]) == 0
    assert "网格 新增805" in capsys.readouterr().out

    assert main(["grids", "lookup", "我住联盟小区5号楼", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "resolved"
    best = result["candidates"][0]
    assert best["estate_name"] == "联盟小区" and best["office_name"] and best["street_name"]

    monkeypatch.setattr("sys.stdin", io.StringIO("聯盟小區五號樓\n幸福家园3号楼\n\n火星基地\n"))
    assert main(["grids", "lookup", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["status"] for line in lines] == ["resolved", "ambiguous", "not_found"]

    assert main(["grids", "lookup", "火星基地"]) == EXIT_NOT_FOUND
    assert "没有找到" in capsys.readouterr().out

    code = best["grid_code"]
    assert main(["grids", "show", code]) == 0
    shown = capsys.readouterr().out
    assert code in shown and "网格员" in shown and "联盟小区" in shown and "地址" in shown
    assert main(["grids", "show", "NO-SUCH"]) == EXIT_NOT_FOUND
    assert "没有编码为 NO-SUCH 的网格" in capsys.readouterr().err

    out = database / "export"
    assert main(["grids", "export", str(out)]) == 0
    for name in ("streets.csv", "grids.csv", "groups.csv"):
        assert (out / name).read_bytes() == (SAMPLE / name).read_bytes()
    assert main(["grids", "export", str(out), "--format", "xlsx"]) == 0
    assert (out / "directory.xlsx").stat().st_size > 0

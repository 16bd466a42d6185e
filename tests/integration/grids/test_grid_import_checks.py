"""What the database enforces is reported per row, on SQLite and PostgreSQL, and the
CLI's import errors: no IntegrityError, no codec error, no "第0行"."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.cli import main
from bot.grids_cli import EXIT_INVALID_FILE
from grids import db, repository
from grids.files import SAVE_AS
from grids.importer import InvalidGridFile, export_dir, import_path
from grids.model import EstateRow

BASE = {
    "streets.csv": "街道编码,街道名称,所属区县\nS1,联盟街道,云溪区\n",
    "communities.csv": "社区编码,社区名称,街道编码\nC1,福景社区,S1\n",
    "offices.csv": "服务站编码,名称,级别,地址,电话\nO1,福景服务站,社区工会服务站,福景路1号,010-12345678\n",
    "estates.csv": "小区编码,小区名称,社区编码,别名,楼栋\nE1,联盟小区,C1,联盟,1-6\nE2,幸福家园,C1,,1-3\n",
    "grids.csv": "网格编码,网格名称,社区编码,网格员编码,服务站编码,覆盖范围\nG1,第一网格,C1,,O1,E1;E2\n",
}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    return folder


BROKEN = {
    "duplicate alias": ("estates.csv", "E1,联盟小区,C1,联盟、联盟,1-6",
                        "estates.csv 第2行 第4列（别名）：别名“联盟”重复了"),
    "same estate twice": ("grids.csv", "G1,第一网格,C1,,O1,E1:1-3;E1:4-6",
                          "grids.csv 第2行 第6列（覆盖范围）：小区编码“E1”出现了不止一次"),
    "overlong name": ("estates.csv", f"E1,{'长' * 300},C1,,1-6",
                      "estates.csv 第2行 第2列（小区名称）：太长：300 个字，最多 64 个字"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_database_constraints_are_row_errors(empty_url: str, tmp_path: Path, case: str) -> None:
    engine = db.create(empty_url)
    import_path(engine, _write(tmp_path / "base", BASE))
    name, row, expected = BROKEN[case]
    header = BASE[name].splitlines()[0]
    with pytest.raises(InvalidGridFile) as error:
        import_path(engine, _write(tmp_path / "broken", {name: f"{header}\n{row}\n"}))
    assert expected in str(error.value) and "数据库未作任何修改" in str(error.value)
    with Session(engine, future=True) as session:
        assert session.execute(select(EstateRow.name).where(EstateRow.code == "E1")
                               ).scalar_one() == "联盟小区"
        assert repository.revision(session) == 1
    engine.dispose()


def test_formula_names_survive_the_database_round_trip(empty_url: str, tmp_path: Path) -> None:
    engine = db.create(empty_url)
    risky = dict(BASE, **{"streets.csv": "街道编码,街道名称,所属区县\n"
                                         "S1,\"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\",'@区\n"})
    import_path(engine, _write(tmp_path / "in", risky))
    with Session(engine, future=True) as session:
        street = repository.load(session).streets["S1"]
    assert street.name == '=HYPERLINK("http://x","点我")' and street.district == "@区"
    for fmt in ("csv", "xlsx"):
        export_dir(engine, tmp_path / fmt, fmt)
        assert import_path(engine, tmp_path / fmt).unchanged["streets"] == 1
    assert (tmp_path / "csv" / "streets.csv").read_text(encoding="utf-8-sig") == (
        tmp_path / "in" / "streets.csv").read_text(encoding="utf-8")
    engine.dispose()


# --- the CLI ---------------------------------------------------------------------------
@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    return tmp_path


def test_cli_refuses_utf16_file_with_a_hint(database: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = database / "in"
    folder.mkdir()
    (folder / "streets.csv").write_bytes(BASE["streets.csv"].encode("utf-16"))
    assert main(["grids", "import", str(folder)]) == EXIT_INVALID_FILE
    err = capsys.readouterr().err
    assert "streets.csv：文件是 UTF-16 编码" in err and SAVE_AS in err
    assert "第0行" not in err and "codec" not in err and "Traceback" not in err


def test_cli_refuses_a_file_above_the_cap(database: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("grids.files.MAX_FILE_BYTES", 20)
    folder = _write(database / "in", BASE)
    assert main(["grids", "import", str(folder / "grids.csv")]) == EXIT_INVALID_FILE
    err = capsys.readouterr().err
    assert "grids.csv：文件有" in err and "超过导入上限 20 字节" in err and "第0行" not in err


def test_cli_reports_a_database_refusal_in_chinese(database: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: x"))

    monkeypatch.setattr("grids.importer.import_path", refuse)
    assert main(["grids", "import", str(_write(database / "in", BASE))]) == EXIT_INVALID_FILE
    err = capsys.readouterr().err
    assert "数据库拒绝了这次导入，数据库未作任何修改：UNIQUE constraint failed: x" in err

"""Hardening of the spreadsheet import/export: database constraints as row errors,
encodings, whole-file errors, formula cells, the size cap and formula escaping."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import String

from grids.directory import (
    ChatGroup,
    Community,
    Coordinator,
    Coverage,
    Directory,
    Estate,
    Grid,
    OfficeLevel,
    Street,
    UnionOffice,
)
from grids.files import SAVE_AS, escape_csv, unescape
from grids.importer import STORED, read_incoming, write_directory
from grids.model import EstateRow, OfficeRow, StreetRow, metadata
from grids.tables import CellError

STREETS = "街道编码,街道名称,所属区县\nS1,联盟街道,云溪区\n"
ESTATES = "小区编码,小区名称,社区编码,别名,楼栋\n"
GRIDS = "网格编码,网格名称,社区编码,网格员编码,服务站编码,覆盖范围\n"


def _write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def _messages(folder: Path, max_bytes: int | None = None) -> list[str]:
    _, _, errors = read_incoming(folder, max_bytes)
    return [str(e) for e in errors]


# --- what the database enforces, reported per row ------------------------------------
def test_duplicate_alias_in_one_estate_is_a_row_error(tmp_path: Path) -> None:
    _write(tmp_path, "estates.csv", ESTATES + "E1,联盟小区,C1,联盟、联盟苑、联盟,1-5\n")
    assert _messages(tmp_path) == ["estates.csv 第2行 第4列（别名）：别名“联盟”重复了"]


def test_same_estate_twice_in_one_coverage_is_a_row_error(tmp_path: Path) -> None:
    _write(tmp_path, "grids.csv", GRIDS + "G1,第一网格,C1,,O1,E1:1-3;E2;E1:4-6\n")
    [message] = _messages(tmp_path)
    assert message.startswith("grids.csv 第2行 第6列（覆盖范围）：小区编码“E1”出现了不止一次")


def test_overlong_text_is_checked_against_the_model_column(tmp_path: Path) -> None:
    name, alias, address = "长" * 300, "别" * 70, "路" * 300
    _write(tmp_path, "estates.csv", ESTATES + f"E1,{name},C1,联盟、{alias},1-5\n")
    _write(tmp_path, "offices.csv", "服务站编码,名称,级别,地址,电话\n"
           f"O1,服务站,社区工会服务站,{address},010-12345678\n")
    messages = _messages(tmp_path)
    limit, address_limit = EstateRow.name.type.length, OfficeRow.address.type.length
    assert f"estates.csv 第2行 第2列（小区名称）：太长：300 个字，最多 {limit} 个字" in messages
    assert (f"estates.csv 第2行 第4列（别名）：“{'别' * 12}…”太长：70 个字，最多 {limit} 个字"
            in messages)
    assert (f"offices.csv 第2行 第4列（地址）：太长：300 个字，最多 {address_limit} 个字"
            in messages)
    assert len(messages) == 3


def test_text_at_the_column_length_is_accepted(tmp_path: Path) -> None:
    name = "长" * StreetRow.name.type.length
    _write(tmp_path, "streets.csv", f"街道编码,街道名称,所属区县\nS1,{name},云溪区\n")
    incoming, _, errors = read_incoming(tmp_path)
    assert not errors and incoming["streets"][0].record.name == name


# Filled by the importer itself, never from a cell: child keys, platforms, hours, meta.
INTERNAL = {"grid_estate_aliases.estate_code", "grid_coordinator_accounts.coordinator_code",
            "grid_coordinator_accounts.platform", "grid_office_hours.office_code",
            "grid_office_hours.opens", "grid_office_hours.closes", "grid_coverage.grid_code",
            "grid_meta.key"}


def test_every_string_column_of_the_model_is_length_checked() -> None:
    checked = {f"{c.table.name}.{c.name}" for columns in STORED.values()
               for attribute in columns.values() for c in attribute.property.columns}
    strings = {f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns
               if isinstance(c.type, String) and c.type.length}
    assert strings - INTERNAL == checked


# --- encodings and whole-file errors --------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_csv_is_refused_with_a_hint(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "streets.csv").write_bytes(STREETS.encode(encoding))
    [message] = _messages(tmp_path)
    assert message.startswith("streets.csv：") and SAVE_AS in message
    assert "codec" not in message and "第0行" not in message


def test_undecodable_csv_is_refused_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "streets.csv").write_bytes(STREETS.encode("utf-8") + b"S2,\x81\x20,\xff\n")
    [message] = _messages(tmp_path)
    assert message.startswith("streets.csv：无法识别文件编码") and SAVE_AS in message
    assert "第3行" in message and "codec" not in message


def test_gbk_csv_still_imports(tmp_path: Path) -> None:
    (tmp_path / "streets.csv").write_bytes(STREETS.encode("gbk"))
    incoming, _, errors = read_incoming(tmp_path)
    assert not errors and incoming["streets"][0].record.district == "云溪区"


def test_workbook_saved_as_csv_is_named(tmp_path: Path) -> None:
    Workbook().save(tmp_path / "streets.csv")
    [message] = _messages(tmp_path)
    assert message == "streets.csv：这是 Excel 工作簿而不是 CSV 文件，请把扩展名改为 .xlsx"


def test_whole_file_errors_have_no_line_zero(tmp_path: Path) -> None:
    assert _messages(tmp_path / "missing") == [f"{tmp_path / 'missing'}：文件或目录不存在"]
    _write(tmp_path, "people.csv", "a,b\n1,2\n")
    [message] = _messages(tmp_path)
    assert message.startswith("people.csv：无法识别的文件名")
    assert str(CellError("a.csv", 3, 0, "", "整行有误")) == "a.csv 第3行：整行有误"
    assert str(CellError("a.xlsx「小区」", 1, 4, "", "空表头")) == "a.xlsx「小区」 第1行 第4列：空表头"


def test_file_above_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    _write(tmp_path, "streets.csv", STREETS)
    size = (tmp_path / "streets.csv").stat().st_size
    assert _messages(tmp_path, max_bytes=size) == []
    assert _messages(tmp_path, max_bytes=10) == [
        f"streets.csv：文件有 {size} 字节，超过导入上限 10 字节，请拆分后分批导入"]


def test_size_cap_applies_to_a_single_file_and_names_its_size(tmp_path: Path) -> None:
    path = tmp_path / "streets.csv"
    path.write_text(STREETS + "".join(f"S{i},街道{i},云溪区\n" for i in range(2, 200)),
                    encoding="utf-8")
    size = path.stat().st_size
    assert _messages(path, max_bytes=size) == []
    assert _messages(path, max_bytes=1024) == [
        f"streets.csv：文件有 {size / 1024:.1f} KB，超过导入上限 1.0 KB，请拆分后分批导入"]


# --- formula cells ---------------------------------------------------------------------
def _workbook(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "小区"
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_formula_cell_is_refused_by_line_and_column(tmp_path: Path) -> None:
    _workbook(tmp_path / "directory.xlsx", [
        ["# 虚构示例数据"], ["小区编码", "小区名称", "社区编码", "别名", "楼栋"],
        ["E1", "联盟小区", "C1", "", "1-6"], ["E2", "幸福家园", "C1", "", "1-3"],
        ["E3", "明珠花园", "C1", "", '="1-6"'], ["E4", "=A3&\"二期\"", "C1", "", "1-2"]])
    messages = _messages(tmp_path)
    assert messages == [
        'directory.xlsx「小区」 第5行 第5列（楼栋）：单元格是公式（="1-6"），请改成文字',
        'directory.xlsx「小区」 第6行 第2列（小区名称）：单元格是公式（=A3&"二期"），请改成文字']


def test_text_that_looks_like_a_formula_is_not_a_formula_cell(tmp_path: Path) -> None:
    path = tmp_path / "directory.xlsx"
    _workbook(path, [["小区编码", "小区名称", "社区编码", "别名", "楼栋"],
                     ["E1", "x", "C1", "", "1-6"]])
    workbook = load_workbook(path)
    cell = workbook["小区"]["B2"]
    cell.value, cell.data_type = "=文字", "s"
    workbook.save(path)
    incoming, _, errors = read_incoming(tmp_path)
    assert not errors and incoming["estates"][0].record.name == "=文字"


# --- formula injection on export --------------------------------------------------------
def _risky() -> Directory:
    return Directory.of(
        streets=[Street("S1", '=HYPERLINK("http://example.invalid","点我")', "'=云溪区")],
        communities=[Community("C1", "-福景社区", "S1")],
        estates=[Estate("E1", "@联盟小区", "C1", ("=1+1", "'=引号", "''+两个引号", "'普通"),
                        ("1", "2"))],
        coordinators=[Coordinator("P1", "=cmd|' /C calc'!A0", "+86 10 1234",
                                  {"wecom": "-wecom", "web": "@web"})],
        offices=[UnionOffice("O1", "=服务站", OfficeLevel.COMMUNITY, "-路1号", "+86 10 5678",
                             tuple(() for _ in range(7)), ("=服务", "@法律"), "S1", "C1",
                             -33.5, -1e-05)],
        grids=[Grid("G1", "#N/A", "C1", "P1", "O1", (Coverage("E1"),))],
        groups=[ChatGroup("web", "=room", "+群", "G1", "web", "@target")],
    )


def _parsed(folder: Path) -> Directory:
    incoming, _, errors = read_incoming(folder)
    assert not errors
    directory = Directory()
    for kind, located in incoming.items():
        getattr(directory, kind).update(
            {(i.record.key if kind == "groups" else i.record.code): i.record for i in located})
    return directory


def test_escape_rules() -> None:
    assert escape_csv("=x") == "'=x" and escape_csv("'=x") == "''=x"
    assert escape_csv("-33.5") == "-33.5" and escape_csv("-1e-05") == "-1e-05"
    assert escape_csv("1-6") == "1-6" and escape_csv("'普通") == "'普通"
    for value in ("=x", "'=x", "''@x", "+", "-", "'普通", "-33.5", "普通"):
        assert unescape(escape_csv(value)) == value


def test_csv_export_escapes_formulas_and_round_trips(tmp_path: Path) -> None:
    directory = _risky()
    first = write_directory(directory, tmp_path / "a", "csv")
    text = (tmp_path / "a" / "streets.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in text and ",''=云溪区" in text
    assert "'-33.5" not in (tmp_path / "a" / "offices.csv").read_text(encoding="utf-8-sig")
    assert _parsed(tmp_path / "a") == directory
    second = write_directory(_parsed(tmp_path / "a"), tmp_path / "b", "csv")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def _cells(path: Path) -> list[tuple[str, object, str]]:
    workbook = load_workbook(path)  # not data_only: formulas show as data_type "f"
    return [(ws.title, c.value, c.data_type) for ws in workbook.worksheets
            for row in ws.iter_rows() for c in row if c.value is not None]


def test_xlsx_export_writes_text_cells_and_round_trips(tmp_path: Path) -> None:
    directory = _risky()
    [first] = write_directory(directory, tmp_path / "a", "xlsx")
    cells = _cells(first)
    assert all(data_type == "s" for _, _, data_type in cells)
    values = {value for _, value, _ in cells}
    assert '=HYPERLINK("http://example.invalid","点我")' in values and "#N/A" in values
    assert "''=云溪区" in values  # a literal leading quote is kept by doubling it
    assert _parsed(tmp_path / "a") == directory
    [second] = write_directory(_parsed(tmp_path / "a"), tmp_path / "b", "xlsx")
    assert _cells(second) == cells

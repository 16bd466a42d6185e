from pathlib import Path

import pytest

from grids.directory import Coverage, Directory
from grids.importer import read_incoming, validate, write_directory
from grids.tables import (
    format_buildings,
    format_coverage,
    parse_buildings,
    parse_coverage,
)

HEADER = "# 虚构示例数据\n"


def test_buildings_round_trip() -> None:
    assert parse_buildings("1-3,5,7A") == ("1", "2", "3", "5", "7A")
    for text in ("1-12", "1-3,5-11", "1,2", "7A,8-10", ""):
        assert format_buildings(parse_buildings(text)) == text


@pytest.mark.parametrize("text", ["1-", "3-1", "五号", "1,1"])
def test_bad_buildings(text: str) -> None:
    with pytest.raises(ValueError):
        parse_buildings(text)


def test_coverage_round_trip() -> None:
    coverage = parse_coverage("E001:1-6;E002")
    assert coverage == (Coverage("E001", ("1", "2", "3", "4", "5", "6")), Coverage("E002"))
    assert format_coverage(coverage) == "E001:1-6;E002"


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(HEADER + text, encoding="utf-8")


def test_every_error_has_file_line_column_and_chinese_reason(tmp_path: Path) -> None:
    _write(tmp_path, "streets.csv", "街道编码,街道名称,所属区县\nS1,联盟街道,云溪区\nS2,,云溪区\n")
    _write(tmp_path, "communities.csv", "社区编码,社区名称,街道编码\nC1,福景社区,S1\nC2,泰峰社区,S9\n")
    _write(tmp_path, "estates.csv", "小区编码,小区名称,社区编码,别名,楼栋\nE1,联盟小区,C1,,1-x\n")
    incoming, note, errors = read_incoming(tmp_path)
    assert note == "虚构示例数据"
    messages = [str(e) for e in errors]
    assert "streets.csv 第4行 第2列（街道名称）：不能为空" in messages
    assert any(m.startswith("estates.csv 第3行 第5列（楼栋）：") for m in messages)
    validate(Directory(), incoming, errors)
    assert "communities.csv 第4行 第3列（街道编码）：街道编码“S9”不存在" in [str(e) for e in errors]


def test_unknown_and_missing_columns(tmp_path: Path) -> None:
    _write(tmp_path, "网格.csv", "网格编码,网格名字,社区编码\nG1,x,C1\n")
    _, _, errors = read_incoming(tmp_path)
    text = "\n".join(str(e) for e in errors)
    assert "网格.csv 第2行 第2列（网格名字）：未知的列" in text
    assert "缺少必需的列" in text and "服务站编码" in text


def test_unknown_file_name(tmp_path: Path) -> None:
    _write(tmp_path, "people.csv", "a,b\n1,2\n")
    _, _, errors = read_incoming(tmp_path)
    assert "无法识别的文件名" in str(errors[0])


def test_gb18030_csv_from_chinese_excel(tmp_path: Path) -> None:
    (tmp_path / "streets.csv").write_bytes("街道编码,街道名称,所属区县\nS1,联盟街道,云溪区\n".encode("gb18030"))
    incoming, _, errors = read_incoming(tmp_path)
    assert not errors and incoming["streets"][0].record.name == "联盟街道"


def test_overlapping_coverage_is_rejected(tmp_path: Path, sample: Directory) -> None:
    estate = next(e for e in sample.estates.values() if e.name == "联盟小区")
    grid = next(g for g in sample.grids.values()
                if all(c.estate_code != estate.code for c in g.coverage))
    _write(tmp_path, "grids.csv", "网格编码,网格名称,社区编码,网格员编码,服务站编码,覆盖范围\n"
           f"{grid.code},{grid.name},{grid.community_code},{grid.coordinator_code},"
           f"{grid.office_code},{estate.code}:1-3\n")
    incoming, _, errors = read_incoming(tmp_path)
    assert not errors
    merged = Directory(**{k: dict(getattr(sample, k)) for k in (
        "streets", "communities", "estates", "coordinators", "offices", "grids", "groups")})
    merged.grids[grid.code] = incoming["grids"][0].record
    validate(merged, incoming, errors)
    assert any("覆盖范围重叠" in str(e) and "第3行" in str(e) for e in errors)


def test_written_sheets_parse_back_to_the_same_directory(tmp_path: Path, sample: Directory) -> None:
    for fmt in ("csv", "xlsx"):
        folder = tmp_path / fmt
        write_directory(sample, folder, fmt, "虚构示例数据")
        incoming, note, errors = read_incoming(folder)
        assert not errors and note == "虚构示例数据"
        for kind in ("streets", "communities", "estates", "coordinators", "offices", "grids"):
            parsed = {item.record.code: item.record for item in incoming[kind]}
            assert parsed == getattr(sample, kind), (fmt, kind)
        assert {item.record.key: item.record for item in incoming["groups"]} == sample.groups

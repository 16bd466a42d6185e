"""CSV and XLSX files of the directory: reading raw rows with line numbers, writing.

A path to import is a directory (every `*.csv` / `*.xlsx` in it), one CSV file
named after its sheet (`grids.csv` or `网格.csv`), or one workbook whose sheets
carry the Chinese titles (`网格`, `小区`, ...). CSV files may be UTF-8 (with or
without BOM) or GB18030, as Excel saves them on Chinese Windows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grids.tables import SHEETS_BY_NAME, CellError, Sheet

SKIPPED_SHEETS = ("说明", "备注", "readme")


@dataclass
class RawSheet:
    sheet: Sheet
    source: str
    header_line: int = 0
    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    note: list[str] = field(default_factory=list)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def _collect(raw: RawSheet, numbered: Iterable[tuple[int, list[str]]]) -> RawSheet:
    for line, values in numbered:
        cells = [_cell_text(v) for v in values]
        if not any(cells):
            continue
        if cells[0].startswith("#"):
            if not raw.header:
                raw.note.append(cells[0].lstrip("#").strip())
            continue
        if not raw.header:
            raw.header_line, raw.header = line, cells
        else:
            raw.rows.append((line, cells))
    return raw


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_csv(path: Path, errors: list[CellError]) -> RawSheet | None:
    sheet = SHEETS_BY_NAME.get(path.stem)
    if sheet is None:
        names = "、".join(f"{s.kind}.csv" for s in SHEETS_BY_NAME.values() if s.kind.isascii())
        errors.append(CellError(path.name, 0, 0, "", f"无法识别的文件名，应为：{names}（或中文表名）"))
        return None
    try:
        text = _decode(path)
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(CellError(path.name, 0, 0, "", f"无法读取文件：{exc}"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))

    def numbered() -> Iterable[tuple[int, list[str]]]:
        start = 1
        try:
            for values in reader:
                yield start, values
                start = reader.line_num + 1
        except csv.Error as exc:
            errors.append(CellError(path.name, reader.line_num, 0, "", f"CSV 格式错误：{exc}"))

    return _collect(RawSheet(sheet, path.name), numbered())


def read_xlsx(path: Path, errors: list[CellError]) -> list[RawSheet]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        errors.append(CellError(path.name, 0, 0, "", f"无法打开 Excel 文件：{exc}"))
        return []
    sheets: list[RawSheet] = []
    try:
        for worksheet in workbook.worksheets:
            title = worksheet.title.strip()
            sheet = SHEETS_BY_NAME.get(title)
            if sheet is None:
                if not title.lower().startswith(SKIPPED_SHEETS):
                    errors.append(CellError(f"{path.name}「{title}」", 0, 0, "",
                                            "无法识别的工作表名，应为：街道、社区、网格员、服务站、小区、网格、群聊"))
                continue
            rows = ((i, list(r)) for i, r in enumerate(worksheet.iter_rows(values_only=True), 1))
            sheets.append(_collect(RawSheet(sheet, f"{path.name}「{title}」"), rows))
    finally:
        workbook.close()
    return sheets


def read_path(path: Path, errors: list[CellError]) -> list[RawSheet]:
    """All sheets under `path`; unreadable files and unknown names go to `errors`."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith("~$"))
        if not files:
            errors.append(CellError(str(path), 0, 0, "", "目录里没有 CSV 或 XLSX 文件"))
    elif path.is_file():
        files = [path]
    else:
        errors.append(CellError(str(path), 0, 0, "", "文件或目录不存在"))
        files = []
    sheets: list[RawSheet] = []
    for file in files:
        if file.suffix.lower() == ".xlsx":
            sheets.extend(read_xlsx(file, errors))
        elif file.suffix.lower() == ".csv":
            raw = read_csv(file, errors)
            if raw is not None:
                sheets.append(raw)
        else:
            errors.append(CellError(file.name, 0, 0, "", "只支持 .csv 和 .xlsx 文件"))
    return sheets


def write_csv(path: Path, sheet: Sheet, rows: Sequence[Sequence[str]], note: str | None) -> None:
    buffer = io.StringIO(newline="")
    if note:
        buffer.write("".join(f"# {line}\n" for line in note.splitlines()))
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(sheet.header())
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")


def write_xlsx(path: Path, tables: Sequence[tuple[Sheet, Sequence[Sequence[str]]]],
               note: str | None) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for sheet, rows in tables:
        worksheet = workbook.create_sheet(sheet.title)
        for line in (note or "").splitlines():
            worksheet.append([f"# {line}"])
        worksheet.append(sheet.header())
        for row in rows:
            worksheet.append(list(row))
    workbook.save(path)

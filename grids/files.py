"""CSV and XLSX files of the directory: reading raw rows with line numbers, writing.

A path to import is a directory (every `*.csv` / `*.xlsx` in it), one CSV file
named after its sheet (`grids.csv` or `网格.csv`), or one workbook whose sheets
carry the Chinese titles (`网格`, `小区`, ...). CSV files may be UTF-8 (with or
without BOM) or GB18030/GBK, as Excel saves them on Chinese Windows; UTF-16 and
undecodable files are refused with a hint to save them as "CSV UTF-8" or as a
workbook. A file larger than `MAX_FILE_BYTES` is refused before it is read.

Formula cells of a workbook are refused by line and column: the directory holds
text, and a formula's value is whatever a spreadsheet last computed, if anything.

Values that a spreadsheet would run as a formula (formula injection) are written
as text. A value is *formula-like* when it starts with `=`, `+`, `-` or `@`
(after any leading `'`), unless it is a plain decimal number such as `-33.5`:

* CSV export prefixes formula-like values with one `'` (`=HYPERLINK(...)` is
  written `'=HYPERLINK(...)`), as Excel itself marks text;
* XLSX export writes every value as an explicit string cell (never a formula),
  with Excel's "quote prefix" style on formula-like ones, and prefixes `'` only to
  values that themselves start with `'` followed by `= + - @`;
* import, in both formats, reads a value starting with `'` followed by `= + - @`
  without that first `'` (Excel stores a typed `'=x` as the text `=x` already).

So export → import → export is lossless in both formats, for every value.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grids.tables import SHEETS_BY_NAME, CellError, Sheet

SKIPPED_SHEETS = ("说明", "备注", "readme")
MAX_FILE_BYTES = 20 * 1024 * 1024   # a real district of 805 grids is well under 1 MB
SAVE_AS = "请另存为 CSV UTF-8 或 Excel 工作簿"
FORMULA_SHOWN = 40

_FORMULA_LIKE = re.compile(r"^'*[=+\-@]")
_QUOTED = re.compile(r"^'+[=+\-@]")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


def formula_like(value: str) -> bool:
    """Would a spreadsheet run `value` (after any leading `'`) as a formula?"""
    return bool(_FORMULA_LIKE.match(value)) and not _NUMBER.match(value)


def escape_csv(value: str) -> str:
    return "'" + value if formula_like(value) else value


def escape_xlsx(value: str) -> str:
    return "'" + value if _QUOTED.match(value) else value


def unescape(value: str) -> str:
    """Inverse of both escapes: `'=x` → `=x`, `''=x` → `'=x`; anything else unchanged."""
    return value[1:] if _QUOTED.match(value) else value


class UnreadableFile(Exception):
    """A whole file that cannot be imported; the message is the Chinese reason."""


@dataclass(frozen=True)
class _Formula:
    text: str


@dataclass
class RawSheet:
    sheet: Sheet
    source: str
    header_line: int = 0
    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    note: list[str] = field(default_factory=list)
    formula_cells: set[tuple[int, int]] = field(default_factory=set)  # (line, column)


def _cell_text(value: Any) -> str:
    if value is None or isinstance(value, _Formula):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return unescape(str(value).strip())


def _formula_errors(raw: RawSheet, line: int, values: Sequence[Any],
                    errors: list[CellError]) -> None:
    for column, value in enumerate(values, start=1):
        if isinstance(value, _Formula):
            label = raw.header[column - 1] if column <= len(raw.header) else ""
            text = value.text if len(value.text) <= FORMULA_SHOWN else value.text[:FORMULA_SHOWN] + "…"
            errors.append(CellError(raw.source, line, column, label,
                                    f"单元格是公式（{text}），请改成文字"))
            raw.formula_cells.add((line, column))


def _collect(raw: RawSheet, numbered: Iterable[tuple[int, Sequence[Any]]],
             errors: list[CellError]) -> RawSheet:
    for line, values in numbered:
        cells = [_cell_text(v) for v in values]
        has_formula = any(isinstance(v, _Formula) for v in values)
        if not any(cells) and not has_formula:
            continue
        if cells[0].startswith("#"):
            if not raw.header:
                raw.note.append(cells[0].lstrip("#").strip())
            continue
        if not raw.header:
            raw.header_line, raw.header = line, cells
        else:
            raw.rows.append((line, cells))
        if has_formula:
            _formula_errors(raw, line, values, errors)
    return raw


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    return f"{count / 1024:.1f} KB" if count >= 1024 else f"{count} 字节"


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030; raises UnreadableFile with the reason."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(f"文件是 UTF-16 编码（Excel 的“Unicode 文本”），{SAVE_AS}")
    if data.startswith(b"PK\x03\x04"):
        raise UnreadableFile("这是 Excel 工作簿而不是 CSV 文件，请把扩展名改为 .xlsx")
    if b"\x00" in data:
        raise UnreadableFile(f"文件含有空字符，可能是 UTF-16 编码或不是文本文件，{SAVE_AS}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise UnreadableFile(f"无法识别文件编码（第{line}行起既不是 UTF-8 也不是 GBK），"
                                 f"{SAVE_AS}") from None


def read_csv(path: Path, errors: list[CellError]) -> RawSheet | None:
    sheet = SHEETS_BY_NAME.get(path.stem)
    if sheet is None:
        names = "、".join(f"{s.kind}.csv" for s in SHEETS_BY_NAME.values() if s.kind.isascii())
        errors.append(CellError(path.name, 0, 0, "", f"无法识别的文件名，应为：{names}（或中文表名）"))
        return None
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        errors.append(CellError(path.name, 0, 0, "", f"无法读取文件：{exc.strerror or exc}"))
        return None
    except UnreadableFile as exc:
        errors.append(CellError(path.name, 0, 0, "", str(exc)))
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

    return _collect(RawSheet(sheet, path.name), numbered(), errors)


def _values(cells: Iterable[Any]) -> list[Any]:
    """Cell values of a row, a formula cell (`data_type` "f") as a `_Formula`."""
    return [_Formula(str(getattr(c.value, "text", c.value) or "")) if c.data_type == "f"
            else c.value for c in cells]


def read_xlsx(path: Path, errors: list[CellError]) -> list[RawSheet]:
    from openpyxl import load_workbook

    try:
        # Not data_only: formulas must be seen (and refused), not read as their cached value.
        workbook = load_workbook(path, read_only=True, data_only=False)
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
            rows = ((i, _values(r)) for i, r in enumerate(worksheet.iter_rows(), 1))
            sheets.append(_collect(RawSheet(sheet, f"{path.name}「{title}」"), rows, errors))
    finally:
        workbook.close()
    return sheets


def _too_big(file: Path, max_bytes: int, errors: list[CellError]) -> bool:
    """Record an error and return True when `file` cannot be stat'ed or exceeds the cap."""
    try:
        size = file.stat().st_size
    except OSError as exc:
        errors.append(CellError(file.name, 0, 0, "", f"无法读取文件：{exc.strerror or exc}"))
        return True
    if size > max_bytes:
        errors.append(CellError(file.name, 0, 0, "", f"文件有 {_size(size)}，超过导入上限 "
                                f"{_size(max_bytes)}，请拆分后分批导入"))
        return True
    return False


def read_path(path: Path, errors: list[CellError],
              max_bytes: int | None = None) -> list[RawSheet]:
    """All sheets under `path`; unreadable, too big files and unknown names go to `errors`.

    `max_bytes` caps each file's size (default `MAX_FILE_BYTES`); bigger files are not read.
    """
    cap = MAX_FILE_BYTES if max_bytes is None else max_bytes
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
        if file.suffix.lower() in (".csv", ".xlsx") and _too_big(file, cap, errors):
            continue
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
    writer.writerows([escape_csv(value) for value in row] for row in rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")


def write_xlsx(path: Path, tables: Sequence[tuple[Sheet, Sequence[Sequence[str]]]],
               note: str | None) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for sheet, rows in tables:
        worksheet = workbook.create_sheet(sheet.title)
        for line in (note or "").splitlines():
            worksheet.append([_text_cell(worksheet, f"# {line}")])
        worksheet.append([_text_cell(worksheet, label) for label in sheet.header()])
        for row in rows:
            worksheet.append([_text_cell(worksheet, value) for value in row])
    workbook.save(path)


def _text_cell(worksheet: Any, value: str) -> Any:
    """A cell holding `value` as text: never a formula (`=...`) nor an error (`#N/A`)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(worksheet, value=escape_xlsx(value))
    cell.data_type = "s"
    if formula_like(value):
        cell.quotePrefix = True   # Excel keeps it text when the cell is edited
    return cell

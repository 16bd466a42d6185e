"""CSV of any report table, for Excel: UTF-8 with a BOM (so Chinese opens right),
CRLF line ends, the Chinese headers, and text that a spreadsheet would run as a
formula written as text (`grids.files.escape_csv`, the directory export's rule)."""

from __future__ import annotations

import csv
import io
from typing import Any

from grids.files import escape_csv
from insight.model import Table

BOM = "\ufeff"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return escape_csv(value)
    return value


def csv_text(report: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.label for c in report.columns])
    writer.writerows([_cell(v) for v in row] for row in report.rows)
    return BOM + out.getvalue()


def csv_bytes(report: Table) -> bytes:
    return csv_text(report).encode("utf-8")


def filename(report: Table) -> str:
    return f"{report.name}.csv"

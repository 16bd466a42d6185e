"""Import and export of the directory's spreadsheets.

An import reads every row, checks each cell and every reference (against the
rows being imported and what the database already holds), and only when nothing
is wrong upserts it all in one transaction. Any problem raises `InvalidGridFile`
with every error found, and the database is left as it was.

What the database itself enforces is checked per row first, so it is reported
with file, line and column rather than as an IntegrityError: the length of every
text column (taken from `grids.model`, see `STORED`) and the unique keys of the
child tables (an alias twice in one estate, an estate twice in one grid's
coverage); duplicate codes and group ids across rows are found by `_merge`.
File-level rules (size cap, encodings, formula cells, formula escaping) are in
`grids.files`.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from grids import repository
from grids.directory import Directory, DirectoryError, Grid
from grids.files import RawSheet, read_path, write_csv, write_xlsx
from grids.model import (
    ChatGroupRow,
    CommunityRow,
    CoordinatorAccountRow,
    CoordinatorRow,
    CoverageRow,
    EstateAliasRow,
    EstateRow,
    GridRow,
    MetaRow,
    OfficeRow,
    StreetRow,
)
from grids.tables import (
    ACCOUNT_COLUMNS,
    SHEETS,
    CellError,
    Located,
    Sheet,
    cell_text,
    parse_sheet,
    write_rows,
)

logger = logging.getLogger(__name__)

NOTE = "note"
MAX_REPORTED = 200


class InvalidGridFile(DirectoryError):
    def __init__(self, errors: Sequence[CellError]) -> None:
        self.errors = list(errors)
        shown = "\n".join(str(e) for e in self.errors[:MAX_REPORTED])
        more = len(self.errors) - MAX_REPORTED
        tail = f"\n……另有 {more} 处错误" if more > 0 else ""
        super().__init__(f"导入失败，共 {len(self.errors)} 处错误，数据库未作任何修改：\n{shown}{tail}")


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    updated: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    revision: int = 0

    def summary(self) -> str:
        titles = {s.kind: s.title for s in SHEETS}
        parts = [f"{titles[k]} 新增{self.created.get(k, 0)} 更新{self.updated.get(k, 0)}"
                 f" 未变{self.unchanged.get(k, 0)}"
                 for k in titles if self.created.get(k) or self.updated.get(k)
                 or self.unchanged.get(k)]
        return "导入成功：" + ("；".join(parts) or "没有数据行") + f"（版本 {self.revision}）"


def _key(kind: str, record: Any) -> Any:
    return record.key if kind == "groups" else record.code


# The model column that stores each sheet column holding text; its length is the limit.
# Columns the importer fills itself (child keys, account platforms, opening hours) and
# JSON or Text columns have no entry.
STORED: dict[str, dict[str, Any]] = {
    "streets": {"code": StreetRow.code, "name": StreetRow.name, "district": StreetRow.district},
    "communities": {"code": CommunityRow.code, "name": CommunityRow.name,
                    "street": CommunityRow.street_code},
    "coordinators": {"code": CoordinatorRow.code, "name": CoordinatorRow.name,
                     "phone": CoordinatorRow.phone,
                     **{key: CoordinatorAccountRow.account_id for key, _ in ACCOUNT_COLUMNS}},
    "offices": {"code": OfficeRow.code, "name": OfficeRow.name, "level": OfficeRow.level,
                "address": OfficeRow.address, "phone": OfficeRow.phone,
                "street": OfficeRow.street_code, "community": OfficeRow.community_code},
    "estates": {"code": EstateRow.code, "name": EstateRow.name,
                "community": EstateRow.community_code, "aliases": EstateAliasRow.alias},
    "grids": {"code": GridRow.code, "name": GridRow.name, "community": GridRow.community_code,
              "coordinator": GridRow.coordinator_code, "office": GridRow.office_code,
              "coverage": CoverageRow.estate_code},
    "groups": {"platform": ChatGroupRow.platform, "external_id": ChatGroupRow.external_id,
               "name": ChatGroupRow.name, "grid": ChatGroupRow.grid_code,
               "send_via": ChatGroupRow.send_via},
}
LIMITS: dict[str, dict[str, int]] = {
    kind: {key: column.type.length for key, column in columns.items()}
    for kind, columns in STORED.items()}
SHOWN = 12


def _stored_values(kind: str, key: str, record: Any) -> tuple[str, ...]:
    """The values column `key` puts into the database: one, or one per list item."""
    if (kind, key) == ("estates", "aliases"):
        return tuple(record.aliases)
    if (kind, key) == ("grids", "coverage"):
        return tuple(part.estate_code for part in record.coverage)
    return (cell_text(kind, key, record),)


def _check_lengths(sheet: Sheet, item: Located, errors: list[CellError]) -> None:
    for key, limit in LIMITS[sheet.kind].items():
        for value in _stored_values(sheet.kind, key, item.record):
            if len(value) > limit:
                shown = (f"“{value[:SHOWN]}…”" if key in ("aliases", "coverage") else "")
                errors.append(item.error(sheet, key,
                                         f"{shown}太长：{len(value)} 个字，最多 {limit} 个字"))


def _repeated(values: Sequence[str]) -> list[str]:
    return [value for value, count in Counter(values).items() if count > 1]


def _check_unique(sheet: Sheet, item: Located, errors: list[CellError]) -> None:
    """The unique keys of the child tables: (estate, alias) and (grid, estate)."""
    if sheet.kind == "estates":
        for alias in _repeated(item.record.aliases):
            errors.append(item.error(sheet, "aliases", f"别名“{alias}”重复了"))
    elif sheet.kind == "grids":
        for code in _repeated([part.estate_code for part in item.record.coverage]):
            errors.append(item.error(sheet, "coverage",
                                     f"小区编码“{code}”出现了不止一次，同一小区的楼栋请写在一项里，"
                                     f"如 {code}:1-6,9"))


def check_stored(sheet: Sheet, located: Sequence[Located], errors: list[CellError]) -> None:
    """Check each parsed row against what the database enforces (lengths, unique keys)."""
    for item in located:
        _check_lengths(sheet, item, errors)
        _check_unique(sheet, item, errors)


def _parse(raw: RawSheet, errors: list[CellError]) -> list[Located]:
    before = len(errors)
    located = parse_sheet(raw.sheet, raw.source, raw.header_line, raw.header, raw.rows, errors)
    # A formula cell is already reported as such; its follow-ups ("不能为空") are noise.
    errors[before:] = [e for e in errors[before:]
                       if (e.line, e.column) not in raw.formula_cells]
    check_stored(raw.sheet, located, errors)
    return located


def read_incoming(path: Path, max_bytes: int | None = None,
                  ) -> tuple[dict[str, list[Located]], str | None, list[CellError]]:
    """Parse every sheet under `path`; returns located records per kind, the note, errors.

    Files bigger than `max_bytes` (default `grids.files.MAX_FILE_BYTES`) are refused unread.
    """
    errors: list[CellError] = []
    incoming: dict[str, list[Located]] = defaultdict(list)
    note: str | None = None
    for raw in read_path(path, errors, max_bytes):
        if raw.note and note is None:
            note = "\n".join(raw.note)
        if not raw.header:
            continue
        incoming[raw.sheet.kind].extend(_parse(raw, errors))
    return incoming, note, errors


def _merge(existing: Directory, incoming: dict[str, list[Located]],
           errors: list[CellError]) -> Directory:
    merged = Directory(**{s.kind: dict(getattr(existing, s.kind)) for s in SHEETS})
    sheets = {s.kind: s for s in SHEETS}
    for kind, located in incoming.items():
        seen: dict[Any, Located] = {}
        target = getattr(merged, kind)
        for item in located:
            key = _key(kind, item.record)
            if key in seen:
                field_key = "external_id" if kind == "groups" else "code"
                errors.append(item.error(sheets[kind], field_key,
                                         f"与 {seen[key].source} 第{seen[key].line}行重复"))
                continue
            seen[key] = item
            target[key] = item.record
    return merged


def validate(merged: Directory, incoming: dict[str, list[Located]], errors: list[CellError]) -> None:
    """Check every reference of the incoming rows against the merged directory."""
    sheets = {s.kind: s for s in SHEETS}

    def need(item: Located, kind: str, key: str, code: str | None, table: dict[str, Any],
             what: str) -> None:
        if code and code not in table:
            errors.append(item.error(sheets[kind], key, f"{what}“{code}”不存在"))

    for item in incoming.get("communities", []):
        need(item, "communities", "street", item.record.street_code, merged.streets, "街道编码")
    for item in incoming.get("estates", []):
        need(item, "estates", "community", item.record.community_code, merged.communities, "社区编码")
    for item in incoming.get("offices", []):
        need(item, "offices", "street", item.record.street_code, merged.streets, "街道编码")
        need(item, "offices", "community", item.record.community_code, merged.communities, "社区编码")
    for item in incoming.get("grids", []):
        grid: Grid = item.record
        need(item, "grids", "community", grid.community_code, merged.communities, "社区编码")
        need(item, "grids", "coordinator", grid.coordinator_code, merged.coordinators, "网格员编码")
        need(item, "grids", "office", grid.office_code, merged.offices, "服务站编码")
        for part in grid.coverage:
            estate = merged.estates.get(part.estate_code)
            if estate is None:
                errors.append(item.error(sheets["grids"], "coverage",
                                         f"小区编码“{part.estate_code}”不存在"))
                continue
            unknown = [b for b in part.buildings if estate.buildings and b not in estate.buildings]
            if unknown:
                errors.append(item.error(sheets["grids"], "coverage",
                                         f"{estate.name}没有 {'、'.join(unknown)} 号楼"))
    for item in incoming.get("groups", []):
        need(item, "groups", "grid", item.record.grid_code, merged.grids, "网格编码")
    _check_overlaps(merged, incoming, errors)


def _check_overlaps(merged: Directory, incoming: dict[str, list[Located]],
                    errors: list[CellError]) -> None:
    """Two grids may split an estate by buildings, but must not cover the same building."""
    grid_rows = {item.record.code: item for item in incoming.get("grids", [])}
    sheet = next(s for s in SHEETS if s.kind == "grids")
    owners: dict[tuple[str, str], str] = {}
    for grid in merged.grids.values():
        for part in grid.coverage:
            estate = merged.estates.get(part.estate_code)
            buildings = part.buildings or (estate.buildings if estate and estate.buildings
                                           else ("*",))
            clash = next((other for b in buildings
                          if (other := owners.setdefault((part.estate_code, b), grid.code))
                          != grid.code), None)
            located = grid_rows.get(grid.code) or (grid_rows.get(clash) if clash else None)
            if clash and located is not None:
                name = estate.name if estate else part.estate_code
                other_code = clash if located.record.code == grid.code else grid.code
                errors.append(located.error(sheet, "coverage",
                                            f"{name}的楼栋与网格 {other_code} 的覆盖范围重叠"))


def _plan(session: Session, path: Path, max_bytes: int | None
          ) -> tuple[Directory, ImportReport, str | None, list[CellError]]:
    """Read and check everything under `path` against the database in `session`:
    the part of the directory to write, what it would create/update, the note and
    every error found (nothing is written here)."""
    incoming, note, errors = read_incoming(path, max_bytes)
    if not errors and not any(incoming.values()):
        errors.append(CellError(path.name, 0, 0, "", "没有找到任何数据行"))
    existing = repository.load(session)
    merged = _merge(existing, incoming, errors)
    validate(merged, incoming, errors)
    report = ImportReport()
    part = Directory()
    for kind, located in incoming.items():
        stored = getattr(existing, kind)
        for item in located:
            key = _key(kind, item.record)
            if key not in stored:
                report.created[kind] += 1
            elif stored[key] == item.record:
                report.unchanged[kind] += 1   # nothing to write
                continue
            else:
                report.updated[kind] += 1
            getattr(part, kind)[key] = item.record
    return part, report, note, errors


@dataclass
class ImportPreview:
    """What importing `path` would do, without doing it: every error (file, line,
    column, reason), or the counts of what would be created, updated, left alone."""

    errors: list[CellError]
    report: ImportReport

    @property
    def ok(self) -> bool:
        return not self.errors


def preview_path(engine: Engine, path: Path, max_bytes: int | None = None) -> ImportPreview:
    """Check an import exactly as `import_path` would, writing nothing."""
    with Session(engine, future=True) as session:
        _, report, _, errors = _plan(session, path, max_bytes)
        report.revision = repository.revision(session)
    return ImportPreview(errors, report)


def import_path(engine: Engine, path: Path, max_bytes: int | None = None) -> ImportReport:
    """Validate everything under `path`, then upsert it in one transaction."""
    with Session(engine, future=True) as session, session.begin():
        part, report, note, errors = _plan(session, path, max_bytes)
        if errors:
            raise InvalidGridFile(errors)
        changed = any(report.created.values()) or any(report.updated.values())
        # An unchanged re-import keeps the revision, so caches built on it stay valid.
        report.revision = (repository.upsert(session, part) if changed
                           else repository.revision(session))
        if note:
            row = session.get(MetaRow, NOTE) or MetaRow(key=NOTE)
            row.value = note
            session.add(row)
    logger.info("Imported %s: created %s, updated %s", path.name, dict(report.created),
                dict(report.updated))
    return report


def export_tables(directory: Directory) -> list[tuple[Sheet, list[list[str]]]]:
    return [(sheet, write_rows(sheet, sorted(getattr(directory, sheet.kind).values(),
                                             key=lambda r: _key(sheet.kind, r))))
            for sheet in SHEETS]


def export_dir(engine: Engine, target: Path, fmt: str = "csv") -> list[Path]:
    """Write the whole directory to `target` as CSV files or one workbook."""
    with Session(engine, future=True) as session:
        directory = repository.load(session)
        row = session.get(MetaRow, NOTE)
        note = row.value if row else None
    return write_directory(directory, target, fmt, note)


def write_directory(directory: Directory, target: Path, fmt: str = "csv",
                    note: str | None = None) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    tables = export_tables(directory)
    if fmt == "xlsx":
        path = target / "directory.xlsx"
        write_xlsx(path, tables, note)
        return [path]
    paths = []
    for sheet, rows in tables:
        path = target / f"{sheet.kind}.csv"
        write_csv(path, sheet, rows, note)
        paths.append(path)
    return paths

"""`cloud-doctor grids ...`: import, export, show, lookup, seed, generate, migrate.

`register(subparsers)` adds the command group to bot.cli's parser; every command
is `cmd(settings, args) -> exit code`. Errors are Chinese, on stderr, with the
exit codes below; results go to stdout (JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grids.directory import DirectoryError, GridNotFound, view_of
from grids.generator import SAMPLE_DIR

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INVALID_FILE = 5
EXIT_NOT_FOUND = 6


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    print(f"错误: {message}", file=sys.stderr)
    return code


def _path(text: str) -> Path:
    """Resolve at parse time: bot.cli changes into the project directory afterwards."""
    return Path(text).expanduser().resolve()


def _engine(settings: Any, migrate: bool = True) -> Any:
    from grids import db

    engine = db.create(settings.database_url)
    if migrate:
        db.upgrade(engine)
    return engine


def cmd_migrate(settings: Any, args: argparse.Namespace) -> int:
    from grids import db

    engine = _engine(settings)
    print(f"网格目录数据库已是最新版本（{db.current_revision(engine)}）")
    return 0


def _import(settings: Any, path: Path) -> int:
    from sqlalchemy.exc import DataError, IntegrityError

    from grids.importer import InvalidGridFile, import_path

    try:
        report = import_path(_engine(settings), path)
    except InvalidGridFile as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID_FILE
    except OSError as exc:
        return _fail(f"无法读取 {exc.filename or path}：{exc.strerror or exc}")
    except (IntegrityError, DataError) as exc:  # a constraint the row checks missed
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return _fail(f"数据库拒绝了这次导入，数据库未作任何修改：{reason}", EXIT_INVALID_FILE)
    print(report.summary())
    return 0


def cmd_import(settings: Any, args: argparse.Namespace) -> int:
    return _import(settings, args.path)


def cmd_seed(settings: Any, args: argparse.Namespace) -> int:
    if args.districts is None:
        return _import(settings, SAMPLE_DIR)
    import tempfile

    from grids.generator import NOTE, generate
    from grids.importer import write_directory

    with tempfile.TemporaryDirectory() as tmp:
        write_directory(generate(args.seed, args.districts), Path(tmp), "csv", NOTE)
        return _import(settings, Path(tmp))


def cmd_generate(settings: Any, args: argparse.Namespace) -> int:
    from grids.generator import NOTE, generate
    from grids.importer import write_directory

    directory = generate(args.seed, args.districts)
    for path in write_directory(directory, args.dir, args.format, NOTE):
        print(path)
    return 0


def cmd_export(settings: Any, args: argparse.Namespace) -> int:
    from grids.importer import export_dir

    try:
        paths = export_dir(_engine(settings), args.dir, args.format)
    except OSError as exc:
        return _fail(f"无法写入 {args.dir}：{exc.strerror or exc}")
    for path in paths:
        print(path)
    return 0


def cmd_show(settings: Any, args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from core.clock import shanghai_now
    from grids import repository
    from grids.replies import grid_card, office_card

    with Session(_engine(settings), future=True) as session:
        directory = repository.load(session)
    try:
        view = view_of(directory, args.code)
    except GridNotFound as exc:
        return _fail(str(exc), EXIT_NOT_FOUND)
    groups = [g for g in directory.groups.values() if g.grid_code == view.grid.code]
    if args.json:
        data = {"grid": asdict(view.grid), "community": _dict(view.community),
                "street": _dict(view.street), "office": _dict(view.office),
                "coordinator": _dict(view.coordinator), "groups": [asdict(g) for g in groups]}
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"{view.grid.code}  {grid_card(view, view.office, from_group=False)}")
    for part in view.grid.coverage:
        estate = directory.estates.get(part.estate_code)
        name = estate.name if estate else f"（缺失的小区 {part.estate_code}）"
        scope = "、".join(part.buildings) + "号楼" if part.buildings else "全部楼栋"
        print(f"覆盖：{name}（{scope}）")
    for group in groups:
        print(f"群聊：{group.platform} {group.external_id} {group.name}（{group.send_via}）")
    if view.office is not None:
        print(office_card(view.office, shanghai_now()))
    return 0


def _dict(value: Any) -> Any:
    return asdict(value) if value is not None else None


def _format(resolution: Any) -> str:
    labels = {"resolved": "已确定", "ambiguous": "需要确认", "not_found": "没有找到"}
    lines = [f"{resolution.query} → {labels[resolution.status]}"]
    if resolution.question:
        lines.append(f"  {resolution.question}")
    for rank, c in enumerate(resolution.candidates, start=1):
        target = f"{c.grid_name} [{c.grid_code}]" if c.grid_code else f"{c.community_name or c.street_name}"
        building = f" {c.building}号楼" if c.building else ""
        lines.append(f"  {rank}. {target} 置信度 {c.confidence:.2f}")
        lines.append(f"     小区：{c.estate_name or '-'}{building}｜社区：{c.community_name or '-'}"
                     f"｜街道：{c.street_name or '-'}｜服务站：{c.office_name or '-'}")
    return "\n".join(lines)


def cmd_lookup(settings: Any, args: argparse.Namespace) -> int:
    from grids.service import DirectoryService

    try:
        service = DirectoryService(_engine(settings, migrate=False))
        service.snapshot()
    except DirectoryError as exc:
        return _fail(str(exc))
    queries = [args.text] if args.text is not None else (
        line.rstrip("\n") for line in sys.stdin)
    found_any = False
    for text in queries:
        if not text.strip():
            continue
        resolution = service.resolve(text)
        found_any = found_any or resolution.status != "not_found"
        if args.json:
            print(json.dumps(resolution.as_dict(), ensure_ascii=False), flush=True)
        else:
            print(_format(resolution), flush=True)
    return 0 if found_any or args.text is None else EXIT_NOT_FOUND


def register(subparsers: Any) -> None:
    """Add `grids` and its subcommands to the `cloud-doctor` parser."""
    grids = subparsers.add_parser("grids", help="grid directory: import, export, show, lookup")
    sub = grids.add_subparsers(dest="grids_command", required=True)

    p = sub.add_parser("import", help="import CSV/XLSX files (all-or-nothing, upsert by code)")
    p.add_argument("path", type=_path, help="a .csv, an .xlsx or a directory of them")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="write the directory back in the import format")
    p.add_argument("dir", type=_path)
    p.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("show", help="one grid with its office, coordinator and groups")
    p.add_argument("code")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("lookup", help="resolve an address to grids; one per stdin line if omitted")
    p.add_argument("text", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_lookup)

    p = sub.add_parser("seed", help="import the committed fictitious sample (grids/sample)")
    p.add_argument("--districts", type=int, help="generate this many districts instead")
    p.add_argument("--seed", type=int, default=20240501)
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("generate", help="write a generated fictitious directory to DIR")
    p.add_argument("dir", type=_path)
    p.add_argument("--districts", type=int, default=1)
    p.add_argument("--seed", type=int, default=20240501)
    p.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("migrate", help="create or upgrade the directory's tables")
    p.set_defaults(func=cmd_migrate)

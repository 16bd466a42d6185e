"""The grid directory: search, a grid / community / office with opening hours and
chat groups (never their send addresses: they hold robot keys), importing a
spreadsheet with a preview of every row error before anything is written and then
all-or-nothing, and exporting. Coordinators see only their grids, street staff
their street's."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from console import nav, uploads
from console.permissions import Perm
from console.routing import Routes
from console.scope import Scope
from console.web import account, audit, console_of, off_loop, render, scope
from grids.directory import Directory, DirectoryError, Grid, view_of
from grids.files import MAX_FILE_BYTES
from grids.hours import WEEKDAYS, format_day
from grids.importer import InvalidGridFile, export_dir, import_path, preview_path
from grids.tables import SHEETS

routes = Routes()
MAX_RESULTS = 100
TITLES = {s.kind: s.title for s in SHEETS}


def _directory(request: web.Request) -> Directory:
    try:
        return console_of(request).directory.snapshot().directory
    except DirectoryError as exc:
        raise web.HTTPNotFound(text=str(exc)) from None


def _grids_in_scope(directory: Directory, seen: Scope) -> list[Grid]:
    return [g for code, g in sorted(directory.grids.items()) if seen.sees_grid(code)]


def _row(directory: Directory, grid: Grid) -> dict[str, Any]:
    view = view_of(directory, grid.code)
    groups = [g for g in directory.groups.values() if g.grid_code == grid.code]
    return {"grid": grid, "community": view.community, "street": view.street,
            "coordinator": view.coordinator, "office": view.office, "groups": len(groups)}


def _matches(directory: Directory, grid: Grid, needle: str) -> bool:
    view = view_of(directory, grid.code)
    texts = [grid.code, grid.name, view.community.name if view.community else "",
             view.street.name if view.street else "",
             view.coordinator.name if view.coordinator else ""]
    for part in grid.coverage:
        estate = directory.estates.get(part.estate_code)
        if estate is not None:
            texts += [estate.name, *estate.aliases]
    return any(needle in t.lower() for t in texts if t)


@routes.get("/grids", Perm.GRIDS_VIEW)
async def search(request: web.Request) -> web.StreamResponse:
    directory, seen = _directory(request), await scope(request)
    q = request.query.get("q", "").strip()[:60]
    grids = _grids_in_scope(directory, seen)
    hits: list[Grid] = []
    resolved = None
    if q:
        needle = q.lower()
        hits = [g for g in grids if _matches(directory, g, needle)]
        if not hits:   # an address as residents write it: 我住联盟小区5号楼
            resolution = await off_loop(console_of(request).directory.resolve, q)
            codes = [c.grid_code for c in resolution.candidates if c.grid_code]
            hits = [directory.grids[c] for c in codes if c in directory.grids
                    and seen.sees_grid(c)]
            resolved = resolution if hits else None
    communities: dict[str, list[Grid]] = {}
    if not q:
        for grid in grids:
            communities.setdefault(grid.community_code, []).append(grid)
    me = account(request)
    return render(request, "grids.html", {
        "q": q, "rows": [_row(directory, g) for g in hits[:MAX_RESULTS]], "more": len(hits) -
        MAX_RESULTS, "resolved": resolved, "communities": communities, "d": directory,
        "can_import": me.may(Perm.GRIDS_IMPORT), "can_export": me.may(Perm.GRIDS_EXPORT),
        "counts": directory.counts(), "in_scope": len(grids)})


def _hours(office: Any) -> list[tuple[str, str]]:
    return [(WEEKDAYS[i], format_day(day)) for i, day in enumerate(office.hours)]


# --- import and export (before /grids/{code}) ---------------------------------------------
@routes.get("/grids/import", Perm.GRIDS_IMPORT)
async def import_form(request: web.Request) -> web.StreamResponse:
    return render(request, "import.html", {"stage": "choose", "error": "",
                                           "max_mb": MAX_FILE_BYTES // (1024 * 1024)})


async def _receive(request: web.Request) -> uploads.Upload:
    """The uploaded file, written to its own folder, at most MAX_FILE_BYTES."""
    reader = request.get("console.multipart")
    if reader is None:
        raise uploads.UploadError("请选择要导入的文件")
    part = await reader.next()
    while part is not None and getattr(part, "name", None) != "file":
        part = await reader.next()
    if not isinstance(part, BodyPartReader) or not part.filename:
        raise uploads.UploadError("请选择要导入的文件")
    root = console_of(request).uploads
    upload = await off_loop(uploads.new, root, part.filename, account(request).username)
    size = 0
    try:
        with upload.path.open("wb") as out:
            while chunk := await part.read_chunk(256 * 1024):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise uploads.UploadError(f"文件超过导入上限 {MAX_FILE_BYTES // (1024 * 1024)} MB，"
                                              "请拆分后分批导入")
                out.write(chunk)
    except BaseException:
        uploads.discard(upload)
        raise
    if size == 0:
        uploads.discard(upload)
        raise uploads.UploadError("上传的文件是空的")
    return upload


@routes.post("/grids/import", Perm.GRIDS_IMPORT)
async def import_preview(request: web.Request) -> web.StreamResponse:
    try:
        upload = await _receive(request)
    except uploads.UploadError as exc:
        return render(request, "import.html", {"stage": "choose", "error": str(exc),
                                               "max_mb": MAX_FILE_BYTES // (1024 * 1024)},
                      status=400)
    found = await off_loop(preview_path, console_of(request).engine, upload.path)
    if not found.ok:
        uploads.discard(upload)   # nothing to apply: the file is not kept
    return render(request, "import.html", {
        "stage": "preview", "error": "", "upload": upload, "preview": found, "titles": TITLES,
        "max_mb": MAX_FILE_BYTES // (1024 * 1024)}, status=200 if found.ok else 422)


@routes.post("/grids/import/apply", Perm.GRIDS_IMPORT)
async def import_apply(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    root, me = console_of(request).uploads, account(request)
    context: dict[str, Any] = {"max_mb": MAX_FILE_BYTES // (1024 * 1024), "titles": TITLES}
    try:
        upload = await off_loop(uploads.find, root, str(form.get("token", "")), me.username)
    except uploads.UploadError as exc:
        return render(request, "import.html", {**context, "stage": "choose", "error": str(exc)},
                      status=400)
    try:
        report = await off_loop(import_path, console_of(request).engine, upload.path)
    except InvalidGridFile as exc:   # the directory changed since the preview
        found = await off_loop(preview_path, console_of(request).engine, upload.path)
        uploads.discard(upload)
        return render(request, "import.html", {**context, "stage": "preview", "error":
                                               "导入前再次检查发现错误，数据库未作任何修改",
                                               "upload": upload, "preview": found,
                                               "errors": exc.errors}, status=422)
    uploads.discard(upload)
    await audit(request, "grids.import", upload.filename, report.summary())
    return render(request, "import.html", {**context, "stage": "done", "error": "",
                                           "summary": report.summary(), "upload": upload})


@routes.get("/grids/export", Perm.GRIDS_EXPORT)
async def export(request: web.Request) -> web.StreamResponse:
    fmt = request.query.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise web.HTTPBadRequest(text="导出格式应为 xlsx 或 csv")
    engine = console_of(request).engine

    def build() -> tuple[bytes, str, str]:
        with tempfile.TemporaryDirectory() as folder:
            paths = export_dir(engine, Path(folder), fmt)
            if fmt == "xlsx":
                return paths[0].read_bytes(), "网格目录.xlsx", (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in paths:
                    archive.write(path, path.name)
            return buffer.getvalue(), "网格目录.zip", "application/zip"

    data, name, content_type = await off_loop(build)
    await audit(request, "grids.export", name, fmt)
    from urllib.parse import quote

    return web.Response(body=data, content_type=content_type, headers={
        "Content-Disposition": f"attachment; filename=\"directory.{fmt if fmt == 'xlsx' else 'zip'}\"; "
                               f"filename*=UTF-8''{quote(name)}"})


# --- details --------------------------------------------------------------------------------
@routes.get("/grids/{code}", Perm.GRIDS_VIEW)
async def grid(request: web.Request) -> web.StreamResponse:
    directory, seen = _directory(request), await scope(request)
    code = request.match_info["code"][:32]
    if code not in directory.grids or not seen.sees_grid(code):
        raise web.HTTPNotFound(text=f"没有找到网格 {code}，或它不在您负责的范围内")
    view = view_of(directory, code)
    estates = [(directory.estates.get(c.estate_code), c) for c in view.grid.coverage]
    groups = sorted((g for g in directory.groups.values() if g.grid_code == code),
                    key=lambda g: (g.platform, g.name))
    return render(request, "grid.html", {"v": view, "estates": estates, "groups": groups,
                                         "hours": _hours(view.office) if view.office else []})


@routes.get("/communities/{code}", Perm.GRIDS_VIEW)
async def community(request: web.Request) -> web.StreamResponse:
    directory, seen = _directory(request), await scope(request)
    code = request.match_info["code"][:32]
    found = directory.communities.get(code)
    grids = [g for g in _grids_in_scope(directory, seen) if g.community_code == code]
    if found is None or not grids and not seen.everything:
        raise web.HTTPNotFound(text=f"没有找到社区 {code}，或它不在您负责的范围内")
    offices = [o for o in directory.offices.values() if o.community_code == code]
    return render(request, "community.html", {
        "c": found, "street": directory.streets.get(found.street_code),
        "rows": [_row(directory, g) for g in grids], "offices": offices})


@routes.get("/offices/{code}", Perm.GRIDS_VIEW)
async def office(request: web.Request) -> web.StreamResponse:
    directory, seen = _directory(request), await scope(request)
    code = request.match_info["code"][:32]
    found = directory.offices.get(code)
    if found is None:
        raise web.HTTPNotFound(text=f"没有找到服务站 {code}")
    served = [g for g in _grids_in_scope(directory, seen) if g.office_code == code]
    return render(request, "office.html", {
        "o": found, "hours": _hours(found), "grids": served,
        "street": directory.streets.get(found.street_code or ""),
        "community": directory.communities.get(found.community_code or "")})


def setup(app: web.Application) -> None:
    routes.add_to(app)
    nav.register(app, nav.NavItem("grids", "网格目录", "/grids", Perm.GRIDS_VIEW, order=30))

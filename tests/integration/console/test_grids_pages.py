"""The grid directory's pages: search within the viewer's scope, a grid without its
robots' send addresses, importing with a preview of every row error (nothing
written) then all-or-nothing, an upload nobody else can apply, exporting."""

from __future__ import annotations

import io
import re
import zipfile

import aiohttp
import openpyxl
import pytest
from sqlalchemy.orm import Session

from bot.compose import open_engine
from console.audit import AuditLog
from grids import repository
from tests.integration.console.conftest import OTHER_GRID, OWN_GRID, Browser, Desk

pytestmark = pytest.mark.asyncio(loop_scope="module")
BROKEN = ("街道编码,街道名称,所属区县\n"
          "D001-S01,联盟街道,示例区\n"
          ",无编码街道,示例区\n"
          "D001-S77,新街道,\n")
GOOD = "社区编码,社区名称,街道编码\nD001-S01-C99,新建社区,D001-S01\n"


def _revision(desk: Desk) -> int:
    with Session(open_engine(desk.settings), future=True) as session:
        return repository.revision(session)


async def _upload(browser: Browser, name: str, content: bytes,
                  csrf: str | None = None) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("_csrf", browser.csrf if csrf is None else csrf)
    form.add_field("file", content, filename=name, content_type="text/csv")
    async with browser.client.post("/grids/import", data=form, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def test_search_and_details_within_scope(desk: Desk) -> None:
    browser = await desk.browser("coordinator")
    status, text, _ = await browser.get("/grids?q=福景")
    assert status == 200 and OWN_GRID in text and "D001-S01-C01-G05" not in text
    status, text, _ = await browser.get(f"/grids/{OWN_GRID}")
    assert status == 200 and "开放时间" in text and "群聊" in text
    assert "webhook" not in text and "key=" not in text    # robots' keys stay hidden
    assert (await browser.get(f"/grids/{OTHER_GRID}"))[0] == 404
    district = await desk.browser("district")
    status, text, _ = await district.get("/grids?q=D001-S02-C01-G01")
    assert status == 200 and OTHER_GRID in text


async def test_a_broken_spreadsheet_shows_every_row_error_and_writes_nothing(desk: Desk) -> None:
    browser = await desk.browser("district")
    before = _revision(desk)
    status, text = await _upload(browser, "streets.csv", BROKEN.encode("utf-8"))
    assert status == 422
    assert "共 2 处错误，数据库未作任何修改" in text
    assert re.search(r"<td>streets.csv</td><td>3</td><td>1（街道编码）</td><td>[^<]*不能为空", text)
    assert re.search(r"<td>streets.csv</td><td>4</td><td>3（所属区县）</td>", text)
    assert "确认导入" not in text
    assert _revision(desk) == before


async def test_a_good_spreadsheet_is_previewed_then_applied(desk: Desk) -> None:
    browser = await desk.browser("district")
    before = _revision(desk)
    status, text = await _upload(browser, "社区.csv", GOOD.encode("gbk"))
    assert status == 200, re.findall(r"<tr><td>.*?</tr>", text)
    assert "检查通过" in text and "社区：新增 1，更新 0，未变 0" in text
    assert _revision(desk) == before                    # the preview wrote nothing
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    other = await desk.browser("admin")                 # nobody else can apply it
    status, text, _ = await other.post("/grids/import/apply", {"token": token})
    assert status == 400 and "已过期或已导入" in text and _revision(desk) == before
    status, text, _ = await browser.post("/grids/import/apply", {"token": token})
    assert status == 200 and "导入成功" in text
    assert _revision(desk) == before + 1
    status, text, _ = await browser.post("/grids/import/apply", {"token": token})
    assert status == 400                                # applied once only
    entries = AuditLog(open_engine(desk.settings)).latest(action="grids.import")
    assert entries[0].username == "district" and entries[0].target == "社区.csv"


async def test_upload_needs_the_csrf_token_and_a_spreadsheet(desk: Desk) -> None:
    browser = await desk.browser("district")
    status, text = await _upload(browser, "streets.csv", BROKEN.encode(), csrf="forged")
    assert status == 403 and "缺少安全令牌" in text
    status, text = await _upload(browser, "evil.exe", b"MZ")
    assert status == 400 and "只能导入 .csv 或 .xlsx 文件" in text
    status, text = await _upload(browser, "empty.csv", b"")
    assert status == 400 and "文件是空的" in text


async def test_export_xlsx_and_csv(desk: Desk) -> None:
    browser = await desk.browser("district")
    status, _, resp = await browser.get("/grids/export?format=xlsx")
    assert status == 200 and "attachment" in resp.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(browser.body))
    assert "网格" in workbook.sheetnames
    status, _, _ = await browser.get("/grids/export?format=csv")
    assert status == 200
    names = zipfile.ZipFile(io.BytesIO(browser.body)).namelist()
    assert "grids.csv" in names and "groups.csv" in names
    assert (await browser.get("/grids/export?format=pdf"))[0] == 400

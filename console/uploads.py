"""Spreadsheets held between the import's preview and its application: one folder
per upload under `DATA_DIR/console_uploads/<random token>/`, with the uploader's name,
removed once applied, or after `MAX_AGE` seconds. No web framework."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from core.settings import make_private

MAX_AGE = 3600.0
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
SUFFIXES = (".csv", ".xlsx")
OWNER = ".owner.json"


class UploadError(Exception):
    """The message is Chinese."""


@dataclass(frozen=True)
class Upload:
    token: str
    folder: Path
    filename: str

    @property
    def path(self) -> Path:
        return self.folder / self.filename


def safe_name(filename: str) -> str:
    """The file's own name without any folder, kept readable (Chinese allowed; some
    clients send it percent-encoded)."""
    name = Path(unquote(filename).replace("\\", "/")).name.strip().lstrip(".")
    name = re.sub(r"[\x00-\x1f/:*?\"<>|]", "_", name)[:120]
    if not name.lower().endswith(SUFFIXES):
        raise UploadError("只能导入 .csv 或 .xlsx 文件（Excel 请另存为“Excel 工作簿”或“CSV UTF-8”）")
    return name


def new(root: Path, filename: str, owner: str) -> Upload:
    make_private(root)
    sweep(root)
    token = secrets.token_urlsafe(24)
    folder = root / token
    folder.mkdir(mode=0o700)
    (folder / OWNER).write_text(json.dumps({"owner": owner, "at": time.time()}),
                                encoding="utf-8")
    return Upload(token, folder, safe_name(filename))


def find(root: Path, token: str, owner: str) -> Upload:
    if not TOKEN.match(token):
        raise UploadError("上传记录无效，请重新选择文件")
    folder = root / token
    try:
        meta = json.loads((folder / OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UploadError("上传的文件已过期或已导入，请重新选择文件") from None
    if meta.get("owner") != owner or time.time() - float(meta.get("at", 0)) > MAX_AGE:
        raise UploadError("上传的文件已过期或已导入，请重新选择文件")
    files = [p for p in folder.iterdir() if p.name != OWNER]
    if len(files) != 1:
        raise UploadError("上传的文件已过期或已导入，请重新选择文件")
    return Upload(token, folder, files[0].name)


def discard(upload: Upload) -> None:
    shutil.rmtree(upload.folder, ignore_errors=True)


def sweep(root: Path) -> None:
    now = time.time()
    for folder in root.iterdir() if root.is_dir() else ():
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > MAX_AGE:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue

"""Secrets the service generates for itself into DATA_DIR (the staff API's token, the
web chat's session key): created once, for the service's user only (0600), and the
same for every process that starts at the same time."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)


def read_or_create(path: Path, generate: Callable[[], str], what: str) -> str:
    """The secret in `path`, generated if the file is missing or empty. A new one is
    written under a temporary name and linked into place, so processes starting
    together agree on one and none reads a half-written file. A file readable by
    others is made private. The secret itself is never logged."""
    found = _read(path, what)
    if found:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():          # empty: replace it
        path.unlink()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, f"{generate()}\n".encode("ascii"))
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
        logger.info("%s generated into %s", what, path)
    except FileExistsError:
        pass  # another process was first: use its secret
    finally:
        temporary.unlink()
    return _read(path, what)


def _read(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    if value and stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
        logger.warning("%s file %s was readable by others; now mode 0600", what, path)
    return value

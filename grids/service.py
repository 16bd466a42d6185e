"""The directory as the assistant uses it: group → grid, text → grid, grid → office.

A `DirectoryService` keeps an in-memory snapshot (the `Directory` and its
`Resolver`) and reloads it when an import has bumped the revision, checking at
most every `refresh_seconds`. `service_for(url)` shares one service per database
URL inside a process; nothing is opened before the first question.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grids import db, repository
from grids.directory import (
    Directory,
    DirectoryEmpty,
    DirectoryError,
    GridView,
    UnionOffice,
    view_of,
)
from grids.lookup import Resolution, Resolver

logger = logging.getLogger(__name__)


class DirectoryUnavailable(DirectoryError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"网格目录暂时无法读取：{reason}")


@dataclass(frozen=True)
class Snapshot:
    revision: int
    directory: Directory
    resolver: Resolver


class DirectoryService:
    def __init__(self, engine: Engine, refresh_seconds: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 build: Callable[[Directory], Resolver] = Resolver) -> None:
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._build = build
        self._snapshot: Snapshot | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def _revision(self) -> int:
        with Session(self.engine, future=True) as session:
            return repository.revision(session)

    def snapshot(self) -> Snapshot:
        """The current directory; raises DirectoryUnavailable or DirectoryEmpty."""
        with self._lock:
            now = self._monotonic()
            if self._snapshot is not None and now - self._checked < self.refresh_seconds:
                return self._snapshot
            try:
                revision = self._revision()
                if self._snapshot is None or revision != self._snapshot.revision:
                    with Session(self.engine, future=True) as session:
                        directory = repository.load(session)
                    if directory.is_empty():
                        raise DirectoryEmpty()
                    self._snapshot = Snapshot(revision, directory, self._build(directory))
                    logger.info("Loaded grid directory revision %d: %s", revision,
                                directory.counts())
            except SQLAlchemyError as exc:
                logger.warning("Grid directory unavailable: %s", exc.__class__.__name__)
                if self._snapshot is None:
                    raise DirectoryUnavailable("数据库连接失败或尚未初始化") from exc
            self._checked = now
            return self._snapshot

    def group_view(self, platform: str, group_id: str) -> GridView | None:
        """The grid a chat group serves, or None for an unknown (or dangling) group."""
        directory = self.snapshot().directory
        group = directory.groups.get((platform, group_id))
        if group is None or group.grid_code not in directory.grids:
            if group is not None:
                logger.warning("Chat group %s/%s points at unknown grid %s", platform,
                               group_id, group.grid_code)
            return None
        return view_of(directory, group.grid_code)

    def resolve(self, text: str) -> Resolution:
        return self.snapshot().resolver.resolve(text)

    def grid_view(self, code: str) -> GridView:
        return view_of(self.snapshot().directory, code)

    def office(self, code: str | None) -> UnionOffice | None:
        return self.snapshot().directory.offices.get(code) if code else None

    def responsible_office(self, view: GridView) -> UnionOffice | None:
        """The grid's office, or the nearest one above it when the record is missing."""
        if view.office is not None:
            return view.office
        return self.snapshot().resolver.office_for(
            view.community.code if view.community else None,
            view.street.code if view.street else None)

    def district_office(self) -> UnionOffice | None:
        return self.snapshot().directory.district_office()


_services: dict[str, DirectoryService] = {}
_services_lock = threading.Lock()


def service_for(url: str) -> DirectoryService:
    """The process-wide service for a database URL (engine and snapshot shared)."""
    with _services_lock:
        service = _services.get(url)
        if service is None:
            service = DirectoryService(db.engine_for(url))
            _services[url] = service
        return service


def forget_services() -> None:
    """Drop cached services and engines (tests, and after changing DATABASE_URL)."""
    with _services_lock:
        _services.clear()
    db.dispose_all()


class InMemoryDirectoryService(DirectoryService):
    """The same service over a directory held in memory: tests, benchmarks, demos."""

    def __init__(self, directory: Directory, resolver: Resolver | None = None) -> None:
        self._fixed = Snapshot(0, directory, resolver or Resolver(directory))

    def snapshot(self) -> Snapshot:
        if self._fixed.directory.is_empty():
            raise DirectoryEmpty()
        return self._fixed

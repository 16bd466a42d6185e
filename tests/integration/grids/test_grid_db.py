"""Migrations, import/export and the service on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from grids import db, repository
from grids.importer import InvalidGridFile, export_dir, import_path
from grids.model import StreetRow, metadata
from grids.service import DirectoryService

STREETS = "街道编码,街道名称,所属区县\nS1,联盟街道,云溪区\nS2,明珠街道,云溪区\n"
COMMUNITIES = "社区编码,社区名称,街道编码\nC1,福景社区,S1\n"

SAMPLE = Path(__file__).resolve().parents[3] / "grids" / "sample"


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    return folder


def test_migrations_create_exactly_the_models(empty_url: str) -> None:
    engine = db.create(empty_url)
    assert db.current_revision(engine) == "0001"
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in diff if not (d[0] == "remove_table" and d[1].name == db.VERSION_TABLE)] == []
    db.downgrade(engine)
    assert not [t for t in inspect(engine).get_table_names() if t.startswith("grid_")]
    db.upgrade(engine)
    db.upgrade(engine)  # idempotent
    assert "grid_grids" in inspect(engine).get_table_names()
    engine.dispose()


def test_reimport_upserts_without_duplicates(empty_url: str) -> None:
    engine = db.create(empty_url)
    first = import_path(engine, SAMPLE)
    assert first.created["grids"] == 805 and not first.updated
    second = import_path(engine, SAMPLE)
    assert second.unchanged["grids"] == 805 and not second.created and not second.updated
    assert second.revision == first.revision  # nothing changed: caches stay valid
    with Session(engine, future=True) as session:
        directory = repository.load(session)
    assert directory.counts()["grids"] == 805 and directory.counts()["estates"] == 1468
    engine.dispose()


def test_broken_file_is_rejected_and_nothing_changes(empty_url: str, tmp_path: Path) -> None:
    engine = db.create(empty_url)
    import_path(engine, _write(tmp_path / "base", {"streets.csv": STREETS,
                                                    "communities.csv": COMMUNITIES}))
    broken = _write(tmp_path / "broken", {
        "streets.csv": "# 改名并新增\n街道编码,街道名称,所属区县\nS1,联盟街道（新）,云溪区\nS3,,云溪区\n",
        "communities.csv": "社区编码,社区名称,街道编码\nC2,泰峰社区,S9\nC1,福景社区,S1\n",
    })
    with pytest.raises(InvalidGridFile) as error:
        import_path(engine, broken)
    message = str(error.value)
    assert "streets.csv 第4行 第2列（街道名称）：不能为空" in message
    assert "communities.csv 第2行 第3列（街道编码）：街道编码“S9”不存在" in message
    assert "数据库未作任何修改" in message
    with Session(engine, future=True) as session:
        names = session.execute(select(StreetRow.name).order_by(StreetRow.code)).scalars().all()
        assert names == ["联盟街道", "明珠街道"] and repository.revision(session) == 1
    engine.dispose()


def test_partial_import_may_refer_to_stored_codes(empty_url: str, tmp_path: Path) -> None:
    engine = db.create(empty_url)
    import_path(engine, _write(tmp_path / "base", {"streets.csv": STREETS}))
    report = import_path(engine, _write(tmp_path / "more", {"communities.csv": COMMUNITIES}))
    assert report.created["communities"] == 1
    engine.dispose()


def test_export_is_lossless(seeded_url: str, tmp_path: Path) -> None:
    engine = db.create(seeded_url)
    for path in export_dir(engine, tmp_path / "csv"):
        assert path.read_bytes() == (SAMPLE / path.name).read_bytes(), path.name
    engine.dispose()


def test_changed_rows_are_updated_and_only_they(empty_url: str, tmp_path: Path) -> None:
    engine = db.create(empty_url)
    import_path(engine, _write(tmp_path / "a", {"streets.csv": STREETS}))
    changed = STREETS.replace("明珠街道", "明珠街道（更名）")
    report = import_path(engine, _write(tmp_path / "b", {"streets.csv": changed}))
    assert report.updated["streets"] == 1 and report.unchanged["streets"] == 1
    assert "更新1 未变1" in report.summary()
    engine.dispose()


def test_service_reads_groups_and_reloads_after_import(seeded_url: str) -> None:
    service = DirectoryService(db.create(seeded_url), refresh_seconds=0)
    directory = service.snapshot().directory
    group = next(iter(directory.groups.values()))
    view = service.group_view(group.platform, group.external_id)
    assert view is not None and view.grid.code == group.grid_code and view.office is not None
    assert service.group_view("wecom", "no-such-group") is None
    assert service.resolve("我住联盟小区5号楼").status == "resolved"
    assert service.snapshot() is service.snapshot()  # same revision: no rebuild
    service.engine.dispose()

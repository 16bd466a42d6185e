"""The fictitious grid directory with its groups' send addresses pointed at a
`FakeGroupPlatforms`, for the broadcaster's tests and benchmark."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from broadcast.db import upgrade_all
from grids import repository
from grids.directory import ChatGroup, Directory
from grids.generator import generate
from tests.fakes.broadcast import FakeGroupPlatforms


def pointed_at(fake: FakeGroupPlatforms, directory: Directory | None = None,
               platforms: Iterable[str] | None = None,
               one_per_grid: bool = False) -> Directory:
    """A copy of `directory` (the sample by default) whose robots are the fake's."""
    d = directory or generate()
    allowed = set(platforms) if platforms is not None else None
    groups: dict[tuple[str, str], ChatGroup] = {}
    seen_grids: set[str] = set()
    for key, group in sorted(d.groups.items(), key=lambda kv: (kv[1].grid_code, kv[0])):
        if allowed is not None and group.platform not in allowed:
            continue
        if one_per_grid and group.grid_code in seen_grids:
            continue
        seen_grids.add(group.grid_code)
        if group.send_via == "webhook":
            group = replace(group, send_target=fake.url(group.platform, group.external_id))
        groups[key] = group
    return Directory(streets=d.streets, communities=d.communities, estates=d.estates,
                     coordinators=d.coordinators, offices=d.offices, grids=d.grids,
                     groups=groups)


def seed(engine: Engine, directory: Directory) -> None:
    upgrade_all(engine)
    with Session(engine, future=True) as session, session.begin():
        repository.upsert(session, directory)

"""Reading and writing the directory with SQLAlchemy (the only module that maps rows).

`load(session)` returns the whole `Directory`; `upsert(session, directory)` writes
the entities of a (possibly partial) directory by code, replacing their children,
and bumps the directory's revision so caches know to reload. The caller owns the
transaction (`with Session.begin():`), which makes an import all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.directory import (
    ChatGroup,
    Community,
    Coordinator,
    Coverage,
    Directory,
    Estate,
    Grid,
    OfficeLevel,
    Street,
    UnionOffice,
)
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
    OfficeHoursRow,
    OfficeRow,
    StreetRow,
)

REVISION = "revision"


def revision(session: Session) -> int:
    row = session.get(MetaRow, REVISION)
    return int(row.value) if row else 0


def _bump(session: Session) -> int:
    row = session.get(MetaRow, REVISION)
    if row is None:
        row = MetaRow(key=REVISION, value="0")
        session.add(row)
    row.value = str(int(row.value) + 1)
    return int(row.value)


def load(session: Session) -> Directory:
    def rows(model: type) -> Iterable[Any]:
        return session.execute(select(model)).scalars()

    streets = [Street(r.code, r.name, r.district) for r in rows(StreetRow)]
    communities = [Community(r.code, r.name, r.street_code) for r in rows(CommunityRow)]
    estates = [Estate(r.code, r.name, r.community_code, tuple(a.alias for a in r.aliases),
                      tuple(r.buildings or ())) for r in rows(EstateRow)]
    coordinators = [Coordinator(r.code, r.name, r.phone,
                                {a.platform: a.account_id for a in r.accounts})
                    for r in rows(CoordinatorRow)]
    offices = [_office(r) for r in rows(OfficeRow)]
    grids = [Grid(r.code, r.name, r.community_code, r.coordinator_code, r.office_code,
                  tuple(Coverage(c.estate_code, tuple(c.buildings or ())) for c in r.coverage))
             for r in rows(GridRow)]
    groups = [ChatGroup(r.platform, r.external_id, r.name, r.grid_code, r.send_via,
                        r.send_target) for r in rows(ChatGroupRow)]
    return Directory.of(streets, communities, estates, coordinators, offices, grids, groups)


def _office(row: OfficeRow) -> UnionOffice:
    week: list[list[tuple[str, str]]] = [[] for _ in range(7)]
    for span in row.hours:
        week[span.weekday].append((span.opens, span.closes))
    return UnionOffice(
        code=row.code, name=row.name, level=OfficeLevel(row.level), address=row.address,
        phone=row.phone, hours=tuple(tuple(day) for day in week),
        services=tuple(row.services or ()), street_code=row.street_code,
        community_code=row.community_code, latitude=row.latitude, longitude=row.longitude,
    )


class _Rows:
    """Existing rows of one table for the keys being written, fetched in a few queries."""

    CHUNK = 500

    def __init__(self, session: Session, model: Any, keys: Iterable[Any]) -> None:
        self.session, self.model = session, model
        wanted = list(keys)
        self.rows: dict[Any, Any] = {}
        if model is ChatGroupRow:
            if wanted:
                for row in session.execute(select(model)).scalars():
                    self.rows[(row.platform, row.external_id)] = row
            return
        for i in range(0, len(wanted), self.CHUNK):
            chunk = wanted[i:i + self.CHUNK]
            for row in session.execute(select(model).where(model.code.in_(chunk))).scalars():
                self.rows[row.code] = row

    def get_or_add(self, key: Any, **identity: Any) -> Any:
        row = self.rows.get(key)
        if row is None:
            row = self.model(**identity)
            self.session.add(row)
            self.rows[key] = row
        return row


def upsert(session: Session, directory: Directory) -> int:
    """Insert or update every entity of `directory` by code; returns the new revision."""
    with session.no_autoflush:
        _upsert(session, directory)
    session.flush()
    return _bump(session)


def _upsert(session: Session, d: Directory) -> None:
    rows = _Rows(session, StreetRow, d.streets)
    for street in d.streets.values():
        row = rows.get_or_add(street.code, code=street.code)
        row.name, row.district = street.name, street.district
    session.flush()
    rows = _Rows(session, CommunityRow, d.communities)
    for community in d.communities.values():
        row = rows.get_or_add(community.code, code=community.code)
        row.name, row.street_code = community.name, community.street_code
    rows = _Rows(session, CoordinatorRow, d.coordinators)
    for coordinator in d.coordinators.values():
        row = rows.get_or_add(coordinator.code, code=coordinator.code)
        row.name, row.phone = coordinator.name, coordinator.phone
        row.accounts = [CoordinatorAccountRow(platform=p, account_id=a)
                        for p, a in sorted(coordinator.accounts.items())]
    session.flush()
    rows = _Rows(session, OfficeRow, d.offices)
    for office in d.offices.values():
        _save_office(rows.get_or_add(office.code, code=office.code), office)
    rows = _Rows(session, EstateRow, d.estates)
    for estate in d.estates.values():
        row = rows.get_or_add(estate.code, code=estate.code)
        row.name, row.community_code = estate.name, estate.community_code
        row.buildings = list(estate.buildings)
        row.aliases = [EstateAliasRow(alias=a, position=i) for i, a in enumerate(estate.aliases)]
    session.flush()
    rows = _Rows(session, GridRow, d.grids)
    for grid in d.grids.values():
        row = rows.get_or_add(grid.code, code=grid.code)
        row.name, row.community_code = grid.name, grid.community_code
        row.coordinator_code, row.office_code = grid.coordinator_code, grid.office_code
        row.coverage = [CoverageRow(estate_code=c.estate_code, position=i,
                                    buildings=list(c.buildings))
                        for i, c in enumerate(grid.coverage)]
    session.flush()
    rows = _Rows(session, ChatGroupRow, d.groups)
    for group in d.groups.values():
        row = rows.get_or_add(group.key, platform=group.platform, external_id=group.external_id)
        row.name, row.grid_code = group.name, group.grid_code
        row.send_via, row.send_target = group.send_via, group.send_target


def _save_office(row: OfficeRow, office: UnionOffice) -> None:
    row.name, row.level, row.address, row.phone = (office.name, office.level.value,
                                                   office.address, office.phone)
    row.services = list(office.services)
    row.street_code, row.community_code = office.street_code, office.community_code
    row.latitude, row.longitude = office.latitude, office.longitude
    row.hours = [OfficeHoursRow(weekday=day, position=i, opens=a, closes=b)
                 for day, spans in enumerate(office.hours) for i, (a, b) in enumerate(spans)]


# --- what other packages read (the broadcaster's recipients, the web rooms) ----------
@dataclass(frozen=True)
class PlacedGroup:
    """A chat group with the community and street of its grid."""

    group: ChatGroup
    community_code: str
    street_code: str


def street_names(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every street."""
    return [(c, n) for c, n in session.execute(select(StreetRow.code, StreetRow.name))]


def community_names(session: Session) -> list[tuple[str, str, str]]:
    """(code, name, street name) of every community."""
    return [(c, n, s) for c, n, s in session.execute(
        select(CommunityRow.code, CommunityRow.name, StreetRow.name)
        .join(StreetRow, CommunityRow.street_code == StreetRow.code))]


def grid_codes(session: Session) -> set[str]:
    return set(session.execute(select(GridRow.code)).scalars())


def placed_groups(session: Session) -> list[PlacedGroup]:
    """Every chat group with its community and street, ordered by grid, platform, id."""
    stmt = (select(ChatGroupRow.platform, ChatGroupRow.external_id, ChatGroupRow.name,
                   ChatGroupRow.grid_code, ChatGroupRow.send_via, ChatGroupRow.send_target,
                   CommunityRow.code, CommunityRow.street_code)
            .join(GridRow, ChatGroupRow.grid_code == GridRow.code)
            .join(CommunityRow, GridRow.community_code == CommunityRow.code)
            .order_by(ChatGroupRow.grid_code, ChatGroupRow.platform, ChatGroupRow.external_id))
    return [PlacedGroup(ChatGroup(p, e, n, g, v, t), c, s)
            for p, e, n, g, v, t, c, s in session.execute(stmt)]


def chat_group(session: Session, platform: str, external_id: str) -> ChatGroup | None:
    row = session.execute(select(ChatGroupRow).where(
        ChatGroupRow.platform == platform,
        ChatGroupRow.external_id == external_id)).scalar_one_or_none()
    if row is None:
        return None
    return ChatGroup(row.platform, row.external_id, row.name, row.grid_code, row.send_via,
                     row.send_target)

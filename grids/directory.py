"""The grid directory as plain domain objects, independent of any framework.

A `Directory` holds everything the assistant knows about the neighbourhood:
streets (街道), communities (社区), estates (小区) with their buildings, grids
(网格) and the buildings they cover, coordinators (网格员), union offices (工会
服务站) and chat groups (群聊). The database layer (`grids.repository`), the
spreadsheet files (`grids.tables`), the sample generator and the address lookup
all exchange these objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

SEND_METHODS: tuple[str, ...] = ("webhook", "onebot", "web")


class OfficeLevel(str, Enum):
    """Where an office sits in the union hierarchy; values are the Chinese labels."""

    DISTRICT = "区总工会"
    STREET = "街道工会服务站"
    COMMUNITY = "社区工会服务站"
    ENTERPRISE = "企业工会"


class DirectoryError(Exception):
    """Base class of the grid directory's domain errors."""


class GridNotFound(DirectoryError):
    def __init__(self, code: str) -> None:
        super().__init__(f"没有编码为 {code} 的网格")
        self.code = code


class DirectoryEmpty(DirectoryError):
    def __init__(self) -> None:
        super().__init__("网格目录还是空的，请先导入网格数据（cloud-doctor grids import 或 seed）")


# An opening span such as ("09:00", "12:00"); a weekday is a tuple of spans, empty = closed.
Span = tuple[str, str]
DayHours = tuple[Span, ...]


@dataclass(frozen=True)
class Street:
    code: str
    name: str
    district: str


@dataclass(frozen=True)
class Community:
    code: str
    name: str
    street_code: str


@dataclass(frozen=True)
class Estate:
    code: str
    name: str
    community_code: str
    aliases: tuple[str, ...] = ()
    buildings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Coordinator:
    code: str
    name: str
    phone: str
    accounts: Mapping[str, str] = field(default_factory=dict)  # platform -> user id


@dataclass(frozen=True)
class UnionOffice:
    code: str
    name: str
    level: OfficeLevel
    address: str
    phone: str
    hours: tuple[DayHours, ...]  # Monday .. Sunday
    services: tuple[str, ...] = ()
    street_code: str | None = None
    community_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Coverage:
    """The part of an estate a grid covers: some buildings, or all of them when empty."""

    estate_code: str
    buildings: tuple[str, ...] = ()

    def covers(self, building: str | None) -> bool:
        return not self.buildings or building is None or building in self.buildings


@dataclass(frozen=True)
class Grid:
    code: str
    name: str
    community_code: str
    coordinator_code: str | None
    office_code: str
    coverage: tuple[Coverage, ...] = ()


@dataclass(frozen=True)
class ChatGroup:
    platform: str
    external_id: str
    name: str
    grid_code: str
    send_via: str
    send_target: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.external_id)


@dataclass
class Directory:
    """The whole directory, each entity indexed by its code."""

    streets: dict[str, Street] = field(default_factory=dict)
    communities: dict[str, Community] = field(default_factory=dict)
    estates: dict[str, Estate] = field(default_factory=dict)
    coordinators: dict[str, Coordinator] = field(default_factory=dict)
    offices: dict[str, UnionOffice] = field(default_factory=dict)
    grids: dict[str, Grid] = field(default_factory=dict)
    groups: dict[tuple[str, str], ChatGroup] = field(default_factory=dict)

    @classmethod
    def of(cls, streets: Iterable[Street] = (), communities: Iterable[Community] = (),
           estates: Iterable[Estate] = (), coordinators: Iterable[Coordinator] = (),
           offices: Iterable[UnionOffice] = (), grids: Iterable[Grid] = (),
           groups: Iterable[ChatGroup] = ()) -> Directory:
        return cls(
            streets={s.code: s for s in streets},
            communities={c.code: c for c in communities},
            estates={e.code: e for e in estates},
            coordinators={c.code: c for c in coordinators},
            offices={o.code: o for o in offices},
            grids={g.code: g for g in grids},
            groups={g.key: g for g in groups},
        )

    def is_empty(self) -> bool:
        return not self.grids

    def grid(self, code: str) -> Grid:
        try:
            return self.grids[code]
        except KeyError:
            raise GridNotFound(code) from None

    def district_office(self, district: str | None = None) -> UnionOffice | None:
        """The district federation (of `district`, when the directory spans several)."""
        federations = [o for o in self.offices.values() if o.level is OfficeLevel.DISTRICT]
        if district:
            named = [o for o in federations if o.name.startswith(district)]
            federations = named or federations
        return federations[0] if federations else None

    def counts(self) -> dict[str, int]:
        return {
            "streets": len(self.streets),
            "communities": len(self.communities),
            "estates": len(self.estates),
            "coordinators": len(self.coordinators),
            "offices": len(self.offices),
            "grids": len(self.grids),
            "groups": len(self.groups),
        }


@dataclass(frozen=True)
class GridView:
    """A grid with everything needed to answer about it (names rather than codes)."""

    grid: Grid
    community: Community | None
    street: Street | None
    office: UnionOffice | None
    coordinator: Coordinator | None


def view_of(directory: Directory, code: str) -> GridView:
    """Join a grid with its community, street, office and coordinator.

    Dangling references (an inconsistent directory) come back as None rather than
    raising, so callers can still answer with what is known.
    """
    grid = directory.grid(code)
    community = directory.communities.get(grid.community_code)
    street = directory.streets.get(community.street_code) if community else None
    office = directory.offices.get(grid.office_code)
    coordinator = (directory.coordinators.get(grid.coordinator_code)
                   if grid.coordinator_code else None)
    return GridView(grid, community, street, office, coordinator)


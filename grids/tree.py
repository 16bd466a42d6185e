"""The directory as a tree for choosing where a notice goes: street → community →
grid, each with how many chat groups it has on each platform (one GROUP BY query,
names from three small ones). Read through here, never the tables, by other packages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grids.model import ChatGroupRow, CommunityRow, GridRow, StreetRow


@dataclass
class Node:
    code: str
    name: str
    groups: Counter[str] = field(default_factory=Counter)   # platform → groups
    children: list[Node] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.groups.values())


def group_tree(session: Session, grids: Collection[str] | None = None) -> list[Node]:
    """Streets (ordered by code) with their communities and grids; `grids` limits the
    tree to those grid codes (and the communities and streets above them)."""
    wanted = None if grids is None else set(grids)
    counts: dict[str, Counter[str]] = {}
    for code, platform, n in session.execute(
            select(ChatGroupRow.grid_code, ChatGroupRow.platform, func.count())
            .group_by(ChatGroupRow.grid_code, ChatGroupRow.platform)):
        counts.setdefault(code, Counter())[platform] = int(n)
    streets = {c: Node(c, n) for c, n in session.execute(
        select(StreetRow.code, StreetRow.name).order_by(StreetRow.code))}
    communities: dict[str, Node] = {}
    for code, name, street in session.execute(
            select(CommunityRow.code, CommunityRow.name, CommunityRow.street_code)
            .order_by(CommunityRow.code)):
        node = communities[code] = Node(code, name)
        if street in streets:
            streets[street].children.append(node)
    for code, name, community in session.execute(
            select(GridRow.code, GridRow.name, GridRow.community_code).order_by(GridRow.code)):
        if wanted is not None and code not in wanted:
            continue
        node = Node(code, name, counts.get(code, Counter()))
        parent = communities.get(community)
        if parent is not None:
            parent.children.append(node)
            parent.groups.update(node.groups)
    for street in streets.values():
        street.children = [c for c in street.children if c.children or wanted is None]
        for community in street.children:
            street.groups.update(community.groups)
    return [s for s in streets.values() if s.children or wanted is None]


def grids_of_street(session: Session, street_code: str) -> list[str]:
    return list(session.execute(
        select(GridRow.code).join(CommunityRow, GridRow.community_code == CommunityRow.code)
        .where(CommunityRow.street_code == street_code).order_by(GridRow.code)).scalars())


def grids_of_coordinator(session: Session, coordinator_code: str) -> list[str]:
    return list(session.execute(select(GridRow.code).where(
        GridRow.coordinator_code == coordinator_code).order_by(GridRow.code)).scalars())

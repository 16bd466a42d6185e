"""Where a message came from: the chat group → grid → street mapping, read through
the grid directory's public API (`grids.repository`) and copied into `in_grids`
(names for reports; the street of a ticket's or a delivery's grid) whenever the
directory's revision changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from grids import repository
from insight.tables import GridPlaceRow


@dataclass(frozen=True)
class Place:
    grid_code: str
    street_code: str


@dataclass
class Places:
    """The mapping of one directory revision (reloaded when it changes)."""

    revision: int = -1
    groups: dict[tuple[str, str], Place] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def refresh(self, session: Session) -> bool:
        """Reload if the directory changed (and copy it into `in_grids`, in the
        caller's transaction); True when it did."""
        current = repository.revision(session)
        if current == self.revision:
            return False
        with self._lock:
            directory = repository.load(session)
            rows = []
            for grid in directory.grids.values():
                community = directory.communities.get(grid.community_code)
                street = directory.streets.get(community.street_code) if community else None
                rows.append({"grid_code": grid.code, "grid_name": grid.name,
                             "community_code": grid.community_code,
                             "community_name": community.name if community else "",
                             "street_code": street.code if street else "",
                             "street_name": street.name if street else ""})
            streets = {r["grid_code"]: r["street_code"] for r in rows}
            self.groups = {key: Place(g.grid_code, streets.get(g.grid_code, ""))
                           for key, g in directory.groups.items()}
            session.execute(delete(GridPlaceRow))
            if rows:
                session.execute(insert(GridPlaceRow), rows)
            self.revision = current
        return True

    def of(self, platform: str, group_id: str | None) -> Place | None:
        if not group_id:
            return None
        return self.groups.get((platform, group_id))

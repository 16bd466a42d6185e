"""The SQL of a `Scope` and a `By` on the tables the reports read, and the names
that label their groups (looked up for the few groups a report has, never per row)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, false, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from core.platforms import PLATFORM_LABELS
from core.topics import contract
from insight.model import By, Scope
from insight.tables import GridPlaceRow

UNKNOWN = "未登记"
ALL = "全部"
places = GridPlaceRow.__table__


def scope_condition(grid_column: ColumnElement[Any], street_column: ColumnElement[Any] | None,
                    scope: Scope) -> ColumnElement[bool] | None:
    """The WHERE of a scope: grid codes directly; a street by the street column when the
    table has one, else by its grids in `in_grids`."""
    if scope.grids is not None:
        return grid_column.in_(sorted(scope.grids)) if scope.grids else false()
    if scope.street is not None:
        if street_column is not None:
            return street_column == scope.street
        return grid_column.in_(select(places.c.grid_code)
                               .where(places.c.street_code == scope.street))
    return None


def scope_grids(scope: Scope) -> Any:
    """The grid codes of a scope for another package's query: None (everything), a
    set of codes, or a sub-select of codes (a street)."""
    if scope.grids is not None:
        return sorted(scope.grids)
    if scope.street is not None:
        return select(places.c.grid_code).where(places.c.street_code == scope.street)
    return None


def constant_key() -> ColumnElement[Any]:
    """The key of the one group of an ungrouped report (no GROUP BY: one row, even
    when nothing matched)."""
    return literal_column("'all'", String)


def group_by(stmt: Select, key: ColumnElement[Any], by: By) -> Select:
    return stmt if by is By.NONE else stmt.group_by(key)


def labeller(connection: Connection, by: By) -> Mapping[Any, str]:
    """Chinese labels of the group keys of `by`."""
    if by is By.NONE:
        return {"all": ALL}
    if by is By.TOPIC:
        return {k: t.zh for k, t in contract().items()}
    if by is By.PLATFORM:
        return dict(PLATFORM_LABELS)
    if by is By.STREET:
        rows = connection.execute(select(places.c.street_code, places.c.street_name).distinct())
        return {code: name for code, name in rows}
    if by is By.GRID:
        rows = connection.execute(select(places.c.grid_code, places.c.street_name,
                                         places.c.grid_name))
        return {code: f"{street} {grid}" for code, street, grid in rows}
    return {}


def label(labels: Mapping[Any, str], key: Any) -> str:
    if key is None or key == "":
        return UNKNOWN
    return labels.get(key, str(key))


def apply_where(stmt: Select, *conditions: ColumnElement[bool] | None) -> Select:
    for condition in conditions:
        if condition is not None:
            stmt = stmt.where(condition)
    return stmt

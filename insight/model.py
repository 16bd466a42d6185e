"""What a report is asked for and what it gives back: a `Period` of Shanghai days,
a `Scope` (everything, some grids, or a street), a grouping (`By`) and a `Table`
(columns with Chinese headers, rows of plain values) that the console renders, the
CSV export writes and the charts draw."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any

from core.clock import SHANGHAI


class By(str, Enum):
    NONE = "none"
    STREET = "street"
    GRID = "grid"
    PLATFORM = "platform"
    TOPIC = "topic"
    OFFICE = "office"      # tickets only


BY_LABELS = {By.NONE: "全部", By.STREET: "街道", By.GRID: "网格", By.PLATFORM: "平台",
             By.TOPIC: "话题", By.OFFICE: "承办部门"}


@dataclass(frozen=True)
class Period:
    """Shanghai days `first` … `last`, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(first, following - timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def each_day(self) -> Iterator[date]:
        for offset in range(self.days):
            yield self.first + timedelta(days=offset)

    def epoch_range(self) -> tuple[float, float]:
        """[start, end) in epoch seconds: Shanghai midnight of `first` to after `last`."""
        start = datetime.combine(self.first, time(), SHANGHAI)
        end = datetime.combine(self.last + timedelta(days=1), time(), SHANGHAI)
        return start.timestamp(), end.timestamp()


@dataclass(frozen=True)
class Scope:
    """Whose figures: everything (`grids` and `street` both None), some grids (a
    coordinator's), or one street. A coordinator with no grids sees nothing."""

    grids: frozenset[str] | None = None
    street: str | None = None

    def __post_init__(self) -> None:
        if self.grids is not None and self.street is not None:
            raise ValueError("a scope is some grids or a street, not both")

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    @classmethod
    def of_grids(cls, codes: Collection[str]) -> Scope:
        return cls(grids=frozenset(codes))

    @classmethod
    def of_street(cls, code: str) -> Scope:
        return cls(street=code)

    @property
    def is_everything(self) -> bool:
        return self.grids is None and self.street is None


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass(frozen=True)
class Table:
    """A report table: `rows` are tuples in the order of `columns`."""

    name: str                      # file name stem of its CSV, e.g. "conversation_by_street"
    title: str                     # Chinese title
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def records(self) -> list[dict[str, Any]]:
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]

    def column(self, key: str) -> list[Any]:
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]


def table(name: str, title: str, columns: Sequence[tuple[str, str]],
          rows: Sequence[Sequence[Any]], notes: Sequence[str] = ()) -> Table:
    return Table(name, title, tuple(Column(k, label) for k, label in columns),
                 tuple(tuple(r) for r in rows), tuple(notes))


def share(part: float | None, whole: float | None) -> float | None:
    """part / whole rounded to 4 places; None when there is nothing to divide by."""
    if not whole:
        return None
    return round(float(part or 0) / float(whole), 4)

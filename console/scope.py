"""What part of the district an account sees: everything (admin, district staff),
one street's grids (street staff) or the grids the directory gives a coordinator.
Read from the grid directory on each request (a few dozen codes), so a change of
coordinator in an import applies at once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from console.accounts import Account
from console.permissions import Role
from grids.tree import grids_of_coordinator, grids_of_street


@dataclass(frozen=True)
class Scope:
    grids: frozenset[str] | None      # None: the whole district, tickets without a grid too
    street: str | None = None         # street staff: their street's code
    coordinator: str | None = None

    @property
    def everything(self) -> bool:
        return self.grids is None

    def sees_grid(self, code: str | None) -> bool:
        if self.grids is None:
            return True
        return code is not None and code in self.grids


def scope_of(engine: Engine, account: Account) -> Scope:
    if account.role is Role.COORDINATOR:
        with Session(engine, future=True) as session:
            codes = grids_of_coordinator(session, account.coordinator_code or "")
        return Scope(frozenset(codes), coordinator=account.coordinator_code)
    if account.role is Role.STAFF and account.street_code:
        with Session(engine, future=True) as session:
            codes = grids_of_street(session, account.street_code)
        return Scope(frozenset(codes), street=account.street_code)
    return Scope(None)

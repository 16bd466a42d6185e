"""The console's navigation, which page modules register into: a later module (the
knowledge base, the statistics) adds its pages with `register(app, NavItem(...))`
next to its routes. Only registered pages are shown, and only to those whose
profile has the page's permission, so there are never dead links."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from console.accounts import Account
from console.permissions import Perm

NAV_KEY = web.AppKey("console_nav", list)


@dataclass(frozen=True)
class NavItem:
    key: str          # "tickets", "broadcasts", "grids", later "knowledge", "insight"
    title: str        # Chinese label
    path: str
    perm: Perm
    order: int = 100


def register(app: web.Application, item: NavItem) -> None:
    items: list[NavItem] = app.setdefault(NAV_KEY, [])
    if any(i.key == item.key for i in items):
        raise ValueError(f"navigation item {item.key!r} registered twice")
    items.append(item)
    items.sort(key=lambda i: (i.order, i.key))


def visible(app: web.Application, account: Account | None) -> list[NavItem]:
    if account is None:
        return []
    return [i for i in app.get(NAV_KEY, []) if account.may(i.perm)]

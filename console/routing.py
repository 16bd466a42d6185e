"""Every console handler declares its permission here, in one place per page module:

    routes = Routes()

    @routes.get("/tickets", Perm.TICKETS_VIEW)
    async def inbox(request): ...

`Routes.add_to(app)` adds them and records each route's permission in the app's
table (`PERMISSIONS_KEY`), which the guard middleware (`console.web`) consults. A
route of the console's app that is missing from the table is refused (fail closed),
and the test that walks every route fails for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from console.permissions import Perm

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PERMISSIONS_KEY = web.AppKey("console_permissions", dict)


@dataclass(frozen=True)
class Declared:
    method: str
    path: str
    perm: Perm
    handler: Handler
    name: str


class Routes:
    def __init__(self) -> None:
        self.declared: list[Declared] = []

    def route(self, method: str, path: str, perm: Perm, name: str | None = None
              ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.declared.append(Declared(method, path, perm, handler,
                                          name or handler.__name__))
            return handler
        return register

    def get(self, path: str, perm: Perm, name: str | None = None) -> Callable[[Handler], Handler]:
        return self.route("GET", path, perm, name)

    def post(self, path: str, perm: Perm, name: str | None = None) -> Callable[[Handler], Handler]:
        return self.route("POST", path, perm, name)

    def add_to(self, app: web.Application) -> None:
        table = permissions_of(app)
        for d in self.declared:
            route = app.router.add_route(d.method, d.path, d.handler, name=f"console.{d.name}")
            table[route] = d.perm


def permissions_of(app: web.Application) -> dict[AbstractRoute, Perm]:
    if PERMISSIONS_KEY not in app:
        app[PERMISSIONS_KEY] = {}
    return app[PERMISSIONS_KEY]


def mark_public(app: web.Application, routes: list[AbstractRoute]) -> None:
    table = permissions_of(app)
    for route in routes:
        table[route] = Perm.PUBLIC

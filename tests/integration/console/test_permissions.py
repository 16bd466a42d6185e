"""Every console route declares a permission, and the guard enforces it: for each
handler, a logged-out visitor is sent to the login page (303 → /login?next=…) and
every profile without the permission gets 403, nothing run. A route added without
a declared permission is refused, and this test fails for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from console.permissions import PERMISSIONS, Perm, Profile
from console.routing import permissions_of
from tests.integration.console.conftest import ACCOUNTS, Desk

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROFILE_OF = {"admin": Profile.ADMIN, "district": Profile.DISTRICT_STAFF,
              "street": Profile.STREET_STAFF, "coordinator": Profile.COORDINATOR}
# A value for each path parameter (the guard decides before the handler runs).
VALUES = {"number": "T-000001", "notice_id": "1", "code": "D001-S01-C01-G01"}


def console_routes() -> list[tuple[str, str]]:
    """(method, path) of every console route of a freshly built app (not HEAD, /api, static)."""
    from tests.integration.console.conftest import declared_routes

    return declared_routes()


def _path(template: str) -> str:
    for key, value in VALUES.items():
        template = template.replace("{" + key + "}", value)
    return template


def test_every_route_of_the_app_has_a_declared_permission(desk: Desk) -> None:
    app = desk.server.app
    table = permissions_of(app)
    missing = [f"{r.method} {r.resource.canonical}" for r in app.router.routes()
               if r.resource is not None and not r.resource.canonical.startswith("/api")
               and r.method != "HEAD" and r not in table]
    assert not missing, f"console routes without a permission: {missing}"
    assert {(m, p) for m, p in console_routes()} == {
        (r.method, r.resource.canonical) for r in table
        if r.resource is not None and r.method != "HEAD"
        and not r.resource.canonical.startswith("/static")}


@pytest.mark.parametrize("method, template", console_routes())
async def test_logged_out_visitors_are_sent_to_login(desk: Desk, method: str,
                                                     template: str) -> None:
    perm = permissions_of(desk.server.app)[_route(desk, method, template)]
    browser = await desk.browser()
    status, _, resp = await (browser.get(_path(template)) if method == "GET"
                             else browser.post(_path(template), {"x": "1"}, csrf=False))
    if perm is Perm.PUBLIC:
        assert status != 303 or not resp.headers["Location"].startswith("/login")
        return
    assert status == 303
    assert resp.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("method, template", console_routes())
async def test_profiles_without_the_permission_get_403(desk: Desk, method: str,
                                                       template: str) -> None:
    perm = permissions_of(desk.server.app)[_route(desk, method, template)]
    lacking = [name for name, profile in PROFILE_OF.items()
               if perm not in (Perm.PUBLIC, Perm.LOGGED_IN) and perm not in PERMISSIONS[profile]]
    for name in lacking:
        browser = await desk.browser(name)
        status, text, _ = await (browser.get(_path(template)) if method == "GET"
                                 else browser.post(_path(template), {"text": "x"}))
        assert status == 403, (name, method, template, status)
        assert "没有使用这个页面的权限" in text
    for name, _profile in PROFILE_OF.items():
        if name not in lacking and method == "GET" and "{" not in template:
            browser = await desk.browser(name)
            status, _, _ = await browser.get(template)
            assert status not in (403, 500), (name, template, status)


def test_every_profile_lacks_something_but_admin() -> None:
    assert PERMISSIONS[Profile.ADMIN] == frozenset(Perm)
    for profile in (Profile.DISTRICT_STAFF, Profile.STREET_STAFF, Profile.COORDINATOR):
        assert PERMISSIONS[profile] < PERMISSIONS[Profile.ADMIN]
    assert Perm.GRIDS_IMPORT not in PERMISSIONS[Profile.STREET_STAFF]
    assert Perm.BROADCAST_SEND not in PERMISSIONS[Profile.COORDINATOR]
    assert set(ACCOUNTS) == set(PROFILE_OF)


async def test_a_route_without_a_declared_permission_is_refused(desk: Desk,
                                                               tmp_path: Path) -> None:
    """Fail closed: a handler mounted around `console.routing` never runs."""
    from bot.app import create_app
    from tests.integration.console.conftest import Client, settings_for

    app = create_app(settings_for(tmp_path, desk.fake))  # its own database and dispatcher
    ran = []

    async def sneaky(request: web.Request) -> web.Response:
        ran.append(request.path)
        return web.Response(text="secret")

    app.router.add_get("/sneaky", sneaky)
    server = type(desk.server)(app)
    await server.start_server()
    try:
        client = Client(server)
        async with client.get("/sneaky", allow_redirects=False) as resp:
            assert resp.status == 403
            assert "没有登记权限" in await resp.text()
        await client.close()
    finally:
        await server.close()
    assert ran == []


def _route(desk: Desk, method: str, template: str) -> web.AbstractRoute:
    for route in permissions_of(desk.server.app):
        if route.method == method and route.resource is not None \
                and route.resource.canonical == template:
            return route
    raise AssertionError(f"{method} {template} is not a console route")

"""Roles and what each may do. Every console handler declares one `Perm`
(`console.routing`); a profile that lacks it gets 403, a visitor who is not logged
in is sent to the login page.

Profiles: an admin; district staff (a `staff` account without a street); street staff
(a `staff` account of one street: only that street's tickets, groups and notices);
a coordinator (only the tickets and groups of the grids the directory gives them).
"""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    ADMIN = "admin"
    STAFF = "staff"
    COORDINATOR = "coordinator"


ROLE_LABELS = {Role.ADMIN: "管理员", Role.STAFF: "工作人员", Role.COORDINATOR: "网格员"}


class Profile(str, Enum):
    ADMIN = "admin"
    DISTRICT_STAFF = "district_staff"
    STREET_STAFF = "street_staff"
    COORDINATOR = "coordinator"


PROFILE_LABELS = {Profile.ADMIN: "管理员", Profile.DISTRICT_STAFF: "区总工会工作人员",
                  Profile.STREET_STAFF: "街道工作人员", Profile.COORDINATOR: "网格员"}


class Perm(str, Enum):
    PUBLIC = "public"                  # the login page, static files
    LOGGED_IN = "logged_in"            # home, logout, own password
    TICKETS_VIEW = "tickets.view"
    TICKETS_ACT = "tickets.act"        # answer, transfer, reassign, close, reopen
    BROADCAST_VIEW = "broadcast.view"
    BROADCAST_SEND = "broadcast.send"  # send, retry the failed, cancel
    GRIDS_VIEW = "grids.view"
    GRIDS_IMPORT = "grids.import"
    GRIDS_EXPORT = "grids.export"
    AUDIT_VIEW = "audit.view"
    KNOWLEDGE_VIEW = "knowledge.view"    # answers, history, fields, the unanswered queue
    KNOWLEDGE_EDIT = "knowledge.edit"    # edit, roll back, set fields, triage the queue
    INSIGHT_VIEW = "insight.view"        # statistics (scoped) and their CSV


_STAFF = {Perm.LOGGED_IN, Perm.TICKETS_VIEW, Perm.TICKETS_ACT, Perm.BROADCAST_VIEW,
          Perm.BROADCAST_SEND, Perm.GRIDS_VIEW, Perm.GRIDS_EXPORT}

PERMISSIONS: dict[Profile, frozenset[Perm]] = {
    Profile.ADMIN: frozenset(Perm),
    Profile.DISTRICT_STAFF: frozenset(_STAFF | {Perm.GRIDS_IMPORT}),
    # a street's staff do not rewrite the district's directory
    Profile.STREET_STAFF: frozenset(_STAFF),
    Profile.COORDINATOR: frozenset({Perm.LOGGED_IN, Perm.TICKETS_VIEW, Perm.TICKETS_ACT,
                                    Perm.GRIDS_VIEW}),
}


def allowed(profile: Profile, perm: Perm) -> bool:
    return perm is Perm.PUBLIC or perm in PERMISSIONS[profile]


# The knowledge base is one for the whole district (issue 15): every profile reads it
# and the statistics of its own scope; only admin and district staff change answers,
# since a street's edit would change what every street's groups are told.
for _profile in Profile:
    _extra = {Perm.KNOWLEDGE_VIEW, Perm.INSIGHT_VIEW}
    if _profile in (Profile.ADMIN, Profile.DISTRICT_STAFF):
        _extra.add(Perm.KNOWLEDGE_EDIT)
    PERMISSIONS[_profile] = PERMISSIONS[_profile] | _extra

"""Turn a notice's `Targets` into the chat groups of the grid directory (read
through `grids.repository`, never its tables).

Streets and communities are named as staff say them ("联盟街道", "联盟", or the
code); a community name that exists in two streets must be written
"街道/社区". Every name that matches nothing is an error with suggestions, so a
typo never silently sends to fewer groups than intended.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from broadcast.model import InvalidTarget, NoRecipients, Recipient, Targets
from core.platforms import PLATFORMS
from grids import repository


def _names(name: str, suffix: str) -> set[str]:
    return {name, name.removesuffix(suffix)} if name.endswith(suffix) else {name, name + suffix}


def _unknown(kind: str, name: str, known: Iterable[str]) -> InvalidTarget:
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.4)
    hint = f"，您是不是要找：{'、'.join(close)}" if close else ""
    return InvalidTarget(f"网格目录里没有{kind}“{name}”{hint}")


def _street_codes(session: Session, names: Sequence[str]) -> set[str]:
    rows = repository.street_names(session)
    codes: set[str] = set()
    for name in names:
        hits = {code for code, street in rows if name == code or name in _names(street, "街道")}
        if not hits:
            raise _unknown("街道", name, (street for _, street in rows))
        codes |= hits
    return codes


def _community_codes(session: Session, names: Sequence[str]) -> set[str]:
    rows = repository.community_names(session)
    codes: set[str] = set()
    for name in names:
        street, _, community = name.rpartition("/")
        hits = [(code, s) for code, c, s in rows
                if name == code or (community in _names(c, "社区")
                                    and (not street or street in _names(s, "街道")))]
        if not hits:
            raise _unknown("社区", name, (c for _, c, _ in rows))
        if len(hits) > 1:
            streets = "、".join(sorted(s for _, s in hits))
            raise InvalidTarget(f"社区“{name}”在 {streets} 都有，请写成 community:街道名/社区名")
        codes.add(hits[0][0])
    return codes


def _grid_codes(session: Session, codes: Sequence[str]) -> set[str]:
    known = repository.grid_codes(session)
    for code in codes:
        if code not in known:
            raise _unknown("网格", code, known)
    return set(codes)


def resolve(session: Session, targets: Targets) -> list[Recipient]:
    """The groups a notice goes to, ordered by grid; raises InvalidTarget / NoRecipients."""
    unknown = [p for p in targets.platforms if p not in PLATFORMS]
    if unknown:
        raise InvalidTarget(f"不支持的平台：{'、'.join(unknown)}（可选：{'、'.join(PLATFORMS)}）")
    streets = _street_codes(session, targets.streets)
    communities = _community_codes(session, targets.communities)
    grids = _grid_codes(session, targets.grids)
    recipients = []
    for placed in repository.placed_groups(session):
        group = placed.group
        wanted = (targets.everyone or placed.street_code in streets
                  or placed.community_code in communities or group.grid_code in grids)
        if wanted and (not targets.platforms or group.platform in targets.platforms):
            recipients.append(group)
    if not recipients:
        raise NoRecipients(f"{targets.label() or '所选范围'}内没有登记任何群聊，请先在网格目录中导入群聊")
    return recipients

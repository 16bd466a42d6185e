"""Turn a notice's `Targets` into the chat groups of the grid directory.

Streets and communities are named as staff say them ("联盟街道", "联盟", or the
code); a community name that exists in two streets must be written
"街道/社区". Every name that matches nothing is an error with suggestions, so a
typo never silently sends to fewer groups than intended.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.broadcast.model import InvalidTarget, NoRecipients, Recipient, Targets
from grids.directory import PLATFORMS
from grids.model import ChatGroupRow, CommunityRow, GridRow, StreetRow


def _names(name: str, suffix: str) -> set[str]:
    return {name, name.removesuffix(suffix)} if name.endswith(suffix) else {name, name + suffix}


def _unknown(kind: str, name: str, known: Iterable[str]) -> InvalidTarget:
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.4)
    hint = f"，您是不是要找：{'、'.join(close)}" if close else ""
    return InvalidTarget(f"网格目录里没有{kind}“{name}”{hint}")


def _street_codes(session: Session, names: Sequence[str]) -> set[str]:
    rows = session.execute(select(StreetRow.code, StreetRow.name)).all()
    codes: set[str] = set()
    for name in names:
        hits = {code for code, street in rows if name == code or name in _names(street, "街道")}
        if not hits:
            raise _unknown("街道", name, (street for _, street in rows))
        codes |= hits
    return codes


def _community_codes(session: Session, names: Sequence[str]) -> set[str]:
    rows = session.execute(select(CommunityRow.code, CommunityRow.name, StreetRow.name)
                           .join(StreetRow, CommunityRow.street_code == StreetRow.code)).all()
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
    known = set(session.execute(select(GridRow.code)).scalars())
    for code in codes:
        if code not in known:
            raise _unknown("网格", code, known)
    return set(codes)


def resolve(session: Session, targets: Targets) -> list[Recipient]:
    """The groups a notice goes to, ordered by grid; raises InvalidTarget / NoRecipients."""
    unknown = [p for p in targets.platforms if p not in PLATFORMS]
    if unknown:
        raise InvalidTarget(f"不支持的平台：{'、'.join(unknown)}（可选：{'、'.join(PLATFORMS)}）")
    stmt = (select(ChatGroupRow.platform, ChatGroupRow.external_id, ChatGroupRow.name,
                   ChatGroupRow.grid_code, ChatGroupRow.send_via, ChatGroupRow.send_target,
                   CommunityRow.code, CommunityRow.street_code)
            .join(GridRow, ChatGroupRow.grid_code == GridRow.code)
            .join(CommunityRow, GridRow.community_code == CommunityRow.code)
            .order_by(ChatGroupRow.grid_code, ChatGroupRow.platform, ChatGroupRow.external_id))
    streets = _street_codes(session, targets.streets)
    communities = _community_codes(session, targets.communities)
    grids = _grid_codes(session, targets.grids)
    recipients = []
    for platform, ext, name, grid, via, target, community, street in session.execute(stmt):
        wanted = (targets.everyone or street in streets or community in communities
                  or grid in grids)
        if wanted and (not targets.platforms or platform in targets.platforms):
            recipients.append(Recipient(platform, ext, name, grid, via, target))
    if not recipients:
        raise NoRecipients(f"{targets.label() or '所选范围'}内没有登记任何群聊，请先在网格目录中导入群聊")
    return recipients

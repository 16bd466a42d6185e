"""Group-robot webhook addresses as the grid directory stores them: a DingTalk or
Feishu robot with signing on carries its secret in the URL fragment (`#secret=SEC…`),
which HTTP clients never send; it is split off before the request."""

from __future__ import annotations

import functools
from urllib.parse import parse_qs, urlsplit, urlunsplit


@functools.lru_cache(maxsize=4096)
def split_secret(target: str) -> tuple[str, str]:
    """`https://…/send?access_token=X#secret=SEC1` → (URL without fragment, "SEC1")."""
    parts = urlsplit(target)
    secret = parse_qs(parts.fragment).get("secret", [""])[0]
    return urlunsplit(parts._replace(fragment="")), secret

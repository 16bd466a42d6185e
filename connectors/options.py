"""Settings every connector reads from its credentials.yml block, parsed once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.exceptions import RasaException

from connectors.policy import GroupRule
from core.normalize import DEFAULT_BOT_NAMES

# What a platform sends is a few kB (an encrypted envelope, an event with a
# message of at most a few thousand characters); 1 MiB leaves a wide margin.
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class ChannelOptions:
    bot_names: tuple[str, ...] = DEFAULT_BOT_NAMES
    default_rule: GroupRule = GroupRule()
    group_rules: Mapping[str, GroupRule] = field(default_factory=dict)
    flood_limit: int = 6           # questions per user ...
    flood_window: float = 60.0     # ... per this many seconds
    dedupe_ttl: float = 3600.0     # platform retries arrive within minutes
    api_timeout: float = 10.0      # each call to the platform's API
    assistant_timeout: float = 45.0
    max_concurrent_turns: int = 4  # turns (assistant + reply) running at once
    max_clock_skew: float | None = None  # None = the platform's default window
    max_body_bytes: int = MAX_BODY_BYTES  # larger webhook bodies get 413, unparsed
    back_office: bool = True       # #回复 / #转办 commands and 满意 / 不满意 ratings (tickets)

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> ChannelOptions:
        names = credentials.get("bot_names") or DEFAULT_BOT_NAMES
        if isinstance(names, str):
            names = [names]
        bot_names = tuple(str(n).strip() for n in names if str(n).strip()) or DEFAULT_BOT_NAMES
        groups = credentials.get("groups") or {}
        if not isinstance(groups, Mapping):
            raise RasaException("'groups' must map a group id to a mode (mention, keyword, all)")
        try:
            default_rule = GroupRule.parse(credentials.get("group_mode") or "mention", bot_names[0])
            rules = {str(g): GroupRule.parse(rule, bot_names[0]) for g, rule in groups.items()}
            skew = credentials.get("max_clock_skew")
            return cls(
                bot_names=bot_names,
                default_rule=default_rule,
                group_rules=rules,
                flood_limit=int(credentials.get("flood_limit", 6)),
                flood_window=float(credentials.get("flood_window", 60.0)),
                dedupe_ttl=float(credentials.get("dedupe_ttl", 3600.0)),
                api_timeout=float(credentials.get("api_timeout", 10.0)),
                assistant_timeout=float(credentials.get("assistant_timeout", 45.0)),
                max_concurrent_turns=int(credentials.get("max_concurrent_turns", 4)),
                max_clock_skew=float(skew) if skew is not None else None,
                max_body_bytes=int(credentials.get("max_body_bytes", MAX_BODY_BYTES)),
                back_office=bool(credentials.get("back_office", True)),
            )
        except (TypeError, ValueError) as exc:
            raise RasaException(f"invalid connector setting: {exc}") from exc

    def skew(self, default: float) -> float:
        return self.max_clock_skew if self.max_clock_skew is not None else default


def required(credentials: Mapping[str, Any] | None, channel: str, *keys: str) -> dict[str, Any]:
    """The credentials block with every key in `keys` present and non-empty."""
    creds = dict(credentials or {})
    missing = [k for k in keys if not str(creds.get(k) or "").strip()]
    if missing:
        raise RasaException(f"credentials.yml: the {channel} channel needs {', '.join(missing)}")
    return creds

"""The in-memory dedupe store and the flood guard, with an injected clock."""

from __future__ import annotations

import pytest

from connectors.dedupe import MemoryDedupeStore
from connectors.flood import FloodGuard, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_dedupe_claims_once_within_the_ttl() -> None:
    clock = Clock()
    store = MemoryDedupeStore(ttl=60, clock=clock)
    assert await store.claim("wecom:1")
    assert not await store.claim("wecom:1")
    assert await store.claim("wecom:2")
    clock.now += 61
    assert await store.claim("wecom:1")
    assert len(store) == 1  # wecom:2 expired as well


async def test_dedupe_is_bounded() -> None:
    store = MemoryDedupeStore(ttl=60, max_entries=3)
    for n in range(5):
        assert await store.claim(str(n))
    assert len(store) == 3
    assert await store.claim("0")  # evicted as least recent


def test_dedupe_arguments() -> None:
    with pytest.raises(ValueError):
        MemoryDedupeStore(ttl=0)


def test_flood_window_slides() -> None:
    clock = Clock()
    guard = FloodGuard(limit=2, window=10, clock=clock)
    assert [guard.check("u") for _ in range(4)] == [Verdict.ALLOW, Verdict.ALLOW,
                                                    Verdict.NOTIFY, Verdict.DROP]
    clock.now += 10.5
    assert guard.check("u") is Verdict.ALLOW
    assert guard.check("u") is Verdict.ALLOW
    assert guard.check("u") is Verdict.NOTIFY  # a new burst gets its own notice


def test_flood_forgets_idle_users_beyond_the_bound() -> None:
    guard = FloodGuard(limit=1, window=60, max_users=2)
    for user in ("a", "b", "c"):
        guard.check(user)
    assert guard.check("a") is Verdict.ALLOW  # "a" was evicted, so it starts afresh
    assert guard.check("c") is Verdict.NOTIFY

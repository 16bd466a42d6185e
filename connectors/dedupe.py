"""Platform retries are answered once: a store of message ids seen recently.

The interface is one coroutine so a database-backed store can replace the
in-memory one when the assistant runs as several processes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


class DedupeStore(Protocol):
    async def claim(self, key: str) -> bool:
        """True the first time `key` is claimed within the TTL, False for a repeat."""
        ...


class MemoryDedupeStore:
    """A TTL + LRU set: entries expire after `ttl` seconds, at most `max_entries` kept."""

    def __init__(self, ttl: float = 600.0, max_entries: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0 or max_entries <= 0:
            raise ValueError("ttl and max_entries must be positive")
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    async def claim(self, key: str) -> bool:
        now = self._clock()
        self._evict(now)
        if key in self._expiry:
            return False
        self._expiry[key] = now + self._ttl
        if len(self._expiry) > self._max:
            self._expiry.popitem(last=False)
        return True

    def _evict(self, now: float) -> None:
        # Entries are inserted in time order with one TTL, so the oldest expire first.
        while self._expiry:
            key, expires = next(iter(self._expiry.items()))
            if expires > now:
                break
            del self._expiry[key]

"""What every send client does alike: POST JSON with a timeout, turn transport
failures and HTTP statuses into the typed errors, retry with backoff and jitter
only when the request certainly did not take effect."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import aiohttp

from platforms.errors import (
    DeliveryError,
    DeliveryTimeout,
    InvalidCredentials,
    MessageRejected,
    PlatformUnavailable,
    RateLimited,
)

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]


class JsonApiClient:
    platform: ClassVar[str] = "platform"

    def __init__(self, session: aiohttp.ClientSession, *, base_url: str, timeout: float = 10.0,
                 max_retries: int = 2, backoff: float = 0.5, sleep: Sleep = asyncio.sleep) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_retries = max_retries
        self._backoff = backoff
        self._sleep = sleep

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def post_json(self, url: str, payload: Mapping[str, Any], *,
                        params: Mapping[str, str] | None = None,
                        headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """POST and return the platform's JSON answer once `check` accepted it."""
        attempt = 0
        while True:
            try:
                status, data = await self._post_once(url, payload, params, headers)
                self.check(status, data)
                return data
            except DeliveryError as exc:
                if not exc.retry_safe or attempt >= self._max_retries:
                    raise
                delay = self._backoff * (2 ** attempt) * (1 + random.random())
                attempt += 1
                logger.info("%s: retrying in %.2fs after: %s", self.platform, delay, exc)
                await self._sleep(delay)

    async def _post_once(self, url: str, payload: Mapping[str, Any],
                         params: Mapping[str, str] | None,
                         headers: Mapping[str, str] | None) -> tuple[int, dict[str, Any]]:
        try:
            async with self._session.post(url, json=payload, params=params, headers=headers,
                                          timeout=self._timeout) as resp:
                status = resp.status
                retry_after = _seconds(resp.headers.get("Retry-After")
                                       or resp.headers.get("x-ogw-ratelimit-reset"))
                text = await resp.text()
        except asyncio.TimeoutError as exc:
            raise DeliveryTimeout("no answer in time", platform=self.platform) from exc
        except aiohttp.ClientConnectorError as exc:
            raise PlatformUnavailable(f"cannot connect: {exc.os_error}", platform=self.platform,
                                      retry_safe=True) from exc
        except aiohttp.ClientError as exc:
            raise PlatformUnavailable(f"connection failed: {type(exc).__name__}",
                                      platform=self.platform) from exc
        if status == 429:
            raise RateLimited("HTTP 429", platform=self.platform, code=429,
                              retry_after=retry_after)
        if status >= 500:
            raise PlatformUnavailable(f"HTTP {status}", platform=self.platform, code=status,
                                      retry_safe=status in (502, 503, 504))
        try:
            data = _json(text)
        except ValueError as exc:
            if status in (401, 403):
                raise InvalidCredentials(f"HTTP {status}", platform=self.platform,
                                         code=status) from exc
            raise MessageRejected(f"HTTP {status}, answer is not JSON", platform=self.platform,
                                  code=status) from exc
        return status, data

    def check(self, status: int, data: dict[str, Any]) -> None:
        """Raise the right error for the platform's answer; the default looks at HTTP only."""
        if status in (401, 403):
            raise InvalidCredentials(f"HTTP {status}", platform=self.platform, code=status)
        if status >= 400:
            raise MessageRejected(f"HTTP {status}", platform=self.platform, code=status)


def _json(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None

"""Checks every protocol uses: constant-time comparison and the timestamp window."""

from __future__ import annotations

import hmac

from platforms.errors import StaleRequest, VerificationFailed


def same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def require_signature(expected: str, given: str | None, what: str = "signature") -> None:
    if not given:
        raise VerificationFailed(f"missing {what}")
    if not same(expected, given):
        raise VerificationFailed(f"wrong {what}")


def check_fresh(timestamp: str | None, now: float, max_skew: float, *, millis: bool = False) -> None:
    """Reject a request whose timestamp is missing or more than `max_skew` s from now."""
    if not timestamp:
        raise VerificationFailed("missing timestamp")
    try:
        value = float(timestamp)
    except ValueError as exc:
        raise VerificationFailed("timestamp is not a number") from exc
    if millis:
        value /= 1000.0
    if abs(now - value) > max_skew:
        raise StaleRequest(f"timestamp {abs(now - value):.0f}s away from now")

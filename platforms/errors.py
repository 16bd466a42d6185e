"""One exception tree for every connector.

Inbound errors say what HTTP status the webhook answers with; delivery errors
(raised by the send clients) say whether trying again later can help.

    ConnectorError
    ├── InboundError                 (status)
    │   ├── VerificationFailed       401 bad/missing signature or token
    │   │   └── StaleRequest         403 timestamp outside the allowed window
    │   └── MalformedPayload         400 not the JSON/XML the platform sends
    └── DeliveryError                (platform, code, transient)
        ├── TransientDeliveryError   try again later
        │   ├── PlatformUnavailable  network failure, 5xx, "system busy"
        │   ├── DeliveryTimeout      no answer in time (may have been delivered)
        │   └── RateLimited          platform throttles us (retry_after seconds)
        └── PermanentDeliveryError   retrying cannot help
            ├── InvalidCredentials   bad key, token, secret or signature
            └── MessageRejected      bad request, too large, expired reply URL
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of everything the connectors raise."""


class InboundError(ConnectorError):
    status = 400


class VerificationFailed(InboundError):
    status = 401


class StaleRequest(VerificationFailed):
    status = 403


class MalformedPayload(InboundError):
    status = 400


class DeliveryError(ConnectorError):
    transient = False

    def __init__(self, message: str, *, platform: str, code: int | str | None = None,
                 retry_safe: bool = False) -> None:
        super().__init__(f"{platform}: {message}" + (f" (code {code})" if code is not None else ""))
        self.platform = platform
        self.code = code
        # True when the request certainly did not take effect, so an immediate
        # retry cannot deliver the message twice.
        self.retry_safe = retry_safe


class TransientDeliveryError(DeliveryError):
    transient = True


class PlatformUnavailable(TransientDeliveryError):
    pass


class DeliveryTimeout(TransientDeliveryError):
    pass


class RateLimited(TransientDeliveryError):
    def __init__(self, message: str, *, platform: str, code: int | str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, platform=platform, code=code)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    pass


class InvalidCredentials(PermanentDeliveryError):
    pass


class MessageRejected(PermanentDeliveryError):
    pass

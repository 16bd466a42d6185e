"""The union website's web chat and the demo page: a small JSON API of our own.

The browser first asks for a session (`SessionSigner.issue()`: a random session id
and its issue time, signed with HMAC-SHA256), then sends it with every message in
the `X-Session` header (or a `session` body field):
POST {"group_id", "user_name", "text", "message_id"}; no group_id = 1:1. The user
id of a message is the session's (`web-<session id>`), never one the browser names,
so a browser cannot speak, be rate-limited or be deduplicated as somebody else.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from platforms.errors import MalformedPayload, VerificationFailed
from platforms.message import IncomingMessage, RawRequest, json_object

PLATFORM = "web"
BAD_REQUEST = "请求格式有误：需要 JSON 对象，且包含 text 字段"
NO_SESSION = "缺少会话凭证，请刷新页面后再试"
BAD_SESSION = "会话凭证无效，请刷新页面后再试"
EXPIRED_SESSION = "会话已过期，请刷新页面后再试"
SESSION_TTL = 12 * 3600.0
GUEST_NAME = "访客"

_SESSION_ID = re.compile(r"[0-9a-f]{32}")
_MAX_TOKEN = 200
_FUTURE_SKEW = 60.0  # a session issued "later" than now: clocks of several processes

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Session:
    session_id: str
    issued: int
    token: str

    @property
    def user_id(self) -> str:
        return f"web-{self.session_id}"


class SessionSigner:
    """Issues and checks session tokens `<id>.<issued>.<hmac-sha256 hex>`. The key may
    be given as a callable, called once on first use (e.g. to read it from a file)."""

    def __init__(self, key: bytes | Callable[[], bytes], ttl: float = SESSION_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self.ttl = ttl
        self.clock = clock

    def _mac(self, payload: str) -> str:
        if callable(self._key):
            self._key = self._key()
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self) -> Session:
        session_id, issued = secrets.token_hex(16), int(self.clock())
        payload = f"{session_id}.{issued}"
        return Session(session_id, issued, f"{payload}.{self._mac(payload)}")

    def verify(self, token: str | None) -> Session:
        if not token:
            raise VerificationFailed(NO_SESSION)
        parts = token.split(".") if len(token) <= _MAX_TOKEN and token.isascii() else []
        if (len(parts) != 3 or not _SESSION_ID.fullmatch(parts[0])
                or not (parts[1].isascii() and parts[1].isdigit())):
            raise VerificationFailed(BAD_SESSION)
        session_id, issued, mac = parts
        if not hmac.compare_digest(self._mac(f"{session_id}.{issued}"), mac):
            raise VerificationFailed(BAD_SESSION)
        age = self.clock() - int(issued)
        if age > self.ttl or age < -_FUTURE_SKEW:
            raise VerificationFailed(EXPIRED_SESSION)
        return Session(session_id, int(issued), token)


class WebChatProtocol:
    def __init__(self, sessions: SessionSigner) -> None:
        self.sessions = sessions

    def handle(self, raw: RawRequest) -> IncomingMessage:
        # Authenticate before parsing; only without the header is the body read first
        # (a page that cannot set headers sends the session as a field).
        token = raw.headers.get("x-session")
        body: dict[str, Any] | None = None
        if not token:
            body = _body(raw)
            token = body.get("session") if isinstance(body.get("session"), str) else None
        user_id = self.sessions.verify(token).user_id
        if body is None:
            body = _body(raw)
        if not isinstance(body.get("text"), str):
            raise MalformedPayload(BAD_REQUEST)
        message_id = str(body.get("message_id") or "")[:128]
        return IncomingMessage(
            platform=PLATFORM,
            # Without a client message id there is nothing to dedupe on: use a fresh one.
            message_id=message_id or uuid.uuid4().hex,
            user_id=user_id,
            user_name=str(body.get("user_name") or GUEST_NAME)[:32],
            text=body["text"],
            group_id=str(body.get("group_id") or "")[:64] or None,
            dedupe_key=f"{user_id}:{message_id}" if message_id else "",
        )


def _body(raw: RawRequest) -> dict[str, Any]:
    try:
        return json_object(raw.body)
    except MalformedPayload as exc:
        raise MalformedPayload(BAD_REQUEST) from exc


def parse_networks(values: Iterable[Any]) -> tuple[IPNetwork, ...]:
    """`trusted_proxies` entries (addresses or CIDR ranges); ValueError names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {value!r} is not an address or range") from exc
    return tuple(networks)


def client_address(peer: str, forwarded_for: Sequence[str],
                   trusted: Sequence[IPNetwork]) -> str:
    """The address to rate-limit: the peer's, unless the peer is a trusted proxy; then
    the X-Forwarded-For hop that the trusted proxies appended (the rightmost hop that
    is not itself a trusted proxy). Hops further left are written by the client, so
    they are never believed; with no trusted proxy, X-Forwarded-For is ignored."""
    if not _trusted(_ip(peer), trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return peer  # not written by a proxy we trust
        if not _trusted(address, trusted):
            return str(address)
    return str(_ip(hops[0])) if hops else peer


def rate_key(address: str) -> str:
    """One key per IPv4 address and per IPv6 /64 (what one subscriber gets)."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip) if ip is not None else address


def _trusted(address: IPAddress | None, trusted: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in trusted)


def _ip(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("["):              # "[2001:db8::1]:443"
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:            # "203.0.113.5:5678"
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address

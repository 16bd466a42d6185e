"""A fake of the *send side* of the four group-chat platforms, for the broadcaster.

One aiohttp server answers WeCom group-robot webhooks, DingTalk custom-robot sends,
Feishu custom-bot hooks and OneBot v11 ``send_group_msg`` with the platforms' own
error codes. It enforces and measures each platform's rate limit (sliding windows per
robot, hook or QQ account), injects faults, records every message each group received
and counts duplicates, so tests and benchmarks can check "nothing lost, nothing
doubled, rate limits never exceeded".

In-process::

    async with FakeGroupPlatforms(latency=0.01) as fake:
        url = fake.url("wecom", "grid-001")   # what a directory row would hold
        ...
        assert fake.duplicates() == 0 and not fake.violations

Out of process: ``python -m tests.fakes.broadcast --port 8900 --latency 0.05`` prints
``READY <port>`` once listening and runs until SIGTERM; ``GET /_fake/stats``,
``GET /_fake/received``, ``POST /_fake/config`` and ``POST /_fake/faults`` control it.

Every send call sleeps ``latency``, then takes the first pending fault meant for its
target, then (unless a fault answered) checks target, auth and signature, then the rate
limit, then the size, and finally records the message.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import signal
import time
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.signing import dingtalk_sign

PLATFORMS = ("wecom", "dingtalk", "feishu", "onebot")
FAULT_KINDS = ("error", "timeout", "accept_then_timeout", "rate_limit", "busy")
Limits = tuple[tuple[int, float], ...]  # (messages, sliding window in seconds), all enforced
SIGN_WINDOW = 3600.0  # seconds a signed timestamp may be off
WECOM_MAX = {"text": 2048, "markdown": 4096}  # content bytes, UTF-8
DINGTALK_MAX = 20_000  # body bytes
FEISHU_MAX = 20 * 1024  # body bytes

# (HTTP status, JSON body) of each platform's answers.
_ANSWERS: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {
    "wecom": {
        "ok": (200, {"errcode": 0, "errmsg": "ok"}),
        "invalid": (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
        "rate_limit": (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
        "oversize": (200, {"errcode": 40058, "errmsg": "content exceed max length"}),
        "busy": (200, {"errcode": -1, "errmsg": "system busy"}),
    },
    "dingtalk": {
        "ok": (200, {"errcode": 0, "errmsg": "ok"}),
        "invalid": (200, {"errcode": 300001, "errmsg": "token is not exist"}),
        "bad_sign": (200, {"errcode": 310000, "errmsg": "sign not match"}),
        "rate_limit": (200, {"errcode": 130101,
                             "errmsg": "send too fast, exceed 20 times per minute"}),
        "oversize": (200, {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}),
        "busy": (200, {"errcode": -1, "errmsg": "系统繁忙"}),
    },
    "feishu": {
        "ok": (200, {"code": 0, "msg": "success", "data": {}}),
        "invalid": (200, {"code": 19001,
                          "msg": "param invalid: incoming webhook access token invalid"}),
        "bad_sign": (200, {"code": 19021, "msg": "sign match fail or timestamp is not within "
                                                 "one hour from current time"}),
        "rate_limit": (429, {"code": 99991400, "msg": "request trigger frequency limit"}),
        "oversize": (200, {"code": 9499, "msg": "Bad Request"}),
    },
    "onebot": {
        "ok": (200, {"status": "ok", "retcode": 0, "data": {}}),
        "invalid": (200, {"status": "failed", "retcode": 1200, "message": "群不存在",
                          "data": None}),
        "unauthorized": (401, {"status": "failed", "retcode": 1403,
                               "message": "token verify failed", "data": None}),
        "rate_limit": (200, {"status": "failed", "retcode": 100, "message": "发送频率过快",
                             "data": None}),
    },
}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _answer(platform: str, what: str, **data: Any) -> web.Response:
    status, body = _ANSWERS[platform].get(what, (503, {"error": "service unavailable"}))
    if data:
        body = {**body, "data": data}
    headers = {"x-ogw-ratelimit-reset": "1"} if status == 429 else None
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


def feishu_sign(timestamp: str, secret: str) -> str:
    """The custom bot's signature: an HMAC keyed by "timestamp\\nsecret" over nothing."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _signed(timestamp: str, sign: str, secret: str, *, scale: float,
            signer: Callable[[str, str], str]) -> bool:
    try:
        sent = int(timestamp) / scale
    except ValueError:
        return False
    return (abs(time.time() - sent) <= SIGN_WINDOW
            and hmac.compare_digest(sign.encode(), signer(timestamp, secret).encode()))


@dataclass(frozen=True)
class Received:
    target: str  # "<platform>:<robot key | token | hook id | group id>"
    text: str
    at: float  # time.monotonic() when it was accepted
    platform: str


@dataclass(frozen=True)
class Violation:
    target: str
    platform: str
    at: float
    detail: str


@dataclass(frozen=True)
class BroadcastFault:
    kind: str
    target: str | None = None
    status: int = 500
    seconds: float = 30.0


class FaultQueue:
    """Faults consumed in order, one per send call; a targeted one waits for its target."""

    def __init__(self) -> None:
        self._queue: list[BroadcastFault] = []

    def add(self, kind: str, times: int = 1, target: str | None = None, status: int = 500,
            seconds: float = 30.0) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}, expected one of {FAULT_KINDS}")
        self._queue.extend(BroadcastFault(kind, target, status, seconds) for _ in range(times))

    def take(self, target: str) -> BroadcastFault | None:
        for index, fault in enumerate(self._queue):
            if fault.target is None or fault.target == target:
                return self._queue.pop(index)
        return None

    def clear(self) -> None:
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)


@dataclass
class _Call:
    platform: str
    target: str
    text: str
    window: str  # whose rate limit applies: the robot/hook, or the QQ account
    oversize: bool = False
    denied: str | None = None  # "invalid", "bad_sign" or "unauthorized"


class FakeGroupPlatforms:
    """The send APIs of WeCom, DingTalk, Feishu and OneBot, with measured rate limits."""

    def __init__(self, *, port: int = 0, latency: float = 0.0,
                 invalid_targets: Iterable[str] = (), secrets: Mapping[str, str] | None = None,
                 wecom_limit: tuple[int, float] = (20, 60.0),
                 dingtalk_limit: tuple[int, float] = (20, 60.0),
                 dingtalk_throttle: float = 600.0,
                 feishu_limits: Limits = ((5, 1.0), (100, 60.0)),
                 onebot_limit: tuple[int, float] = (1, 1.0),
                 onebot_access_token: str | None = None) -> None:
        self.port = port
        self.latency = latency
        self.invalid_targets: set[str] = set(invalid_targets)  # target ids ("wecom:K")
        # keyed by target id ("dingtalk:T", "feishu:H") or by the bare token / hook id
        self.secrets: dict[str, str] = dict(secrets or {})
        self.limits: dict[str, Limits] = {"wecom": (wecom_limit,), "dingtalk": (dingtalk_limit,),
                                          "feishu": tuple(feishu_limits),
                                          "onebot": (onebot_limit,)}
        self.dingtalk_throttle = dingtalk_throttle
        self.onebot_access_token = onebot_access_token
        self.faults = FaultQueue()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._arrived = asyncio.Event()
        self._in_flight = 0
        self._message_id = 0
        self.reset()

    # --- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def onebot_base_url(self) -> str:
        return f"{self.base_url}/onebot"

    def url(self, platform: str, target_id: str) -> str:
        """The send URL a directory row holds for this group (OneBot: the API base)."""
        target_id = target_id.removeprefix(f"{platform}:")
        paths = {"wecom": f"/cgi-bin/webhook/send?key={target_id}",
                 "dingtalk": f"/robot/send?access_token={target_id}",
                 "feishu": f"/open-apis/bot/v2/hook/{target_id}", "onebot": "/onebot"}
        return self.base_url + paths[platform]

    async def start(self) -> FakeGroupPlatforms:
        app = web.Application()
        route = app.router.add_post
        route("/cgi-bin/webhook/send", self._sender(self._parse_wecom))
        route("/webhook/send", self._sender(self._parse_wecom))
        route("/robot/send", self._sender(self._parse_dingtalk))
        route("/open-apis/bot/v2/hook/{hook_id}", self._sender(self._parse_feishu))
        route("/onebot/send_group_msg", self._sender(self._parse_onebot))
        route("/onebot/{account}/send_group_msg", self._sender(self._parse_onebot))
        app.router.add_get("/_fake/stats", self._stats)
        app.router.add_get("/_fake/received", self._received)
        route("/_fake/config", self._config)
        route("/_fake/faults", self._add_fault)
        self._closing.clear()
        # handler_cancellation: a request whose client gave up stops counting as in flight
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        self._closing.set()  # wakes every injected sleep
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGroupPlatforms:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # --- what tests and benchmarks read ------------------------------------------------
    def reset(self) -> None:
        """Forget everything received and measured, and every pending fault."""
        self.received: list[Received] = []
        self.by_target: dict[str, list[str]] = {}
        self.violations: list[Violation] = []
        self.calls = 0
        self.oversize = 0
        self.faults_applied = 0
        self.max_in_flight = self._in_flight
        self.faults.clear()
        self._copies: Counter[tuple[str, str]] = Counter()
        self._sent: dict[str, deque[float]] = {}
        self._throttled_until: dict[str, float] = {}

    def duplicates(self) -> int:
        """Extra copies of (target, text) pairs: a message received 3 times counts 2."""
        return sum(count - 1 for count in self._copies.values() if count > 1)

    def stats(self) -> dict[str, Any]:
        by_platform = Counter(v.platform for v in self.violations)
        return {
            "received": len(self.received),
            "targets": len(self.by_target),
            "duplicates": self.duplicates(),
            "violations": len(self.violations),
            "violations_by_platform": {p: by_platform[p] for p in PLATFORMS},
            "oversize": self.oversize,
            "max_in_flight": self.max_in_flight,
            "calls": self.calls,
            "faults_applied": self.faults_applied,
            "faults_pending": len(self.faults),
        }

    async def wait_received(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` messages were accepted in total."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {count} messages, got {len(self.received)}")
            self._arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=remaining)
        return list(self.received)

    # --- the send pipeline -----------------------------------------------------------
    def _sender(self, parse: Callable[[web.Request, bytes, dict[str, Any]], _Call]
                ) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            self.calls += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                if self.latency > 0:
                    await self._sleep(self.latency)
                raw = await request.read()
                try:
                    body = json.loads(raw)
                    if not isinstance(body, dict):
                        raise ValueError("the body is not a JSON object")
                    call = parse(request, raw, body)
                except (ValueError, KeyError, TypeError) as exc:
                    return web.json_response({"error": f"bad request: {exc!r}"}, status=400)
                fault = self.faults.take(call.target)
                if fault is None:
                    return self._process(call)
                self.faults_applied += 1
                return await self._fault(fault, call)
            finally:
                self._in_flight -= 1
        return handle

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)

    async def _fault(self, fault: BroadcastFault, call: _Call) -> web.Response:
        if fault.kind == "error":
            return web.json_response({"error": "injected error"}, status=fault.status)
        if fault.kind in ("busy", "rate_limit"):
            return _answer(call.platform, fault.kind)
        if fault.kind == "accept_then_timeout":
            self._process(call)  # delivered (when valid), but the answer never arrives
        await self._sleep(fault.seconds)
        return web.json_response({"error": "gateway timeout"}, status=504)

    def _process(self, call: _Call) -> web.Response:
        if call.denied:
            return _answer(call.platform, call.denied)
        detail = self._over_limit(call)
        if detail is not None:
            self.violations.append(Violation(call.target, call.platform, time.monotonic(),
                                             detail))
            if call.platform != "onebot":  # QQ delivers, and flags the account
                return _answer(call.platform, "rate_limit")
        if call.oversize:
            self.oversize += 1
            return _answer(call.platform, "oversize")
        now = time.monotonic()
        self.received.append(Received(call.target, call.text, now, call.platform))
        self.by_target.setdefault(call.target, []).append(call.text)
        self._copies[(call.target, call.text)] += 1
        self._sent.setdefault(call.window, deque()).append(now)
        self._arrived.set()
        if call.platform == "onebot":
            self._message_id += 1
            return _answer("onebot", "ok", message_id=self._message_id)
        return _answer(call.platform, "ok")

    def _over_limit(self, call: _Call) -> str | None:
        """Why one more message now would break the platform's limit, or None."""
        now = time.monotonic()
        until = self._throttled_until.get(call.window, 0.0)
        if now < until:
            return f"throttled for another {until - now:.0f}s"
        limits = self.limits[call.platform]
        sent = self._sent.get(call.window)
        if not sent:
            return None
        horizon = now - max(window for _, window in limits)
        while sent and sent[0] <= horizon:
            sent.popleft()
        for count, window in limits:
            recent = len(sent) - bisect_right(sent, now - window)  # sent is ascending
            if recent >= count:
                if call.platform == "dingtalk":
                    self._throttled_until[call.window] = now + self.dingtalk_throttle
                return f"{call.window}: message {recent + 1} within {window:g}s (limit {count})"
        return None

    def _secret(self, target: str, raw_id: str) -> str | None:
        return self.secrets.get(target, self.secrets.get(raw_id))

    # --- platform payloads ---------------------------------------------------------------
    def _parse_wecom(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> _Call:
        key = request.query.get("key", "")
        kind = body.get("msgtype")
        if kind not in WECOM_MAX:
            raise ValueError(f"unsupported msgtype {kind!r}")
        text = str(body[kind]["content"])
        call = _Call("wecom", f"wecom:{key}", text, f"wecom:{key}",
                     oversize=len(text.encode()) > WECOM_MAX[kind])
        if not key or call.target in self.invalid_targets:
            call.denied = "invalid"
        return call

    def _parse_dingtalk(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> _Call:
        query = request.query
        token = query.get("access_token", "")
        kind = body.get("msgtype")
        if kind not in ("text", "markdown"):
            raise ValueError(f"unsupported msgtype {kind!r}")
        text = str(body["text"]["content"] if kind == "text" else body["markdown"]["text"])
        call = _Call("dingtalk", f"dingtalk:{token}", text, f"dingtalk:{token}",
                     oversize=len(raw) > DINGTALK_MAX)
        secret = self._secret(call.target, token)
        if not token or call.target in self.invalid_targets:
            call.denied = "invalid"
        elif secret is not None and not _signed(query.get("timestamp", ""), query.get("sign", ""),
                                                secret, scale=1000.0, signer=dingtalk_sign):
            call.denied = "bad_sign"
        return call

    def _parse_feishu(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> _Call:
        hook = request.match_info["hook_id"]
        kind = body.get("msg_type")
        content = body.get("content") or {}
        text = (str(content["text"]) if kind == "text"
                else json.dumps(content, ensure_ascii=False, sort_keys=True))
        call = _Call("feishu", f"feishu:{hook}", text, f"feishu:{hook}",
                     oversize=len(raw) > FEISHU_MAX)
        secret = self._secret(call.target, hook)
        if call.target in self.invalid_targets:
            call.denied = "invalid"
        elif secret is not None and not _signed(str(body.get("timestamp", "")),
                                                str(body.get("sign", "")), secret,
                                                scale=1.0, signer=feishu_sign):
            call.denied = "bad_sign"
        return call

    def _parse_onebot(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> _Call:
        account = request.match_info.get("account", "default")
        message = body["message"]
        text = message if isinstance(message, str) else "".join(
            str(segment["data"]["text"]) for segment in message if segment.get("type") == "text")
        target = f"onebot:{body['group_id']}"
        call = _Call("onebot", target, text, f"onebot-account:{account}")
        token = self.onebot_access_token
        if token and not hmac.compare_digest(request.headers.get("Authorization", ""),
                                             f"Bearer {token}"):
            call.denied = "unauthorized"
        elif target in self.invalid_targets:
            call.denied = "invalid"
        return call

    # --- control API for out-of-process use ------------------------------------------
    async def _stats(self, _: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _received(self, _: web.Request) -> web.Response:
        return web.json_response(self.by_target, dumps=_dumps)

    async def _config(self, request: web.Request) -> web.Response:
        data = await request.json()
        if data.get("reset"):
            self.reset()
        if "latency" in data:
            self.latency = float(data["latency"])
        if "invalid_targets" in data:
            self.invalid_targets = set(data["invalid_targets"])
        if "secrets" in data:
            self.secrets = dict(data["secrets"])
        return web.json_response({"latency": self.latency,
                                  "invalid_targets": sorted(self.invalid_targets),
                                  "secrets": sorted(self.secrets)})

    async def _add_fault(self, request: web.Request) -> web.Response:
        data = await request.json()
        try:
            self.faults.add(str(data["kind"]), times=int(data.get("times", 1)),
                            target=data.get("target"), status=int(data.get("status", 500)),
                            seconds=float(data.get("seconds", 30.0)))
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": repr(exc)}, status=400)
        return web.json_response({"pending": len(self.faults)})


async def _serve(port: int, latency: float) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    async with FakeGroupPlatforms(port=port, latency=latency) as fake:
        print(f"READY {fake.port}", flush=True)
        await stopping.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake group-chat send APIs for broadcasts.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per send call")
    args = parser.parse_args(argv)
    # uvloop, like the dispatcher: the fake's own overhead should not inflate the latency
    # it simulates (both processes share the machine in the benchmark).
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_serve(args.port, args.latency))


if __name__ == "__main__":
    main()

"""The web chat does not trust the browser: a signed session names the user, each
client address has its own limit (X-Forwarded-For only from trusted proxies), a
long backlog answers "busy", and the notice feed range-checks `after`."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from connectors import notices
from connectors.webchat import ADDRESS_FLOOD_LIMIT, SECRET_FILE, WebChatInput, load_secret
from core.settings import Settings
from platforms.protocol.webchat import BAD_SESSION, EXPIRED_SESSION, NO_SESSION, SessionSigner
from tests.fakes import FakeWebChat
from tests.fakes.base import BotResponse
from tests.fakes.harness import JOIN_ANSWER, Stack
from tests.fakes.webchat import SESSION_SECRET


def _fake(stack: Stack) -> FakeWebChat:
    assert isinstance(stack.fake, FakeWebChat)
    return stack.fake


async def _post(fake: FakeWebChat, body: dict[str, Any], token: str | None,
                **headers: str) -> BotResponse:
    if token is not None:
        headers["X-Session"] = token
    return await fake.post(fake.bot_url, json.dumps(body, ensure_ascii=False).encode(),
                           headers={"Content-Type": "application/json", **headers})


QUESTION = {"group_id": "20001", "user_name": "王师傅", "text": "@云博士 农民工怎么入会？"}


async def test_a_session_is_issued_and_names_the_user(stack_factory) -> None:
    stack: Stack = await stack_factory("webchat")
    fake = _fake(stack)
    issued = await fake.new_session()
    assert issued["user_id"].startswith("web-") and issued["expires_in"] == 12 * 3600
    response = await _post(fake, {**QUESTION, "user_id": "u-wang"}, issued["session"])
    assert response.json() == {"replies": [{"text": f"@王师傅 {JOIN_ANSWER}"}]}
    [message] = stack.agent.messages
    assert message.metadata["user_id"] == issued["user_id"]  # not the body's "u-wang"


@pytest.mark.parametrize("token, error", [(None, NO_SESSION), ("forged", BAD_SESSION),
                                          ("expired", EXPIRED_SESSION)])
async def test_missing_forged_and_expired_sessions_get_401(stack_factory, token: str | None,
                                                           error: str) -> None:
    stack: Stack = await stack_factory("webchat")
    fake = _fake(stack)
    if token == "forged":
        good = (await fake.new_session())["session"]
        token = good[:-1] + ("0" if good[-1] != "0" else "1")
    elif token == "expired":
        token = SessionSigner(SESSION_SECRET.encode(),
                              clock=lambda: time.time() - 13 * 3600).issue().token
    response = await _post(fake, QUESTION, token)
    assert response.status == 401
    assert response.json() == {"error": error}
    await asyncio.sleep(0.1)
    assert stack.agent.messages == []


async def test_the_session_may_travel_in_the_body(stack_factory) -> None:
    stack: Stack = await stack_factory("webchat")
    fake = _fake(stack)
    token = (await fake.new_session())["session"]
    response = await _post(fake, {**QUESTION, "session": token}, None)
    assert response.json()["replies"][0]["text"].endswith(JOIN_ANSWER)


async def test_naming_a_victim_neither_silences_nor_dedupes_them(stack_factory) -> None:
    stack: Stack = await stack_factory("webchat", flood_limit=3)
    fake = _fake(stack)
    attacker, victim = (await fake.new_session())["session"], (await fake.new_session())["session"]
    for n in range(5):  # the attacker floods in the victim's name, reusing their message id
        await _post(fake, {**QUESTION, "user_id": "victim", "message_id": f"m-{n}"}, attacker)
    for n in range(3):
        response = await _post(fake, {**QUESTION, "user_id": "victim", "message_id": f"m-{n}"},
                               victim)
        assert response.json()["replies"] == [{"text": f"@王师傅 {JOIN_ANSWER}"}], n


async def test_rotating_sessions_hit_the_per_address_limit(stack_factory) -> None:
    stack: Stack = await stack_factory("webchat")
    fake = _fake(stack)
    sessions = [(await fake.new_session())["session"] for _ in range(20)]
    started = time.monotonic()
    answers = [await _post(fake, {**QUESTION, "group_id": f"web-g{n:02d}"}, token)
               for n, token in enumerate(sessions)]
    assert time.monotonic() - started < 10
    answered = [a for a in answers if a.status == 200 and a.json()["replies"]]
    assert len(answered) == ADDRESS_FLOOD_LIMIT < 20
    refused = answers[ADDRESS_FLOOD_LIMIT:]
    assert {(a.status, a.json()["error"]) for a in refused} == {(429, notices.ADDRESS_FLOODED)}
    assert len(stack.agent.messages) == ADDRESS_FLOOD_LIMIT


async def test_x_forwarded_for_is_ignored_without_trusted_proxies(stack_factory) -> None:
    stack: Stack = await stack_factory("webchat", address_flood_limit=2)
    fake = _fake(stack)
    token = (await fake.new_session())["session"]
    statuses = [(await _post(fake, QUESTION, token, **{"X-Forwarded-For": f"198.51.100.{n}"}))
                .status for n in range(3)]
    assert statuses == [200, 200, 429]


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(stack_factory) -> None:
    stack: Stack = await stack_factory("webchat", address_flood_limit=2,
                                       trusted_proxies=["127.0.0.1"])
    fake = _fake(stack)
    token = (await fake.new_session())["session"]

    async def status(forwarded: str) -> int:
        return (await _post(fake, QUESTION, token, **{"X-Forwarded-For": forwarded})).status

    assert [await status("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    # A client cannot escape by writing its own hop: only the proxy's (rightmost) counts.
    assert await status("203.0.113.9, 198.51.100.1") == 429
    assert await status("198.51.100.2") == 200


async def test_a_long_backlog_answers_busy(stack_factory) -> None:
    stack: Stack = await stack_factory("webchat", max_concurrent_turns=1, max_waiting_turns=1)
    stack.agent.delay = 0.6
    fake = _fake(stack)
    token = (await fake.new_session())["session"]
    first = asyncio.ensure_future(_post(fake, QUESTION, token))
    second = asyncio.ensure_future(_post(fake, {**QUESTION, "message_id": "b"}, token))
    await asyncio.sleep(0.3)
    busy = await _post(fake, {**QUESTION, "message_id": "c"}, token)
    assert (busy.status, busy.json()) == (503, {"error": notices.BUSY})
    assert notices.BUSY.startswith("现在提问的人比较多")
    assert [(await first).status, (await second).status] == [200, 200]


@pytest.mark.parametrize("after, words", [
    ("1" * 23, "超出范围"),
    (str(2**63), "超出范围"),
    ("9" * 5000, "超出范围"),
    ("²", "非负整数"),
    ("-1", "非负整数"),
])
async def test_notice_feed_range_checks_after(stack_factory, after: str, words: str) -> None:
    stack: Stack = await stack_factory("webchat")
    fake = _fake(stack)
    url = fake.bot_url.rsplit("/", 1)[0] + "/notices"
    response = await fake.post(url, b"", params={"group_id": "web-x", "after": after},
                               method="GET")
    assert response.status == 400
    assert words in response.json()["error"]


def test_the_generated_secret_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / SECRET_FILE
    secret = load_secret(path)
    assert len(secret) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(path) == secret
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]
    path.chmod(0o644)
    assert load_secret(path) == secret and stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_without_a_configured_secret_one_is_generated_in_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    Settings.forget_current()
    try:
        channel = WebChatInput.from_credentials({})
        assert isinstance(channel, WebChatInput)
        assert not (tmp_path / SECRET_FILE).exists()  # read on first use, not at start-up
        token = channel.new_session()
        assert token.status == 200
        assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
        again = WebChatInput.from_credentials({})
        assert isinstance(again, WebChatInput)
        again.sessions.verify(json.loads(token.body or b"")["session"])  # a restart keeps sessions
    finally:
        Settings.forget_current()

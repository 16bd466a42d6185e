"""The knowledge base and unanswered-queue pages over the real staff app: read by every
profile, changed only by admin and district staff; edit with preview, version check
(EditConflict in Chinese), history and rollback, fields; the queue scoped, masked,
newest first, with add-as-example, improve and dismiss; every change audited."""

from __future__ import annotations

import html
import re

import pytest

from console.audit import AuditLog
from console.pages_knowledge import KNOWLEDGE, diff
from console.permissions import PERMISSIONS, Perm, Profile
from console.routing import permissions_of
from knowledge.model import SourceKind
from knowledge.service import KnowledgeBase
from tests.insight_scenario import at, faq, intent, nlu_fallback, turn
from tests.integration.console.conftest import OTHER_GRID, OWN_GRID, Desk
from tests.unit.console.conftest import OTHER_GROUP, OWN_GROUP, ingested, write_turns

pytestmark = pytest.mark.asyncio(loop_scope="module")
FAQ = "utter_faq/join_union"
VERSION = re.compile(r'name="version" value="(\d+)"')


def kb_of(desk: Desk) -> KnowledgeBase:
    return desk.server.app[KNOWLEDGE]


def audits(desk: Desk, action: str) -> list[str]:
    log = AuditLog(desk.service.engine)
    return [f"{e.username} {e.target} {e.detail}" for e in log.latest(action=action)]


def item_id(page: str, kind: str, text: str) -> str:
    """The id of the queue item of `kind` whose entry shows `text`."""
    for block in page.split('<li class="ticket-row card queue-item"')[1:]:
        found = re.match(r' id="q-(\w+)-([\w-]+)"', block)
        if found and found.group(1) == kind and text in block.split("</li>")[0]:
            return found.group(2)
    raise AssertionError(f"no {kind} item showing {text}")


def test_who_may_change_the_knowledge_base() -> None:
    assert Perm.KNOWLEDGE_EDIT in PERMISSIONS[Profile.ADMIN]
    assert Perm.KNOWLEDGE_EDIT in PERMISSIONS[Profile.DISTRICT_STAFF]
    assert Perm.KNOWLEDGE_EDIT not in PERMISSIONS[Profile.STREET_STAFF]
    assert Perm.KNOWLEDGE_EDIT not in PERMISSIONS[Profile.COORDINATOR]
    for profile in Profile:
        assert {Perm.KNOWLEDGE_VIEW, Perm.INSIGHT_VIEW} <= PERMISSIONS[profile]


def test_diff_marks_removed_and_added_characters() -> None:
    parts = [(s.op, s.text) for s in diff("每天八点开门", "每天九点开门")]
    assert parts == [("same", "每天"), ("old", "八"), ("new", "九"), ("same", "点开门")]


async def test_every_route_declares_a_permission_and_the_guard_enforces_it(desk: Desk) -> None:
    from console import pages_insight, pages_knowledge

    table = permissions_of(desk.server.app)
    declared = [*pages_knowledge.routes.declared, *pages_insight.routes.declared]
    by_path = {(r.method, r.resource.canonical): p for r, p in table.items() if r.resource}
    profiles = {"admin": Profile.ADMIN, "district": Profile.DISTRICT_STAFF,
                "street": Profile.STREET_STAFF, "coordinator": Profile.COORDINATOR}
    visitor = await desk.browser()
    for d in declared:
        assert by_path[(d.method, d.path)] is d.perm
        status, _, resp = await (visitor.get(d.path) if d.method == "GET"
                                 else visitor.post(d.path, {"x": "1"}, csrf=False))
        assert status == 303 and resp.headers["Location"].startswith("/login?next="), d.path
    for name, profile in profiles.items():
        browser = await desk.browser(name)
        for d in declared:
            status, text, _ = await (browser.get(d.path) if d.method == "GET"
                                     else browser.post(d.path, {"name": FAQ}))
            if d.perm in PERMISSIONS[profile]:
                assert status not in (403, 500), (name, d.path, status)
            else:
                assert status == 403 and "没有使用这个页面的权限" in text, (name, d.path)


async def test_every_profile_reads_the_answers_only_editors_get_the_form(desk: Desk) -> None:
    for name in ("admin", "district", "street", "coordinator"):
        browser = await desk.browser(name)
        status, page, _ = await browser.get("/knowledge")
        assert status == 200 and "知识库" in page and FAQ in page
        assert "待训练的新问法" in page
        status, page, _ = await browser.get(f"/knowledge/answer?name={FAQ}")
        assert status == 200 and "修改记录" in page
        editable = name in ("admin", "district")
        assert ('action="/knowledge/answer"' in page) is editable, name
    browser = await desk.browser("district")
    status, page, _ = await browser.get("/knowledge/answer?name=utter_faq/nothing_like_this")
    assert status == 404 and "没有这个答复" in page


async def test_edit_with_preview_conflict_history_and_rollback(desk: Desk) -> None:
    kb = kb_of(desk)
    original = kb.get(FAQ)
    browser = await desk.browser("district")
    status, _, resp = await browser.post("/knowledge/fields", {
        "key": "hotline_hours", "value": "每天 8:30-20:00"})
    assert status == 303 and "done=" in resp.headers["Location"]
    assert kb.field("hotline_hours").value == "每天 8:30-20:00"
    _, page, _ = await browser.get(f"/knowledge/answer?name={FAQ}")
    version = int(VERSION.search(page).group(1))  # type: ignore[union-attr]
    new_text = "入会请到职工服务站登记，热线服务时间：[[hotline_hours]]。"
    texts = [new_text, *original.texts[1:]]

    # preview: the field is filled in, nothing saved
    status, page, _ = await browser.post("/knowledge/answer", [
        ("_csrf", browser.csrf), ("name", FAQ), ("version", str(version)),
        *[("text", t) for t in texts], ("action", "preview")])
    assert status == 200 and "职工看到的样子" in page
    assert "热线服务时间：每天 8:30-20:00。" in html.unescape(page)
    assert kb.get(FAQ).version == version

    # save: a new version, in the console's audit log too
    status, _, resp = await browser.post("/knowledge/answer", [
        ("_csrf", browser.csrf), ("name", FAQ), ("version", str(version)),
        *[("text", t) for t in texts], ("note", "热线时间"), ("action", "save")])
    assert status == 303, await resp.text()
    saved = kb.get(FAQ)
    assert saved.version == version + 1 and saved.texts[0] == new_text
    assert any(FAQ in a and f"第 {version + 1} 版" in a for a in audits(desk, "knowledge.edit"))

    # someone else's form, still at the old version: refused in Chinese, their text kept
    other = await desk.browser("admin")
    status, page, _ = await other.post("/knowledge/answer", [
        ("_csrf", other.csrf), ("name", FAQ), ("version", str(version)),
        ("text", "我的另一种改法"), *[("text", t) for t in texts[1:]], ("action", "save")])
    assert status == 409 and "刚被别人改过" in page and "我的另一种改法" in page
    assert kb.get(FAQ).texts[0] == new_text

    # an unknown field is refused with the knowledge base's reason
    status, page, _ = await browser.post("/knowledge/answer", [
        ("_csrf", browser.csrf), ("name", FAQ), ("version", str(saved.version)),
        ("text", "请看 [[no_such_field]]"), *[("text", t) for t in texts[1:]],
        ("action", "save")])
    assert status == 400 and "no_such_field" in page

    # history: old and new marked; rollback restores the old text as a new version
    _, page, _ = await browser.get(f"/knowledge/answer?name={FAQ}")
    assert "<del" in page and "<ins" in page and "热线时间" in page
    status, _, _ = await browser.post("/knowledge/rollback", {"name": FAQ,
                                                             "number": str(version)})
    assert status == 303
    rolled = kb.get(FAQ)
    assert rolled.texts == original.texts and rolled.version == version + 2
    assert any(f"恢复到第 {version} 版" in a for a in audits(desk, "knowledge.rollback"))

    # without the CSRF token nothing changes
    status, _, _ = await browser.post("/knowledge/rollback", {"name": FAQ, "number": "1"},
                                      csrf=False)
    assert status == 403 and kb.get(FAQ).version == rolled.version


async def test_the_queue_is_scoped_masked_and_triaged(desk: Desk) -> None:
    write_turns(desk, [
        turn(*OWN_GROUP, "u1", "那个东西咋弄 我电话13812345678", nlu_fallback("union_dues"),
             at(3, 2, 9, 5), actions=("action_cloud_doctor_fallback",), reply="抱歉"),
        turn(*OWN_GROUP, "u1", "转人工", intent("human_handoff"), at(3, 2, 9, 6),
             actions=("action_create_ticket",), reply="已登记"),
        turn(*OTHER_GROUP, "u2", "隔壁街道的问题咋办", nlu_fallback("join_union"),
             at(3, 3, 10), actions=("action_cloud_doctor_fallback",), reply="抱歉"),
        turn(*OWN_GROUP, "u3", "怎么入会", faq("join_union"), at(3, 3, 11)),
    ])
    await ingested(desk, 4)
    own_ticket = desk.ticket(OWN_GRID, question="工资拖欠，电话13900001111")
    other_ticket = desk.ticket(OTHER_GRID, question="别的街道的工单")

    coordinator = await desk.browser("coordinator")
    _, page, _ = await coordinator.get("/queue")
    assert "那个东西咋弄" in page and own_ticket in page
    assert "隔壁街道的问题" not in page and other_ticket not in page
    assert "13812345678" not in page and "138****5678" in page
    assert "13900001111" not in page
    assert "怎么入会" not in page                          # answered: not in the queue
    assert 'action="/queue/example"' not in page          # coordinators read only
    assert page.index(own_ticket) < page.index("那个东西咋弄")   # newest first

    district = await desk.browser("district")
    _, page, _ = await district.get("/queue")
    assert "隔壁街道的问题" in page and other_ticket in page
    fallback_id = item_id(page, "fallback", "那个东西咋弄")
    handoff_id = item_id(page, "handoff", "转人工")
    pending = kb_of(desk).pending_examples_count()

    # (a) a training example of the chosen topic, masked; the item is handled
    status, _, resp = await district.post("/queue/example", {
        "kind": "fallback", "id": fallback_id, "topic": "union_dues"})
    assert status == 303 and "error" not in resp.headers["Location"]
    examples = [e for e in kb_of(desk).examples() if e.topic == "union_dues"]
    assert any(e.text.startswith("那个东西咋弄") and "138****5678" in e.text
               for e in examples), [e.text for e in examples]
    assert kb_of(desk).pending_examples_count() == pending + 1
    _, page, _ = await district.get("/queue")
    assert "那个东西咋弄" not in page
    assert f'<b id="pending">{pending + 1}</b>' in page
    assert audits(desk, "knowledge.example")

    # (b) improve an answer from the hand-off: the form of the topic, then handled
    status, _, resp = await district.get(
        f"/queue/improve?kind=handoff&id={handoff_id}&topic=join_union")
    assert status == 303
    location = resp.headers["Location"]
    assert location.startswith("/knowledge/answer?name=utter_faq/join_union&source=handoff:")
    _, page, _ = await district.get(location.split("#")[0])
    assert "从这个问题改进答复" in page and "转人工" in page
    version = int(VERSION.search(page).group(1))  # type: ignore[union-attr]
    texts = list(kb_of(desk).get(FAQ).texts)
    status, _, _ = await district.post("/knowledge/answer", [
        ("_csrf", district.csrf), ("name", FAQ), ("version", str(version)),
        ("source", f"handoff:{handoff_id}"), ("text", texts[0] + "也可以转人工咨询。"),
        *[("text", t) for t in texts[1:]], ("action", "save")])
    assert status == 303
    assert handoff_id in kb_of(desk).handled_ids(SourceKind.HANDOFF)
    assert audits(desk, "knowledge.improve")

    # (c) dismiss the other street's ticket
    status, _, _ = await district.post("/queue/dismiss", {"kind": "ticket", "id": other_ticket,
                                                          "reason": "重复"})
    assert status == 303
    _, page, _ = await district.get("/queue")
    assert other_ticket not in page and f'id="q-handoff-{handoff_id}"' not in page
    assert own_ticket in page and "隔壁街道的问题" in page

    # an item outside the scope, or made up, cannot be triaged
    status, _, resp = await district.post("/queue/dismiss", {"kind": "fallback", "id": "999999"})
    assert status == 303 and "error=" in resp.headers["Location"]

"""The knowledge base (知识库) and the unanswered queue (待处理问题), over the
process's one `knowledge.service.KnowledgeBase` (`KNOWLEDGE`, set by `setup`).

- every answer (FAQ, referrals, small talk, follow-ups) grouped by topic, readable by
  every profile; editing (`Perm.KNOWLEDGE_EDIT`) with a preview that fills in the
  local fields, the version the editor started from (`EditConflict` comes back in
  Chinese, with their text kept), history with old/new marked, and rollback;
- the local fields (本地信息) and their values;
- the queue: fallbacks and hand-offs (`insight.queue`, via `insight.service.Statistics`)
  and tickets, newest first, in the viewer's scope, masked; add as a training example,
  improve a topic's answer from it, dismiss. Handled items are hidden.

Every change is also written to the console's audit log (`console.web.audit`)."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from console import nav
from console.permissions import Perm
from console.routing import Routes
from console.web import account, audit, console_of, off_loop, redirect, render, scope
from core.topics import contract
from grids.directory import DirectoryError
from insight import model as insight_model
from insight.service import Statistics
from knowledge.model import (
    Answer,
    EditConflict,
    KnowledgeError,
    QueueItem,
    SourceKind,
)
from knowledge.service import KnowledgeBase
from tickets.masking import mask

logger = logging.getLogger(__name__)
routes = Routes()
KNOWLEDGE = web.AppKey("knowledge", KnowledgeBase)
STATISTICS = web.AppKey("statistics", Statistics)
QUEUE_FETCH = 200          # items of each source read per page view (handled ones dropped)
QUEUE_SHOWN = 100
MAX_NOTE = 200
KIND_LABELS = {SourceKind.FALLBACK: "没听懂", SourceKind.HANDOFF: "转人工",
               SourceKind.TICKET: "工单"}


def _kb(request: web.Request) -> KnowledgeBase:
    return request.app[KNOWLEDGE]


def _actor(request: web.Request) -> str:
    me = account(request)
    return f"{me.display_name}（{me.username}）"


def _text(form: Any, name: str, limit: int) -> str:
    return str(form.get(name, "")).replace("\x00", "").strip()[:limit]


def insight_scope(request_scope: Any) -> insight_model.Scope:
    """The console's `Scope` as the statistics' one: a street by its code, a
    coordinator by their grids, else everything."""
    if request_scope.street is not None:
        return insight_model.Scope.of_street(request_scope.street)
    if request_scope.grids is not None:
        return insight_model.Scope.of_grids(request_scope.grids)
    return insight_model.Scope.everything()


# --- answers ------------------------------------------------------------------------------
@routes.get("/knowledge", Perm.KNOWLEDGE_VIEW)
async def answers(request: web.Request) -> web.StreamResponse:
    kb = _kb(request)
    topic = request.query.get("topic", "") or None
    groups = await off_loop(kb.list_answers, topic)
    state = await off_loop(kb.training_state)
    return render(request, "knowledge.html", {
        "groups": groups, "state": state, "topic": topic or "",
        "topics": {k: t.zh for k, t in contract().items()},
        "can_edit": account(request).may(Perm.KNOWLEDGE_EDIT)})


@dataclass(frozen=True)
class Segment:
    op: str        # "same", "old" (removed), "new" (added)
    text: str


def diff(old: str, new: str) -> list[Segment]:
    """Character-level difference of two texts (Chinese has no word breaks)."""
    out: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out.append(Segment("same", old[a1:a2]))
            continue
        if a2 > a1:
            out.append(Segment("old", old[a1:a2]))
        if b2 > b1:
            out.append(Segment("new", new[b1:b2]))
    return out


def _changes(old: tuple[str, ...] | None, new: tuple[str, ...]) -> list[list[Segment]]:
    before = list(old or ())
    rows = []
    for i in range(max(len(before), len(new))):
        rows.append(diff(before[i] if i < len(before) else "", new[i] if i < len(new) else ""))
    return rows


async def _source_item(request: web.Request, value: str) -> dict[str, Any] | None:
    """The queue item `kind:id` named by a form or link, if the viewer's scope has it."""
    kind_text, _, item_id = value.partition(":")
    try:
        kind = SourceKind(kind_text)
    except ValueError:
        return None
    for item in await queue_items(request, include_handled=True):
        if item["kind"] is kind and item["id"] == item_id:
            return item
    return None


async def _answer_page(request: web.Request, name: str, *, texts: list[str] | None = None,
                       version: int | None = None, note: str = "", error: str = "",
                       previews: list[str] | None = None, source: str = "",
                       status: int = 200) -> web.Response:
    kb = _kb(request)
    try:
        answer: Answer = await off_loop(kb.get, name)
    except KnowledgeError as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    history = await off_loop(kb.history, name)
    item = await _source_item(request, source) if source else None
    return render(request, "answer.html", {
        "a": answer, "texts": texts if texts is not None else list(answer.texts),
        "version": version if version is not None else answer.version, "note": note,
        "error": error, "previews": previews, "history": history,
        "changes": {v.number: _changes(v.old_texts, v.new_texts) for v in history},
        "source": source if item else "", "item": item,
        "topic_zh": contract()[answer.topic].zh if answer.topic in contract() else "其他",
        "can_edit": account(request).may(Perm.KNOWLEDGE_EDIT),
        "done": request.query.get("done", "")[:40]}, status=status)


@routes.get("/knowledge/answer", Perm.KNOWLEDGE_VIEW)
async def answer_page(request: web.Request) -> web.StreamResponse:
    return await _answer_page(request, request.query.get("name", "")[:160],
                              source=request.query.get("source", "")[:80])


def _link(name: str, **extra: str) -> str:
    return "/knowledge/answer?" + urlencode({"name": name, **extra})


@routes.post("/knowledge/answer", Perm.KNOWLEDGE_EDIT)
async def save_answer(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = _text(form, "name", 160)
    texts = [str(t).replace("\x00", "") for t in form.getall("text", [])]
    note, source = _text(form, "note", MAX_NOTE), _text(form, "source", 80)
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="缺少答复的版本号，请刷新页面后再改") from None
    kb = _kb(request)

    def again(error: str = "", previews: list[str] | None = None, status: int = 200
              ) -> Any:
        return _answer_page(request, name, texts=texts, version=version, note=note,
                            error=error, previews=previews, source=source, status=status)

    empty = [str(i) for i, t in enumerate(texts, start=1) if not t.strip()]
    if not texts or empty:
        return await again(f"第 {'、'.join(empty) or '1'} 条说法是空的，请填写或恢复原文", status=400)
    if form.get("action") == "preview":
        try:
            return await again(previews=await off_loop(kb.preview, texts))
        except KnowledgeError as exc:
            return await again(str(exc), status=400)
    item = await _source_item(request, source) if source else None
    try:
        if item is not None:
            answer = await off_loop(lambda: kb.improve(
                QueueItem(item["kind"], item["id"]), name, texts, _actor(request), note,
                expected_version=version))
        else:
            answer = await off_loop(lambda: kb.edit(name, texts, _actor(request), note,
                                                    expected_version=version))
    except EditConflict as exc:
        return await again(str(exc), status=409)
    except KnowledgeError as exc:
        return await again(str(exc), status=400)
    if answer.version != version:
        detail = f"第 {answer.version} 版" + (f"；来自{item['label']} {item['id']}" if item else "")
        await audit(request, "knowledge.improve" if item else "knowledge.edit", name, detail)
    raise redirect(_link(name, done="已保存，助手约 1 秒内就用新答复"))


@routes.post("/knowledge/rollback", Perm.KNOWLEDGE_EDIT)
async def rollback(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = _text(form, "name", 160)
    try:
        number = int(str(form.get("number", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="请选择要恢复的版本") from None
    try:
        answer = await off_loop(lambda: _kb(request).rollback(name, number, _actor(request)))
    except KnowledgeError as exc:
        return await _answer_page(request, name, error=str(exc), status=400)
    await audit(request, "knowledge.rollback", name, f"恢复到第 {number} 版，现为第 {answer.version} 版")
    raise redirect(_link(name, done=f"已恢复到第 {number} 版的文字"))


# --- fields -------------------------------------------------------------------------------
@routes.get("/knowledge/fields", Perm.KNOWLEDGE_VIEW)
async def fields_page(request: web.Request) -> web.StreamResponse:
    return render(request, "kb_fields.html", {
        "fields": await off_loop(_kb(request).fields), "error": request.query.get("error", "")[:300],
        "done": request.query.get("done", "")[:60],
        "can_edit": account(request).may(Perm.KNOWLEDGE_EDIT)})


@routes.post("/knowledge/fields", Perm.KNOWLEDGE_EDIT)
async def set_field(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    key, value = _text(form, "key", 64), _text(form, "value", 600)
    label = _text(form, "label", 60) or None
    try:
        found = await off_loop(lambda: _kb(request).set_field(key, value or None, _actor(request),
                                                              label=label))
    except KnowledgeError as exc:
        raise redirect("/knowledge/fields?" + urlencode({"error": str(exc)})) from None
    await audit(request, "knowledge.field", key, f"{found.label}：{value or '（清空）'}")
    raise redirect("/knowledge/fields?" + urlencode({"done": f"已保存：{found.label}"}))


# --- the unanswered queue -------------------------------------------------------------------
def _grid_names(request: web.Request) -> dict[str, str]:
    try:
        directory = console_of(request).directory.snapshot().directory
    except DirectoryError:
        return {}
    names = {}
    for grid in directory.grids.values():
        community = directory.communities.get(grid.community_code)
        names[grid.code] = f"{community.name if community else ''}{grid.name}"
    return names


async def queue_items(request: web.Request, include_handled: bool = False
                      ) -> list[dict[str, Any]]:
    """Fallbacks, hand-offs and tickets in the viewer's scope, newest first (masked)."""
    stats, kb = request.app[STATISTICS], _kb(request)
    seen = insight_scope(await scope(request))
    turns = await off_loop(lambda: stats.unanswered(seen, QUEUE_FETCH))
    tickets = await off_loop(lambda: stats.tickets_queue(seen, QUEUE_FETCH))
    handled: dict[SourceKind, set[str]] = {}
    if not include_handled:
        for kind in SourceKind:
            handled[kind] = await off_loop(kb.handled_ids, kind)
    items = []
    for r in turns.table.records():
        kind = SourceKind.HANDOFF if r["why"] == "转人工" else SourceKind.FALLBACK
        items.append({"kind": kind, "id": str(r["turn_id"]), "time": r["time"],
                      "text": mask(r["text"]), "topic": r["topic"], "topic_label": r["topic_label"],
                      "platform": r["platform"], "grid": r["grid"], "label": KIND_LABELS[kind],
                      "answer": ""})
    for r in tickets.table.records():
        items.append({"kind": SourceKind.TICKET, "id": r["number"], "time": r["time"],
                      "text": mask(r["question"]), "topic": _topic_key(r["topic"]),
                      "topic_label": r["topic"], "platform": r["platform"], "grid": r["grid"],
                      "label": f"工单（{r['status']}）", "answer": mask(r["answer"] or "")})
    items = [i for i in items if i["id"] not in handled.get(i["kind"], set())]
    items.sort(key=lambda i: (i["time"], i["id"]), reverse=True)
    return items


def _topic_key(label: str) -> str:
    """The ticket queue names topics in Chinese; the topic select needs the key."""
    for key, topic in contract().items():
        if topic.zh == label or key == label:
            return key
    return ""


@routes.get("/queue", Perm.KNOWLEDGE_VIEW)
async def queue_page(request: web.Request) -> web.StreamResponse:
    items = await queue_items(request)
    kb = _kb(request)
    return render(request, "queue.html", {
        "items": items[:QUEUE_SHOWN], "total": len(items), "shown": QUEUE_SHOWN,
        "state": await off_loop(kb.training_state), "grid_names": _grid_names(request),
        "topics": {k: t.zh for k, t in contract().items()},
        "can_edit": account(request).may(Perm.KNOWLEDGE_EDIT),
        "error": request.query.get("error", "")[:300], "done": request.query.get("done", "")[:80]})


async def _posted_item(request: web.Request, form: Any) -> dict[str, Any]:
    item = await _source_item(request, f"{_text(form, 'kind', 16)}:{_text(form, 'id', 40)}")
    if item is None:
        raise redirect("/queue?" + urlencode({"error": "没有找到这个问题，或它不在您负责的范围内"}))
    return item


@routes.post("/queue/example", Perm.KNOWLEDGE_EDIT)
async def add_example(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    item = await _posted_item(request, form)
    topic = _text(form, "topic", 40)
    try:
        example = await off_loop(lambda: _kb(request).add_example(
            item["text"], topic, _actor(request), QueueItem(item["kind"], item["id"])))
    except KnowledgeError as exc:
        raise redirect("/queue?" + urlencode({"error": str(exc)})) from None
    zh = contract()[topic].zh if topic in contract() else topic
    await audit(request, "knowledge.example", f"{item['kind'].value}:{item['id']}",
                f"{zh}：{example.text}")
    raise redirect("/queue?" + urlencode({"done": f"已加为“{zh}”的问法，下次训练时用上"}))


@routes.get("/queue/improve", Perm.KNOWLEDGE_EDIT)
async def improve(request: web.Request) -> web.StreamResponse:
    """Open the edit form of the chosen topic's answer, with the question beside it."""
    topic = request.query.get("topic", "")[:40]
    source = f"{request.query.get('kind', '')[:16]}:{request.query.get('id', '')[:40]}"
    groups = await off_loop(_kb(request).list_answers, topic) if topic in contract() else []
    names = [a.name for g in groups for a in g.answers]
    if not names:
        raise redirect("/queue?" + urlencode({"error": "这个话题没有可以修改的答复，请换一个话题"}))
    preferred = [n for n in names if n.endswith(f"/{topic}")] or names
    raise redirect(_link(preferred[0], source=source) + "#edit")


@routes.post("/queue/dismiss", Perm.KNOWLEDGE_EDIT)
async def dismiss(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    item = await _posted_item(request, form)
    reason = _text(form, "reason", MAX_NOTE)
    try:
        await off_loop(lambda: _kb(request).dismiss(QueueItem(item["kind"], item["id"]),
                                                    _actor(request), reason))
    except KnowledgeError as exc:
        raise redirect("/queue?" + urlencode({"error": str(exc)})) from None
    await audit(request, "knowledge.dismiss", f"{item['kind'].value}:{item['id']}", reason)
    raise redirect("/queue?" + urlencode({"done": "已忽略"}))


def setup(app: web.Application, knowledge: KnowledgeBase) -> None:
    """Add the pages; `knowledge` is the process's knowledge base. The queue reads the
    statistics of `console.pages_insight` (set up with it)."""
    app[KNOWLEDGE] = knowledge
    routes.add_to(app)
    nav.register(app, nav.NavItem("knowledge", "知识库", "/knowledge", Perm.KNOWLEDGE_VIEW,
                                  order=40))
    nav.register(app, nav.NavItem("queue", "待处理问题", "/queue", Perm.KNOWLEDGE_VIEW, order=45))


__all__ = ["KNOWLEDGE", "STATISTICS", "diff", "insight_scope", "setup"]

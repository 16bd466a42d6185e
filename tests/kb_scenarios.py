"""The knowledge base's behaviour, as tests over a `kb` fixture (a fresh database,
seeded from a copy of data/answers in `answers`): collected by
tests/unit/knowledge (SQLite) and tests/integration/knowledge (PostgreSQL)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from knowledge import placeholders
from knowledge.files import read_dir
from knowledge.model import (
    AnswerNotFound,
    AuditEntry,
    EditConflict,
    ExampleStatus,
    InvalidAnswer,
    InvalidExample,
    InvalidField,
    QueueItem,
    SourceKind,
    TriageAction,
    UnknownField,
    VersionNotFound,
)
from knowledge.service import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT / "data" / "answers"
FAQ = "utter_faq/join_union"


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@dataclass
class World:
    kb: KnowledgeBase
    answers: Path                       # a copy of data/answers the kb was seeded from
    audits: list[AuditEntry] = field(default_factory=list)


def build_world(engine: Engine, tmp_path: Path) -> World:
    answers = tmp_path / "answers"
    shutil.copytree(ANSWERS, answers)
    audits: list[AuditEntry] = []
    kb = KnowledgeBase(engine, clock=Clock(), slots={"address"},
                       on_audit=audits.append)
    kb.seed(answers)
    return World(kb, answers, audits)


def test_a_fresh_database_starts_from_data_answers(world: World) -> None:
    source = read_dir(ANSWERS)
    answers = {a.name: a for a in world.kb.answers()}
    assert set(answers) == {r.name for r in source}
    for response in source:
        answer = answers[response.name]
        assert answer.texts == tuple(v["text"] for v in response.variations)
        assert answer.version == 1 and not answer.edited and answer.updated_by == "data/answers"
    assert answers[FAQ].topic == "join_union"
    assert answers["utter_greet"].topic == "greet"
    assert len(answers["utter_greet"].texts) >= 2, "variations are kept"
    groups = world.kb.list_answers()
    assert [g.topic for g in groups if g.topic][:1] == ["join_union"], "topics in contract order"
    assert world.kb.list_answers("join_union")[0].answers[0].name == FAQ


def test_an_edit_is_a_version_with_who_when_what(world: World) -> None:
    kb = world.kb
    before, revision = kb.get(FAQ), kb.revision()
    edited = kb.edit(FAQ, ["入会请带身份证到职工服务站。\r\n服务时间：[[hotline_hours]]  "],
                     "李干事", note="补充时间")
    assert edited.version == 2 and edited.edited and edited.updated_by == "李干事"
    assert edited.texts == ("入会请带身份证到职工服务站。\n服务时间：[[hotline_hours]]",)
    assert kb.revision() > revision
    latest, first = kb.history(FAQ)
    assert (latest.number, latest.kind, latest.actor, latest.note) == (2, "edit", "李干事", "补充时间")
    assert latest.old_texts == before.texts and latest.new_texts == edited.texts
    assert first.kind == "seed" and first.old_texts is None
    entry = kb.audit_log(limit=1)[0]
    assert (entry.action, entry.actor, entry.subject) == ("answer.edit", "李干事", FAQ)
    assert entry.detail["old"] == list(before.texts) and entry.detail["new"] == list(edited.texts)
    assert world.audits[-1] == entry, "handed to the console's log after the commit"
    assert kb.edit(FAQ, list(edited.texts), "李干事").version == 2, "no change, no version"
    assert kb.snapshot().responses[FAQ] == [{"text": edited.texts[0]}]


def test_an_edit_naming_an_unknown_field_or_a_stray_brace_is_refused(world: World) -> None:
    kb = world.kb
    with pytest.raises(InvalidAnswer, match=r"不存在的字段 \[\[hotline_days\]\]"):
        kb.edit(FAQ, ["电话 12351，时间 [[hotline_days]]"], "李干事")
    with pytest.raises(InvalidAnswer, match="第 2 条说法.*不是对话变量"):
        kb.edit("utter_greet", ["您好", "您好 {name}"], "李干事")
    with pytest.raises(InvalidAnswer, match="单独的花括号"):
        kb.edit("utter_greet", ["您好 {"], "李干事")
    with pytest.raises(InvalidAnswer, match="空的"):
        kb.edit("utter_greet", ["  "], "李干事")
    with pytest.raises(AnswerNotFound, match="没有这个答复"):
        kb.edit("utter_nothing", ["您好"], "李干事")
    assert kb.get(FAQ).version == 1 and kb.get("utter_greet").version == 1
    assert kb.edit("utter_greet", ["您好，{address}的朋友"], "李干事").version == 2, "a domain slot"


def test_rollback_restores_an_old_text_as_a_new_version(world: World) -> None:
    kb = world.kb
    original = kb.get(FAQ).texts
    kb.edit(FAQ, ["第二版"], "甲")
    kb.edit(FAQ, ["第三版"], "乙")
    restored = kb.rollback(FAQ, 1, "丙")
    assert restored.texts == original and restored.version == 4
    top = kb.history(FAQ)[0]
    assert (top.kind, top.actor, top.old_texts, top.note) == ("rollback", "丙", ("第三版",), "恢复到第 1 版")
    assert kb.audit_log(limit=1)[0].action == "answer.rollback"
    with pytest.raises(VersionNotFound):
        kb.rollback(FAQ, 9, "丙")


def test_a_stale_edit_is_refused(world: World) -> None:
    kb = world.kb
    kb.edit(FAQ, ["别人先改了"], "甲", expected_version=1)
    with pytest.raises(EditConflict, match="现在是第 2 版"):
        kb.edit(FAQ, ["我后改的"], "乙", expected_version=1)


def test_fields_are_filled_once_and_unfilled_ones_never_show_raw(
        world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placeholders, "_warned", {})   # warnings are once per 10 minutes
    kb = world.kb
    assert not kb.field("hotline_hours").filled
    with caplog.at_level(logging.WARNING, logger="knowledge.placeholders"):
        shown = kb.preview(["热线服务时间：[[hotline_hours]]"])[0]
    assert "[[" not in shown and kb.field("hotline_hours").fallback in shown
    assert any("hotline_hours" in r.getMessage() for r in caplog.records)
    revision = kb.revision()
    filled = kb.set_field("hotline_hours", "每天 8:30-20:00", "王主任")
    assert filled.value == "每天 8:30-20:00" and filled.updated_by == "王主任"
    assert kb.revision() > revision
    assert kb.preview(["热线服务时间：[[hotline_hours]]"]) == ["热线服务时间：每天 8:30-20:00"]
    entry = kb.audit_log(limit=1)[0]
    assert entry.action == "field.set" and entry.detail["new"]["value"] == "每天 8:30-20:00"
    with pytest.raises(UnknownField):
        kb.set_field("canteen_hours", "11:00", "王主任")
    kb.set_field("canteen_hours", "11:00-13:00", "王主任", label="食堂开放时间")
    assert kb.edit(FAQ, ["食堂 [[canteen_hours]]"], "王主任").version == 2
    with pytest.raises(InvalidField):
        kb.set_field("Bad-Key", "x", "王主任", label="x")
    assert kb.set_field("hotline_hours", "", "王主任").value is None, "cleared"


def test_examples_are_masked_and_queue_items_triaged(world: World) -> None:
    kb = world.kb
    ticket = QueueItem(SourceKind.TICKET, "T-000457")
    example = kb.add_example("我电话13812345678，身份证110101199003071234，怎么入会",
                             "join_union", "李干事", source=ticket)
    assert example.text == "我电话138****5678，身份证110101********1234，怎么入会"
    assert example.intent == "faq/join_union" and example.status is ExampleStatus.PENDING
    greet = kb.add_example("云博士在吗", "greet", "李干事")
    assert greet.intent == "greet"
    with pytest.raises(InvalidExample, match="已经是「入会」的训练问法"):
        kb.add_example("我电话 13812345678，身份证110101199003071234，怎么入会", "greet", "李干事")
    with pytest.raises(InvalidExample, match="没有这个话题"):
        kb.add_example("随便问问", "weather", "李干事")
    fallback = QueueItem(SourceKind.FALLBACK, "conv-1:17")
    handoff = QueueItem(SourceKind.HANDOFF, "conv-2:3")
    kb.improve(fallback, FAQ, ["更好的入会答复"], "王主任")
    kb.dismiss(handoff, "王主任", reason="广告")
    decisions = kb.triage([ticket, fallback, handoff, QueueItem(SourceKind.TICKET, "T-000458")])
    assert {i: d.action for i, d in decisions.items()} == {
        ticket: TriageAction.ADDED, fallback: TriageAction.IMPROVED,
        handoff: TriageAction.DISMISSED}
    assert decisions[ticket].example_id == example.id and decisions[fallback].response == FAQ
    assert kb.handled_ids(SourceKind.TICKET) == {"T-000457"}
    assert kb.get(FAQ).texts == ("更好的入会答复",)
    assert kb.pending_examples_count() == 2
    assert kb.training_state().last_trained_at is None
    assert kb.mark_trained([example.id], "cloud-doctor-abc.tar.gz") == 1
    state = kb.training_state()
    assert state.pending == 1 and state.last_model == "cloud-doctor-abc.tar.gz"
    assert state.last_trained_at is not None
    assert [e.id for e in kb.examples(ExampleStatus.TRAINED)] == [example.id]
    actions = [e.action for e in kb.audit_log()]
    assert {"example.add", "answer.edit", "queue.dismiss", "model.train"} <= set(actions)


def test_reseeding_keeps_edits_and_adds_new_responses(world: World) -> None:
    kb = world.kb
    kb.edit(FAQ, ["工作人员改过的入会答复"], "李干事")
    join = world.answers / "join_union.yml"
    join.write_text(join.read_text(encoding="utf-8").replace("入会", "加入工会", 1)
                    + "  utter_faq/join_union_materials:\n  - text: |-\n      带身份证。\n",
                    encoding="utf-8")
    chitchat = world.answers / "chitchat.yml"
    original_thanks = kb.get("utter_thanks").texts
    chitchat.write_text(chitchat.read_text(encoding="utf-8").replace(
        original_thanks[0].split("\n")[0], "新的默认感谢", 1), encoding="utf-8")
    report = kb.seed(world.answers)
    assert report.added == ("utter_faq/join_union_materials",)
    assert report.kept == (FAQ,) and report.updated == ("utter_thanks",)
    assert kb.get(FAQ).texts == ("工作人员改过的入会答复",), "staff's edit is never overwritten"
    assert kb.get("utter_thanks").texts[0].startswith("新的默认感谢")
    assert kb.history("utter_thanks")[0].kind == "default"
    assert kb.get("utter_faq/join_union_materials").topic == "join_union"
    again = kb.seed(world.answers)
    assert again.added == () and again.updated == ()


def test_export_on_a_fresh_database_is_data_answers_byte_for_byte(world: World,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "export"
    written = world.kb.export(out, ANSWERS)
    assert sorted(p.name for p in written) == sorted(p.name for p in ANSWERS.glob("*.yml"))
    for path in ANSWERS.glob("*.yml"):
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name


def test_export_after_edits_changes_only_the_edited_answer(world: World, tmp_path: Path) -> None:
    kb = world.kb
    kb.edit(FAQ, ["第一行\n\n  缩进的第二行 [[hotline_hours]]", " 以空格开头：也能写回"], "李干事")
    out = tmp_path / "export"
    kb.export(out, ANSWERS)
    changed = [p.name for p in ANSWERS.glob("*.yml") if (out / p.name).read_bytes() != p.read_bytes()]
    assert changed == ["join_union.yml"]
    back = {r.name: r.variations for r in read_dir(out)}
    assert back[FAQ] == [{"text": t} for t in kb.get(FAQ).texts]
    assert {n: v for n, v in back.items() if n != FAQ} == {
        r.name: r.variations for r in read_dir(ANSWERS) if r.name != FAQ}
    fresh = tmp_path / "reseeded"
    shutil.copytree(out, fresh)
    assert kb.seed(fresh).updated == () and kb.seed(fresh).kept == (), "export == database"

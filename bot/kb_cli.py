"""`cloud-doctor kb ...`: the knowledge base from the server's shell.

    kb list [--topic T] [--json]        answers by topic: version, who changed it last
    kb history RESPONSE [--json]        every version of an answer, newest first
    kb fields [--json]                  local fields ([[key]] in answers) and their values
    kb fields set KEY VALUE [--label 中文名称] [--by NAME]
    kb export [DIR]                     write the answers as data/answers files (default:
                                        data/answers itself, for review with `git diff`)

Exit codes: 0 done, 1 an unknown answer or field or a refused value (one line on
stderr, in Chinese), 2 bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from core.settings import Settings
from knowledge.model import KnowledgeError
from knowledge.service import KnowledgeBase

EXIT_INPUT = 1


def _fail(message: str) -> int:
    print(f"错误：{' '.join(message.split())}", file=sys.stderr)
    return EXIT_INPUT


def _kb(settings: Settings) -> KnowledgeBase:
    from bot.kb import open_knowledge_base

    return open_knowledge_base(settings)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _first_line(text: str, width: int = 36) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[:width - 1] + "…"


def _json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    kb = _kb(settings)
    groups = kb.list_answers(args.topic)
    state = kb.training_state()
    if args.json:
        _json({"topics": [{"topic": g.topic, "zh": g.zh,
                           "answers": [{k: v for k, v in asdict(a).items() if k != "variations"}
                                       for a in g.answers]} for g in groups],
               "pending_examples": state.pending, "last_trained_at": state.last_trained_at})
        return 0
    for group in groups:
        print(f"{group.zh}（{group.topic or '-'}）")
        for a in group.answers:
            mark = "已修改" if a.edited else "默认"
            print(f"  {a.name}  第{a.version}版 {mark}  {_when(a.updated_at)} {a.updated_by}  "
                  f"{len(a.texts)}条说法  {_first_line(a.texts[0] if a.texts else '')}")
    print(f"待训练的问法 {state.pending} 条；上次训练 {_when(state.last_trained_at)}")
    return 0


def cmd_history(settings: Settings, args: argparse.Namespace) -> int:
    try:
        versions = _kb(settings).history(args.response)
    except KnowledgeError as exc:
        return _fail(str(exc))
    if args.json:
        _json([asdict(v) for v in versions])
        return 0
    for v in versions:
        print(f"第{v.number}版  {v.kind}  {_when(v.at)}  {v.actor}  {v.note}")
        for i, text in enumerate(v.new_texts, start=1):
            print(f"  [{i}] " + text.replace("\n", "\n      "))
    return 0


def cmd_fields(settings: Settings, args: argparse.Namespace) -> int:
    kb = _kb(settings)
    if args.fields_command == "set":
        try:
            kb.set_field(args.key, args.value, args.by or _me(), label=args.label)
        except KnowledgeError as exc:
            return _fail(str(exc))
    fields = kb.fields()
    if args.json:
        _json([asdict(f) for f in fields])
        return 0
    for f in fields:
        value = f.value if f.filled else f"（未填写，答复里显示：{f.fallback}）"
        print(f"[[{f.key}]]  {f.label}：{value}  {_when(f.updated_at)} {f.updated_by}")
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.kb import answers_dir

    target = args.dir or answers_dir(settings)
    before = {p.name: p.read_bytes() for p in target.glob("*.yml")} if target.is_dir() else {}
    written = _kb(settings).export(target, answers_dir(settings))
    changed = [p for p in written if before.get(p.name) != p.read_bytes()]
    for path in changed:
        print(f"已更新 {path}")
    print(f"导出 {len(written)} 个文件到 {target}，其中 {len(changed)} 个有变化")
    return 0


def _me() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _path(text: str) -> Path:
    return Path(text).expanduser().resolve()


def register(sub: Any) -> None:
    kb = sub.add_parser("kb", help="knowledge base: answers, versions, fields, export")
    commands = kb.add_subparsers(dest="kb_command", required=True)

    p = commands.add_parser("list", help="answers by topic")
    p.add_argument("--topic", help="only this topic key (core/topics.yml)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("history", help="every version of one answer")
    p.add_argument("response", help="e.g. utter_faq/join_union")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = commands.add_parser("fields", help="local fields; `fields set KEY VALUE` fills one in")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fields, fields_command=None)
    fields = p.add_subparsers(dest="fields_command")
    s = fields.add_parser("set", help="fill in (or, with an empty VALUE, clear) a field")
    s.add_argument("key")
    s.add_argument("value")
    s.add_argument("--label", help="Chinese name: needed for a new field")
    s.add_argument("--by", help="who (recorded in the audit log; default: cli:<user>)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_fields)

    p = commands.add_parser("export", help="write the answers as data/answers files")
    p.add_argument("dir", nargs="?", type=_path, help="target directory (default: data/answers)")
    p.set_defaults(func=cmd_export)

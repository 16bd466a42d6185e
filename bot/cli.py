"""`cloud-doctor` command line: train, ask, eval, run. Errors are one line on
stderr and a non-zero exit code; user-facing texts are Chinese."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.settings import Settings

if TYPE_CHECKING:
    from bot.assistant import Assistant

EXIT_USAGE = 2
EXIT_NO_MODEL = 3
EXIT_BELOW_TARGET = 4


def _quiet() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("rasa", "tensorflow", "absl", "jieba", "py.warnings"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    import warnings

    warnings.filterwarnings("ignore")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)


def service_logging() -> None:
    """A long-running service logs at INFO (its audit lines: who sent, cancelled,
    retried what), whatever `_quiet()` set up for the one-shot commands before."""
    logging.basicConfig(level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("rasa", "tensorflow", "absl", "jieba", "py.warnings", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(message: str, code: int = 1) -> int:
    print(f"错误: {message}", file=sys.stderr)
    return code


def _model(settings: Settings, explicit: Path | None) -> Path | None:
    from bot.training import current_model_path, latest_model

    if explicit:
        return explicit if explicit.exists() else None
    from bot.kb import training_examples

    current = current_model_path(settings.project_dir, settings.model_dir,
                                 examples=training_examples(settings.database_url))
    if current.exists():
        return current
    stale = latest_model(settings.model_dir)
    if stale:
        print(f"注意: 训练数据已修改，正在使用旧模型 {stale.name}；运行 cloud-doctor train 更新。",
              file=sys.stderr)
    return stale


def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from bot.training import train

    path = train(settings.project_dir, settings.model_dir,
                 config=args.config, force=args.force, database_url=settings.database_url)
    print(path)
    return 0


async def _load(settings: Settings, model: Path | None) -> Assistant | None:
    from bot.assistant import Assistant
    from bot.nlg import endpoint_config

    path = _model(settings, model)
    if path is None:
        return None
    return await Assistant.load(path, generator=endpoint_config(settings.database_url))


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> int:
        assistant = await _load(settings, args.model)
        if assistant is None:
            return _fail("还没有训练好的模型，请先运行 cloud-doctor train", EXIT_NO_MODEL)
        if args.text is not None:
            answer = await assistant.ask(args.text)
            if args.json:
                print(json.dumps(answer.as_dict(), ensure_ascii=False))
            else:
                print(answer.answer)
            return 0
        # A line with bytes that are not UTF-8 still gets its answer (they become U+FFFD).
        lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        for line in lines:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            answer = await assistant.ask(text)
            print(json.dumps(answer.as_dict(), ensure_ascii=False), flush=True)
        return 0

    return asyncio.run(run())


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.evaluate import (
        InvalidEvalFile,
        best,
        evaluate,
        format_report,
        format_sweep,
        load_questions,
        sweep,
    )

    try:
        questions = load_questions(args.file)
    except (OSError, InvalidEvalFile) as exc:
        return _fail(str(exc), EXIT_USAGE)

    async def run() -> int:
        assistant = await _load(settings, args.model)
        if assistant is None:
            return _fail("还没有训练好的模型，请先运行 cloud-doctor train", EXIT_NO_MODEL)
        report = await evaluate(questions, assistant.classify)
        rows = sweep(report) if args.sweep else []
        if args.json:
            data = report.as_dict()
            if rows:
                chosen = best(rows)
                data["sweep"] = [{"threshold": r.threshold, "ambiguity": r.ambiguity,
                                  **r.figures, "wrong_bound": round(r.wrong_bound, 4),
                                  "chosen": r is chosen} for r in rows]
            print(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            print(format_report(report))
            if rows:
                print()
                print(format_sweep(rows, best(rows)))
        if args.min_accuracy is not None and report.accuracy < args.min_accuracy:
            return _fail(f"accuracy {report.accuracy:.4f} < {args.min_accuracy}", EXIT_BELOW_TARGET)
        wrong = report.confidently_wrong_rate
        if args.max_wrong is not None and wrong > args.max_wrong:
            return _fail(f"confidently wrong {wrong:.4f} > {args.max_wrong}", EXIT_BELOW_TARGET)
        return 0

    return asyncio.run(run())


def cmd_staff(settings: Settings, args: argparse.Namespace) -> int:

    from bot.app import serve as serve_staff
    from broadcast.model import BroadcastError

    service_logging()
    try:
        return serve_staff(settings)
    except (BroadcastError, ValueError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.serve import serve

    return serve(settings, train_first=not args.no_train)


def _path(text: str) -> Path:
    """Resolve at parse time: main() changes into the project directory afterwards."""
    return Path(text).expanduser().resolve()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloud-doctor", description="云博士 工会社区助手")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train the Rasa model if it is missing or stale")
    p.add_argument("--force", action="store_true", help="train even if the model is up to date")
    p.add_argument("--config", type=_path, help="another pipeline config (e.g. a small one for tests)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("ask", help="answer one message, or one per stdin line as JSON lines")
    p.add_argument("text", nargs="?", help="the message; omit to read stdin")
    p.add_argument("--json", action="store_true", help="print {text, topic, confidence, answer}")
    p.add_argument("--model", type=_path, help="path to a model .tar.gz (default: the current one)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="topic accuracy on a labelled questions file")
    p.add_argument("file", type=_path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--model", type=_path)
    p.add_argument("--min-accuracy", type=float, help="exit 4 when accuracy is below this")
    p.add_argument("--max-wrong", type=float,
                   help="exit 4 when the confidently-wrong rate is above this")
    p.add_argument("--sweep", action="store_true",
                   help="replay the fallback at other thresholds and print the cheapest")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("run", help="serve the assistant, its actions and the demo page")
    p.add_argument("--no-train", action="store_true", help="do not train a stale model first")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("staff", help="serve the staff API (broadcasts) with a dispatcher")
    p.set_defaults(func=cmd_staff)

    from bot.grids_cli import register as register_grids

    register_grids(sub)
    from bot.broadcast_cli import register as register_broadcast

    register_broadcast(sub)
    from bot.tickets_cli import register as register_tickets

    register_tickets(sub)
    from bot.kb_cli import register as register_kb

    register_kb(sub)
    from bot.console_cli import register as register_users

    register_users(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        return _fail(f"配置有误: {exc}", EXIT_USAGE)
    _quiet()
    # Everything this process and its children create (SQLite files, the tracker store,
    # tokens) is for the service's user only: they hold webhook keys and conversations.
    os.umask(0o077)
    os.chdir(settings.project_dir)  # config.yml paths (dictionaries) are relative to the project
    return int(args.func(settings, args))


if __name__ == "__main__":
    sys.exit(main())

"""`cloud-doctor users …`: the staff console's accounts.

    cloud-doctor users add li --role staff [--street 联盟街道] [--name 李干事]
    cloud-doctor users add zhang --role coordinator --coordinator P0101
    cloud-doctor users passwd li            # a new one-time password (changed at login)
    cloud-doctor users disable li | enable li
    cloud-doctor users list [--json]

A new account, and `passwd`, get a one-time password printed once (or, with
`--password-stdin`, the password read from standard input, kept as it is); the
person must set their own at the first login. Streets and coordinators are checked
against the grid directory. Every change is in the console's audit log under
`cli:<login name of whoever ran it>`. Exit codes: 0 done, 1 a refused change (one
line on stderr, in Chinese), 2 bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from sqlalchemy.orm import Session

from bot.compose import open_engine
from console.accounts import AccountError, AccountStore, new_password
from console.audit import AuditLog
from console.permissions import PROFILE_LABELS, Role
from core.settings import Settings
from grids.model import CoordinatorRow
from grids.repository import street_names

EXIT_INPUT = 1


def _fail(message: str) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return EXIT_INPUT


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, one-time): read from stdin when asked, else generated."""
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n"), False
    return new_password(), True


def _street_code(settings: Settings, text: str) -> str:
    with Session(open_engine(settings), future=True) as session:
        streets = street_names(session)
    for code, name in streets:
        if text in (code, name, name.removesuffix("街道")):
            return code
    known = "、".join(name for _, name in streets[:12])
    raise AccountError(f"网格目录里没有街道“{text}”（例如：{known}）")


def _coordinator_code(settings: Settings, code: str) -> str:
    with Session(open_engine(settings), future=True) as session:
        if session.get(CoordinatorRow, code) is None:
            raise AccountError(f"网格目录里没有编码为 {code} 的网格员")
    return code


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    store = AccountStore(open_engine(settings))
    try:
        role = Role(args.role)
        street = _street_code(settings, args.street) if args.street else None
        coordinator = _coordinator_code(settings, args.coordinator) if args.coordinator else None
        password, one_time = _password(args)
        account = store.add(args.username, password, role=role, display_name=args.name or "",
                            street_code=street, coordinator_code=coordinator,
                            must_change=one_time)
    except AccountError as exc:
        return _fail(str(exc))
    AuditLog(store.engine).record(_operator(), "user.add", account.username,
                                  PROFILE_LABELS[account.profile])
    print(f"已创建账号 {account.username}（{PROFILE_LABELS[account.profile]}）")
    if one_time:
        print(f"一次性密码：{password}")
        print("首次登录后须修改密码。")
    return 0


def cmd_passwd(settings: Settings, args: argparse.Namespace) -> int:
    store = AccountStore(open_engine(settings))
    try:
        password, one_time = _password(args)
        account = store.set_password(args.username, password, must_change=one_time)
    except AccountError as exc:
        return _fail(str(exc))
    AuditLog(store.engine).record(_operator(), "user.passwd", account.username)
    print(f"已重设 {account.username} 的密码，已登录的设备均已退出。")
    if one_time:
        print(f"一次性密码：{password}")
        print("首次登录后须修改密码。")
    return 0


def _set_disabled(settings: Settings, username: str, disabled: bool) -> int:
    store = AccountStore(open_engine(settings))
    try:
        account = store.set_disabled(username, disabled)
    except AccountError as exc:
        return _fail(str(exc))
    AuditLog(store.engine).record(_operator(), "user.disable" if disabled else "user.enable",
                                  account.username)
    print(f"已{'停用' if disabled else '启用'}账号 {account.username}"
          + ("，已登录的设备均已退出。" if disabled else "。"))
    return 0


def cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    return _set_disabled(settings, args.username, True)


def cmd_enable(settings: Settings, args: argparse.Namespace) -> int:
    return _set_disabled(settings, args.username, False)


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    accounts = AccountStore(open_engine(settings)).all()
    rows: list[dict[str, Any]] = [
        {"username": a.username, "name": a.display_name, "role": a.role.value,
         "profile": a.profile.value, "street": a.street_code, "coordinator": a.coordinator_code,
         "disabled": a.disabled, "must_change_password": a.must_change_password}
        for a in accounts]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for a in accounts:
        where = a.street_code or a.coordinator_code or ""
        state = "（已停用）" if a.disabled else ("（待改密码）" if a.must_change_password else "")
        print(f"{a.username}\t{a.display_name}\t{PROFILE_LABELS[a.profile]}\t{where}{state}")
    if not accounts:
        print("还没有账号：cloud-doctor users add 用户名 --role admin")
    return 0


def register(subparsers: Any) -> None:
    """Add `users` and its subcommands to the `cloud-doctor` parser."""
    users = subparsers.add_parser("users", help="staff console accounts: add, passwd, disable")
    sub = users.add_subparsers(dest="users_command", required=True)

    p = sub.add_parser("add", help="a new account with a one-time password")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--name", help="the name shown in tickets and notices (default: username)")
    p.add_argument("--street", help="street staff: the street (name or code)")
    p.add_argument("--coordinator", help="coordinators: their code in the grid directory")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin instead of generating a one-time one")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("passwd", help="a new one-time password (ends the account's sessions)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=cmd_passwd)

    p = sub.add_parser("disable", help="disable an account (ends its sessions)")
    p.add_argument("username")
    p.set_defaults(func=cmd_disable)

    p = sub.add_parser("enable", help="enable a disabled account")
    p.add_argument("username")
    p.set_defaults(func=cmd_enable)

    p = sub.add_parser("list", help="every account")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

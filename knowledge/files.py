"""The answers as files: reading `data/answers/*.yml` (the default content a fresh
database starts from) and writing them back (`cloud-doctor kb export`).

Export keeps the layout of the files it writes over: a response whose variations
are unchanged keeps its bytes (comments, quoting, order), a changed one is written
as `- text: |-` blocks in its place, a response the file does not have yet is
appended to its file. So on a database nobody edited, export reproduces the files
byte for byte, and after edits `git diff` shows exactly the edited answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HEADER = 'version: "3.1"\nresponses:\n'
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_/]+")
_LINE_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


class InvalidAnswersFile(ValueError):
    """A data/answers file that is not a Rasa responses file (message for operators)."""


@dataclass(frozen=True)
class FileResponse:
    name: str
    file: str                         # the file's name inside the answers directory
    position: int                     # order inside the file
    variations: list[dict[str, Any]]


def read_dir(directory: Path) -> list[FileResponse]:
    """Every response of every `*.yml` in `directory`, in file then file order."""
    found: list[FileResponse] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yml")):
        for response in read_file(path):
            if response.name in seen:
                raise InvalidAnswersFile(f"{path}: response {response.name} is also in "
                                         f"{seen[response.name]}")
            seen[response.name] = path.name
            found.append(response)
    return found


def read_file(path: Path) -> list[FileResponse]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InvalidAnswersFile(f"{path}: not valid YAML: {exc}") from exc
    responses = data.get("responses") if isinstance(data, dict) else None
    if responses is None:
        return []
    if not isinstance(responses, dict):
        raise InvalidAnswersFile(f"{path}: `responses` must be a mapping")
    out = []
    for position, (name, variations) in enumerate(responses.items()):
        if not isinstance(variations, list) or not all(isinstance(v, dict) for v in variations):
            raise InvalidAnswersFile(f"{path}: response {name} must be a list of variations")
        out.append(FileResponse(str(name), path.name, position, variations))
    return out


def write_dir(responses: Iterable[FileResponse], out_dir: Path, template_dir: Path | None) -> list[Path]:
    """Write `responses` grouped by file into `out_dir`, over the layout of the same
    files in `template_dir` (usually data/answers; may be `out_dir` itself)."""
    by_file: dict[str, list[FileResponse]] = {}
    for response in sorted(responses, key=lambda r: (r.file, r.position)):
        by_file.setdefault(response.file, []).append(response)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file, items in by_file.items():
        template = template_dir / file if template_dir is not None else None
        if template is not None and template.is_file():
            text = splice(template.read_text(encoding="utf-8"), items)
        else:
            text = HEADER + "".join(emit_response(r.name, r.variations, 2) for r in items)
        target = out_dir / file
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def splice(source: str, responses: Sequence[FileResponse]) -> str:
    """`source` (a responses file) with the variations of `responses` put in."""
    root = yaml.compose(source)
    node = _responses_node(root)
    if node is None:
        return source.rstrip("\n") + "\n" + "responses:\n" + "".join(
            emit_response(r.name, r.variations, 2) for r in responses)
    loaded = yaml.safe_load(source)["responses"] or {}
    wanted = {r.name: r.variations for r in responses}
    edits: list[tuple[int, int, str]] = []
    key_column = 2
    end_of_last = None
    for key, value in node.value:
        key_column = key.start_mark.column
        start, end = value.start_mark.index, _end_of(source, value)
        end_of_last = end
        name = key.value
        if name in wanted and wanted[name] != loaded.get(name):
            if value.start_mark.line == key.start_mark.line:   # `name: [...]` on its line
                start = key.end_mark.index
                text = ":\n" + emit_variations(wanted[name], key_column)
                start = source.index(":", start)
            else:
                column = value.start_mark.column
                text = emit_variations(wanted[name], column)[column:]
            edits.append((start, end, text))
    missing = [r for r in responses if r.name not in loaded]
    if missing:
        at = end_of_last if end_of_last is not None else len(source)
        tail = "".join(emit_response(r.name, r.variations, key_column) for r in missing)
        edits.append((at, at, tail))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _responses_node(root: Any) -> Any:
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value == "responses" and isinstance(value, yaml.MappingNode):
            return value
    return None


def _end_of(source: str, node: Any) -> int:
    """Where the text of `node` ends, including its line break (block scalars' marks
    also take in the blank lines after them, which belong to the layout)."""
    while isinstance(node, yaml.SequenceNode | yaml.MappingNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    end = node.end_mark.index
    while end >= 2 and source[end - 2:end] == "\n\n":
        end -= 1
    if end < len(source) and source[end - 1:end] != "\n":
        line_end = source.find("\n", end)
        end = len(source) if line_end < 0 else line_end + 1
    return end


def emit_response(name: str, variations: Sequence[Mapping[str, Any]], column: int) -> str:
    key = name if _PLAIN_NAME.fullmatch(name) else json.dumps(name, ensure_ascii=False)
    return " " * column + key + ":\n" + " " * column + emit_variations(variations, column)[column:]


def emit_variations(variations: Sequence[Mapping[str, Any]], column: int) -> str:
    """The block sequence of `variations` with its `-` at `column`, every line
    indented (the caller drops the first indent when splicing at the `-`)."""
    pad = " " * column
    out = []
    for variation in variations:
        first = True
        for key, value in variation.items():
            lead = pad + ("- " if first else "  ")
            first = False
            if key == "text" and isinstance(value, str):
                out.append(lead + "text: " + _scalar(value, column + 4))
            else:
                dumped = yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False,
                                        default_flow_style=False, width=1000)
                lines = dumped.rstrip("\n").split("\n")
                out.append(lead + lines[0] + "\n")
                out.extend(pad + "  " + line + "\n" for line in lines[1:])
        if first:
            out.append(pad + "- {}\n")
    return "".join(out)


def _scalar(text: str, indent: int) -> str:
    if _block_safe(text):
        pad = " " * indent
        return "|-\n" + "".join((pad + line if line else "") + "\n" for line in text.split("\n"))
    return json.dumps(text, ensure_ascii=False) + "\n"


def _block_safe(text: str) -> bool:
    return (bool(text) and text[0] not in " \t\n" and not text.endswith("\n")
            and not any(b in text for b in _LINE_BREAKS)
            and all(c in "\n\t" or c.isprintable() for c in text)
            and not any(line.strip() == "" and line for line in text.split("\n")))

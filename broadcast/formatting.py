"""How a notice looks in a group: a title line, the body, and, when the body is
over a platform's byte limit, several numbered messages split on paragraph
boundaries (then sentences, then characters; never inside a character).

Limits are UTF-8 bytes of the text we put in the message, a little under each
platform's documented maximum so that the JSON around it fits too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.utf8 import fitting_prefix, nbytes

# Documented maxima: WeCom text 2048 / markdown 4096 bytes, DingTalk and Feishu
# 20000 bytes per request body, QQ about 4500 characters per message.
BYTE_LIMITS: dict[tuple[str, str], int] = {
    ("wecom", "text"): 2048, ("wecom", "markdown"): 4096,
    ("dingtalk", "text"): 18000, ("dingtalk", "markdown"): 18000,
    ("feishu", "text"): 18000, ("feishu", "markdown"): 18000,
    ("onebot", "text"): 4000, ("onebot", "markdown"): 4000,
    ("web", "text"): 16000, ("web", "markdown"): 16000,
}
MARKDOWN_PLATFORMS = frozenset({"wecom", "dingtalk", "web"})

_PARAGRAPHS = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
_MD_MARKS = [
    (re.compile(r"^#{1,6}\s*", re.M), ""),
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),
    (re.compile(r"__(.+?)__"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\(([^)]+)\)"), r"\1（\2）"),
    (re.compile(r"^>\s?", re.M), ""),
]


@dataclass(frozen=True)
class Message:
    """One message of a notice as a platform gets it."""

    text: str
    markdown: bool


def plain(markdown: str) -> str:
    """Markdown → readable plain text for platforms that show it raw (QQ, Feishu text)."""
    text = markdown
    for pattern, repl in _MD_MARKS:
        text = pattern.sub(repl, text)
    return text


def render(platform: str, title: str, body: str, body_format: str = "text") -> list[Message]:
    """The messages one group gets for a notice, in order."""
    markdown = body_format == "markdown" and platform in MARKDOWN_PLATFORMS
    if body_format == "markdown" and not markdown:
        body = plain(body)
    limit = BYTE_LIMITS[(platform, "markdown" if markdown else "text")]
    texts = split_numbered(title, body.strip(), limit, markdown=markdown)
    return [Message(t, markdown) for t in texts]


def heading(title: str, index: int, count: int, markdown: bool) -> str:
    number = f"（{index}/{count}）" if count > 1 else ""
    return f"**【{title}】{number}**\n" if markdown else f"【{title}】{number}\n"


def split_numbered(title: str, body: str, limit: int, *, markdown: bool = False) -> list[str]:
    """Title + body in as few messages as fit `limit` bytes each, numbered (1/2)…"""
    count = 1
    while True:
        # The widest heading this count can need, so every part fits with its number.
        room = limit - nbytes(heading(title, count, count, markdown))
        if room < 64:
            raise ValueError("通知标题太长，放不进一条消息")
        chunks = split_body(body, room)
        if len(chunks) <= count:
            break
        count = len(chunks)
    return [heading(title, i, len(chunks), markdown) + chunk
            for i, chunk in enumerate(chunks, start=1)]


def split_body(body: str, max_bytes: int) -> list[str]:
    """Pack paragraphs into chunks of at most `max_bytes`; oversized paragraphs are
    cut at sentence ends, then at character boundaries. Nothing is dropped."""
    pieces: list[str] = []
    for paragraph in _PARAGRAPHS.split(body):
        if nbytes(paragraph) <= max_bytes:
            pieces.append(paragraph)
        else:
            pieces.extend(_split_paragraph(paragraph, max_bytes))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n\n{piece}" if current else piece
        if nbytes(candidate) <= max_bytes:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current or not chunks:
        chunks.append(current)
    return chunks


def _split_paragraph(paragraph: str, max_bytes: int) -> list[str]:
    out: list[str] = []
    current = ""
    for sentence in (s for s in _SENTENCE_END.split(paragraph) if s):
        while nbytes(sentence) > max_bytes:
            cut = fitting_prefix(sentence, max_bytes - nbytes(current)) if current else 0
            if cut:
                out.append(current + sentence[:cut])
                sentence, current = sentence[cut:], ""
                continue
            if current:
                out.append(current)
                current = ""
            cut = fitting_prefix(sentence, max_bytes)
            out.append(sentence[:cut])
            sentence = sentence[cut:]
        if nbytes(current + sentence) <= max_bytes:
            current += sentence
        else:
            out.append(current)
            current = sentence
    if current:
        out.append(current)
    return [p.strip("\n") or p for p in out]

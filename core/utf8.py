"""UTF-8 byte budgets: platforms limit messages in bytes, and a cut must never
fall inside a character. The one implementation of counting, cutting and splitting."""

from __future__ import annotations


def nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def fitting_prefix(text: str, max_bytes: int) -> int:
    """How many leading characters of `text` fit in `max_bytes` (whole characters only)."""
    size = 0
    for index, ch in enumerate(text):
        size += nbytes(ch)
        if size > max_bytes:
            return index
    return len(text)


def truncate(text: str, max_bytes: int, marker: str = "") -> str:
    """`text` cut to `max_bytes` including `marker` (appended only when cut)."""
    if nbytes(text) <= max_bytes:
        return text
    budget = max(0, max_bytes - nbytes(marker))
    return text[:fitting_prefix(text, budget)] + marker


def split_lines(text: str, max_bytes: int) -> list[str]:
    """Split `text` into parts of at most `max_bytes` UTF-8 bytes, preferring line
    breaks; nothing is dropped (platforms reject or cut longer messages)."""
    if max_bytes < 4:
        raise ValueError("max_bytes must be at least 4")
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if nbytes(current + line) <= max_bytes:
            current += line
            continue
        if current:
            parts.append(current)
            current = ""
        while nbytes(line) > max_bytes:
            cut = max(fitting_prefix(line, max_bytes), 1)
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") or p for p in parts]

"""Address text: length-preserving normalisation and building numbers.

`clean()` maps each character on its own (full→half width, Traditional→Simplified,
upper→lower), so positions in the result are positions in the user's text and
entity spans can point back at it. `find_building()` recognises the usual ways
of writing a building number: 5号楼, 5栋, 五号楼, 第五栋, 5#, 5幢, 5座, 5号,
and the compact 5-2-301 (building-unit-room).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from opencc import OpenCC

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_CN_NUMBER = "[零〇一二两三四五六七八九十百]{1,5}"
NUMBER = rf"(?:\d{{1,4}}|{_CN_NUMBER})"

# Estate-level markers that must not be read as a building (建设路12号院, 3期).
_BUILDING = re.compile(
    rf"(?<![\d一二两三四五六七八九十])(?:第\s*)?(?P<num>{NUMBER})\s*"
    r"(?:(?P<kind>号楼|号院楼|栋楼?|幢楼?|座楼?|#楼?|号(?![院\d期])|楼(?![层上下顶道梯\d]))"
    r"|(?P<dash>-\s*\d{1,4}(?:\s*-\s*\d{1,4})?)(?!\d))"
)
_UNIT_ROOM = re.compile(
    rf"\s*(?:{NUMBER}\s*单元\s*(?:\d{{1,4}}\s*(?:室|号(?!楼)|户)?)?|{NUMBER}\s*(?:室|户))?")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@lru_cache(maxsize=8192)
def _char(char: str) -> str:
    width = unicodedata.normalize("NFKC", char)
    if len(width) != 1:
        width = char
    simplified = _t2s().convert(width)
    result = simplified if len(simplified) == 1 else width
    return result.lower()


def clean(text: str) -> str:
    """Character-by-character normalisation; len(clean(t)) == len(t)."""
    return "".join(_char(c) for c in text or "")


def squash(text: str) -> str:
    """clean() plus whitespace removal, for comparing names."""
    return _SPACES.sub("", clean(text))


def chinese_number(text: str) -> int | None:
    """Arabic or Chinese numerals up to 9999: 5, 十五, 二十三, 一百零八, 两 → int."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(c not in _DIGITS and c not in "十百" for c in text):
        return None
    total, current = 0, 0
    for char in text:
        if char in _DIGITS:
            current = _DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
    total += current
    if all(c in _DIGITS for c in text) and len(text) > 1:  # 一二 written digit by digit
        total = int("".join(str(_DIGITS[c]) for c in text))
    return total


@dataclass(frozen=True)
class BuildingMention:
    number: str
    start: int
    end: int     # end of the building expression, including unit and room


def find_building(text: str) -> BuildingMention | None:
    """The building number in `text` (already cleaned), with its span.

    Explicit forms (5号楼, 5栋, 5#, 5-2-301) win over the bare 5号 / 5楼, which may
    also be part of a name such as 东岗路47号.
    """
    weak: BuildingMention | None = None
    for match in _BUILDING.finditer(text):
        number = chinese_number(match.group("num"))
        if number is None or number == 0 or number > 999:
            continue
        if match.group("dash") is not None and not match.group("num").isdigit():
            continue
        end = match.end()
        tail = _UNIT_ROOM.match(text, end)
        if tail:
            end = tail.end()
        mention = BuildingMention(str(number), match.start(), end)
        if match.group("kind") not in ("号", "楼"):
            return mention
        weak = weak or mention
    return weak

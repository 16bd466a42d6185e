"""Noisy address queries made from a directory, for the accuracy test and the benchmark.

The noise is this helper's own, written from how people type in group chats, not
taken from the resolver's tables: Traditional characters (OpenCC s2t), pinyin-IME
homophone slips, every usual way of writing a building number, everyday aliases,
partial names, and filler words around the address. Each query knows what a
correct answer is: one grid, or a question that offers the right grid among its
candidates (a name shared by two streets without the street, or a split estate
without the building).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from opencc import OpenCC
from rapidfuzz.distance import Levenshtein

from grids.directory import Directory

# Pairs a pinyin keyboard offers for each other (same syllable, often same tone).
IME_SLIPS = {
    "联": "连", "盟": "蒙", "华": "化", "花": "华", "园": "元", "苑": "院", "景": "京", "港": "岗",
    "湖": "胡", "明": "名", "晖": "辉", "辉": "晖", "馨": "欣", "鑫": "新", "怡": "宜", "雅": "亚",
    "泰": "太", "盛": "胜", "锦": "金", "翠": "萃", "碧": "必", "瑞": "锐", "祥": "翔", "康": "抗",
    "嘉": "佳", "佳": "家", "庭": "亭", "源": "元", "泉": "全", "溪": "西", "峰": "丰", "湾": "弯",
    "悦": "越", "泽": "则", "韵": "运", "邦": "帮", "坊": "方", "桥": "乔", "河": "和", "林": "临",
    "宁": "凝", "隆": "龙", "丰": "风", "岸": "安", "城": "成", "兴": "星", "福": "富", "阳": "杨",
    "光": "广", "青": "清", "丽": "利", "玉": "裕", "紫": "子", "安": "按", "德": "得", "仁": "人",
    "文": "闻", "星": "兴", "圆": "苑", "院": "元", "云": "芸", "永": "勇", "春": "纯", "秋": "求", "东": "冬", "北": "被",
}
_GROUP: dict[str, str] = {}


def _root(char: str) -> str:
    while _GROUP.get(char, char) != char:
        char = _GROUP[char]
    return char


for _a, _b in IME_SLIPS.items():
    _GROUP[_root(_a)] = _root(_b)


def _sounds_alike(a: str, b: str) -> bool:
    return len(a) == len(b) and all(x == y or _root(x) == _root(y) for x, y in zip(a, b, strict=True))


BEFORE = ("", "", "我住", "我家在", "住在", "你好，我住", "请问我住", "我是", "@云博士 我住", "在",
          "老人住", "租房住在")
AFTER = ("", "", "，最近的工会服务站在哪？", "，网格员是谁", "的，附近有工会吗", "，工会几点开门",
         "，找工会办事去哪", " 谢谢", "，我们网格是哪个", "这边")
CN = "零一二三四五六七八九"


def chinese(number: int) -> str:
    if number < 10:
        return CN[number]
    tens, ones = divmod(number, 10)
    return ("" if tens == 1 else CN[tens]) + "十" + (CN[ones] if ones else "")


def building_text(rng: random.Random, number: str) -> str:
    if not number.isdigit():
        return f"{number}号楼"
    n = int(number)
    unit, room = rng.randint(1, 4), rng.choice((101, 302, 501, 1203))
    forms = (f"{n}号楼", f"{n}栋", f"{chinese(n)}号楼", f"{n}#", f"{n}#楼", f"{n}幢", f"{n}座",
             f"{n}号楼{unit}单元", f"{n}-{unit}-{room}", f"第{chinese(n)}栋", f"{n}栋{unit}单元{room}",
             f"{n}号")
    return rng.choice(forms)


@dataclass(frozen=True)
class NoisyQuery:
    text: str
    grid: str
    ambiguous: bool          # the right answer is a question listing `grid`
    kinds: tuple[str, ...]   # which noise went in, for reports


class QueryMaker:
    def __init__(self, directory: Directory, seed: int = 7) -> None:
        self.d = directory
        self.rng = random.Random(seed)
        self.s2t = OpenCC("s2t")
        self.names = Counter(e.name for e in directory.estates.values())
        self.all_names = set(self.names) | {a for e in directory.estates.values() for a in e.aliases}
        self.spellings = {e.code: (e.name, *e.aliases) for e in directory.estates.values()}
        self.parts = [(g, p) for g in directory.grids.values() for p in g.coverage]
        self.grids_of: dict[str, list[str]] = {}
        for grid, part in self.parts:
            self.grids_of.setdefault(part.estate_code, []).append(grid.code)

    def _partial(self, name: str) -> str | None:
        for ending in ("小区", "花园", "家园", "嘉园", "公寓", "新村"):
            if name.endswith(ending) and len(name) - len(ending) >= 2:
                core = name[: -len(ending)]
                if sum(1 for other in self.all_names if other.startswith(core)) == 1:
                    return core
        return None

    def _confusable(self, typo: str, estate_code: str) -> bool:
        """True when another estate sounds the same as the typo and is as close to it."""
        own = min(Levenshtein.distance(typo, n) for n in self.spellings[estate_code])
        name = self.d.estates[estate_code].name
        return any(_sounds_alike(typo, n) and Levenshtein.distance(typo, n) <= own
                   for code, names in self.spellings.items()
                   if self.d.estates[code].name != name for n in names)

    def _near(self, typo: str, estate_code: str) -> bool:
        """True when another estate's spelling is as close to the typo as the intended one."""
        own = min(Levenshtein.distance(typo, n) for n in self.spellings[estate_code])
        name = self.d.estates[estate_code].name
        return any(Levenshtein.distance(typo, n) <= own
                   for code, names in self.spellings.items()
                   if self.d.estates[code].name != name for n in names)

    def _slip(self, name: str) -> str | None:
        """A dropped or doubled character (not a number, phase or house number) in a long name."""
        positions = [i for i, c in enumerate(name)
                     if i >= 2 and "\u4e00" <= c <= "\u9fff" and c not in "一二三四期号院路"]
        if len(name) < 5 or not positions:
            return None
        i = self.rng.choice(positions)
        typo = name[:i] + name[i + 1:] if self.rng.random() < 0.5 else name[:i] + name[i] + name[i:]
        return typo if typo not in self.all_names else None

    def _typo(self, name: str) -> str | None:
        positions = [i for i, c in enumerate(name) if c in IME_SLIPS]
        self.rng.shuffle(positions)
        for i in positions:
            typo = name[:i] + IME_SLIPS[name[i]] + name[i + 1:]
            if typo not in self.all_names:
                return typo
        return None

    def make(self) -> NoisyQuery:
        rng = self.rng
        grid, part = rng.choice(self.parts)
        estate = self.d.estates[part.estate_code]
        buildings = part.buildings or estate.buildings
        kinds: list[str] = []
        name = estate.name
        roll = rng.random()
        if roll < 0.15 and estate.aliases:
            name, kinds = rng.choice(estate.aliases), ["alias"]
        elif roll < 0.25 and (partial := self._partial(name)):
            name, kinds = partial, ["partial"]
        confusable = False
        if "partial" not in kinds and rng.random() < 0.25 and (typo := self._typo(name)):
            name = typo
            kinds.append("typo")
            confusable = self._confusable(typo, estate.code)
        elif "partial" not in kinds and rng.random() < 0.1 and (slip := self._slip(name)):
            name = slip
            kinds.append("slip")
            confusable = self._near(slip, estate.code)
        with_building = rng.random() < 0.85 and buildings
        address = name
        if with_building:
            address += building_text(rng, rng.choice(buildings))
            kinds.append("building")
        ambiguous = confusable
        if confusable:
            kinds.append("confusable")
        if self.names[estate.name] > 1:
            if rng.random() < 0.5:
                community = self.d.communities[estate.community_code]
                street = self.d.streets[community.street_code]
                address = rng.choice((f"{street.name}的", street.name, f"{community.name}")) + address
                kinds.append("street")
            else:
                ambiguous = True
                kinds.append("duplicate")
        if not with_building and len(self.grids_of[estate.code]) > 1:
            ambiguous = True
            kinds.append("split")
        text = rng.choice(BEFORE) + address + rng.choice(AFTER)
        if rng.random() < 0.25:
            text = self.s2t.convert(text)
            kinds.append("traditional")
        return NoisyQuery(text, grid.code, ambiguous, tuple(kinds))

    def queries(self, count: int) -> list[NoisyQuery]:
        return [self.make() for _ in range(count)]


def is_correct(query: NoisyQuery, resolution: object) -> bool:
    status = getattr(resolution, "status", None)
    candidates = getattr(resolution, "candidates", ())
    grids = [c.grid_code for c in candidates]
    if query.ambiguous:
        return status == "ambiguous" and query.grid in grids
    return status == "resolved" and grids[:1] == [query.grid]

"""Deterministic generator of a fictitious directory (the committed sample data).

`generate(seed, districts=1)` builds one district of 10 streets, 100
communities, 805 grids and about 1,500 estates; `districts=100` gives a
province-sized directory (80,500 grids) for benchmarks. Everything is
invented: names are drawn from syllable lists, phone numbers use the
never-assigned 000 prefix, group ids and webhook hosts are under
`example.invalid`. Some estate names are deliberately repeated in two streets
of the same district, and large estates are split between two grids by
building, as in real neighbourhoods.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from grids.directory import (
    ChatGroup,
    Community,
    Coordinator,
    Coverage,
    Directory,
    Estate,
    Grid,
    OfficeLevel,
    Street,
    UnionOffice,
)
from grids.hours import parse_day

SEED = 20240501
SAMPLE_DIR = Path(__file__).resolve().parent / "sample"   # the committed output
NOTE = ("虚构示例数据：本目录中的区、街道、社区、小区、人员、电话、群号均由程序生成，"
        "与任何真实地点、人员和号码无关，仅供演示和测试。")

FIRST = "金银玉翠碧紫青丽华锦瑞泰康安和嘉怡鑫盛富祥福兴东西南北春秋阳明长永天德仁文星云"
SECOND = "港光泰华景湖河山水林庭城宁和盛兴隆丰源泉溪岸峰湾馨怡悦泽晖辉雅韵邦都坊桥苗"
COMMON = (
    "阳光", "和平", "东风", "友谊", "建华", "胜利", "光明", "锦绣", "翠湖", "碧水", "紫荆", "丽景", "康乐", "安居",
    "瑞祥", "泰和", "怡景", "嘉禾", "金港", "银河", "青年", "朝阳", "红星", "向阳", "团结", "民主", "富强", "振兴",
    "新华", "裕华", "长青", "育才", "铁路", "电力", "水岸", "枫林", "桃园", "杏林", "梧桐", "丁香", "海棠", "玉兰",
    "百合", "春晖", "秋实", "明珠", "天元", "北辰", "南苑", "西城", "东城",
)
SUFFIXES = (("小区", 34), ("花园", 12), ("家园", 12), ("苑", 8), ("新村", 5), ("公寓", 5),
            ("里", 4), ("嘉园", 4), ("华庭", 4), ("名苑", 3), ("雅居", 3), ("佳苑", 3))
SOFT_SUFFIXES = ("花园", "家园", "苑", "嘉园", "华庭", "名苑", "雅居", "佳苑", "公寓")
UNITS = ("棉纺厂", "机床厂", "电业局", "粮食局", "供销社", "化肥厂", "印染厂", "二建公司", "第三中学",
         "制药厂", "邮电局", "水泥厂", "汽修厂", "百货公司", "纺机厂")
ROADS = ("建设", "和平", "中山", "人民", "解放", "胜利", "友谊", "育才", "光明", "青年", "体育",
         "槐安", "红旗", "平安", "新石", "跃进", "工农", "民生", "石门", "东岗")
STREET_WORDS = (
    "联盟", "新华", "裕华", "和平", "东风", "友谊", "建设", "胜利", "长兴", "青园", "翠屏", "北辰", "南湖", "西苑",
    "东关", "明珠", "朝阳", "红旗", "文化", "光华",
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉梅红建国文斌志宏海燕春雪晓丹鹏飞婷慧"
SERVICES = ("入会登记", "法律咨询", "困难帮扶", "心理疏导", "技能培训", "会员卡办理", "职工维权",
            "户外劳动者驿站", "医疗互助", "疗休养报名", "金秋助学")
PLATFORM_WEIGHTS = (("wecom", 40), ("onebot", 25), ("dingtalk", 15), ("feishu", 10), ("web", 10))
FIXED = ("联盟小区", "幸福家园")  # the example estate and a name shared by two streets


def _week(weekdays: str, saturday: str = "", sunday: str = "") -> tuple[tuple, ...]:
    return tuple(parse_day(day) for day in (weekdays,) * 5 + (saturday, sunday))


@dataclass
class _District:
    rng: random.Random
    index: int
    out: Directory
    prefixes: list[str] = field(default_factory=list)
    names_used: set[str] = field(default_factory=set)
    estates: dict[str, Estate] = field(default_factory=dict)  # this district's, merged at the end
    estate_seq: int = 0
    office_seq: int = 0
    person_seq: int = 0
    fixed_done: bool = False

    @property
    def code(self) -> str:
        return f"D{self.index:03d}"

    @property
    def name(self) -> str:
        if self.index == 1:
            return "云溪区"
        rng = random.Random(self.index)
        return rng.choice(FIRST) + rng.choice(SECOND) + "区"

    def phone(self, number: int) -> str:
        return f"000-{self.index:04d}-{number:04d}"

    def estate_name(self) -> str:
        rng = self.rng
        for _ in range(200):
            roll = rng.random()
            if roll < 0.07:
                name = f"{rng.choice(ROADS)}路{rng.randint(1, 300)}号院"
            elif roll < 0.12:
                name = rng.choice(UNITS) + "宿舍"
            else:
                prefix = rng.choice(COMMON) if rng.random() < 0.3 else self.prefixes.pop()
                suffix = rng.choices([s for s, _ in SUFFIXES], [w for _, w in SUFFIXES])[0]
                name = prefix + suffix
                if rng.random() < 0.06:
                    name += rng.choice(("二期", "三期"))
            if name not in self.names_used and name not in FIXED:
                self.names_used.add(name)
                return name
        raise RuntimeError("estate name pool exhausted")

    def estate(self, community: str, name: str, size: int) -> Estate:
        self.estate_seq += 1
        skip = {"4", "13", "14"} if self.rng.random() < 0.2 else set()
        buildings = tuple(str(n) for n in range(1, size + 1 + len(skip)) if str(n) not in skip)
        estate = Estate(f"{self.code}-E{self.estate_seq:04d}", name, community, (), buildings)
        self.estates[estate.code] = estate
        return estate

    def office(self, name: str, level: OfficeLevel, address: str, hours: tuple,
               street: str | None, community: str | None) -> UnionOffice:
        self.office_seq += 1
        rng = self.rng
        services = tuple(sorted(rng.sample(SERVICES, rng.randint(3, 6)), key=SERVICES.index))
        office = UnionOffice(
            code=f"{self.code}-O{self.office_seq:03d}", name=name, level=level, address=address,
            phone=self.phone(self.office_seq), hours=hours, services=services, street_code=street,
            community_code=community,
            latitude=round(30.0 + self.index * 0.05 + rng.random() * 0.1, 6),
            longitude=round(110.0 + self.index * 0.05 + rng.random() * 0.1, 6))
        self.out.offices[office.code] = office
        return office

    def coordinator(self) -> Coordinator:
        self.person_seq += 1
        rng, n = self.rng, self.person_seq
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2, 2))))
        accounts = {"wecom": f"wx-{self.code.lower()}-{n:04d}", "web": f"staff-{self.code.lower()}-{n:04d}"}
        if rng.random() < 0.5:
            accounts["dingtalk"] = f"dd{rng.getrandbits(40):010x}"
        if rng.random() < 0.3:
            accounts["feishu"] = f"ou_{rng.getrandbits(64):016x}"
        if rng.random() < 0.6:
            accounts["onebot"] = str(10_000 + self.index * 100_000 + n)
        coordinator = Coordinator(f"{self.code}-P{n:04d}", name, self.phone(5000 + n), accounts)
        self.out.coordinators[coordinator.code] = coordinator
        return coordinator


def _group(district: _District, grid: Grid, platform: str) -> ChatGroup:
    bits = district.rng.getrandbits(64)
    ids = {
        "wecom": (f"wr{bits:016x}", "webhook",
                  f"https://wecom.example.invalid/webhook/send?key=EXAMPLE-{bits:016x}"),
        "dingtalk": (f"cid{bits:016x}", "webhook",
                     f"https://dingtalk.example.invalid/robot/send?access_token=EXAMPLE-{bits:016x}"),
        "feishu": (f"oc_{bits:016x}", "webhook",
                   f"https://feishu.example.invalid/open-apis/bot/v2/hook/EXAMPLE-{bits:016x}"),
        "onebot": (str(900_000_000 + district.index * 1_000_000 + len(district.out.groups)),
                   "onebot", "send_group_msg"),
        "web": (f"web-{grid.code.lower()}", "web", f"room:{grid.code}"),
    }
    external_id, via, target = ids[platform]
    return ChatGroup(platform, external_id, f"{grid.name}居民群", grid.code, via, target)


def _district(rng: random.Random, index: int, out: Directory) -> None:
    d = _District(rng, index, out)
    pool = [a + b for a in FIRST for b in SECOND if a != b and a + b not in COMMON]
    rng.shuffle(pool)
    d.prefixes = pool
    street_words = rng.sample(STREET_WORDS, 10)
    if index == 1:
        street_words = ["联盟", *[w for w in street_words if w != "联盟"][:9]]
    community_counts = [9, 11, 10, 8, 12, 10, 9, 11, 10, 10]
    rng.shuffle(community_counts)
    nine = set(rng.sample(range(100), 5))  # 95 communities with 8 grids, 5 with 9: 805
    d.office(
        f"{d.name}总工会", OfficeLevel.DISTRICT, f"{d.name}人民路88号 职工服务中心一楼",
        _week("09:00-12:00,13:30-17:30", "09:00-12:00"), None, None)
    community_index = 0
    shared: list[tuple[str, str]] = []  # (street code, estate code) candidates for duplicates
    for s, word in enumerate(street_words, start=1):
        street = Street(f"{d.code}-S{s:02d}", f"{word}街道", d.name)
        out.streets[street.code] = street
        street_office = d.office(
            f"{word}街道工会服务站", OfficeLevel.STREET,
            f"{d.name}{word}街道{rng.choice(ROADS)}路{rng.randint(1, 200)}号 街道便民服务中心",
            _week("08:30-12:00,14:00-17:30", "09:00-12:00" if rng.random() < 0.4 else ""),
            street.code, None)
        for c in range(1, community_counts[s - 1] + 1):
            prefix = d.prefixes.pop()
            community = Community(f"{street.code}-C{c:02d}", f"{prefix}社区", street.code)
            out.communities[community.code] = community
            office = street_office
            if rng.random() < 0.7:
                office = d.office(
                    f"{prefix}社区工会服务站", OfficeLevel.COMMUNITY,
                    f"{d.name}{word}街道{prefix}社区党群服务中心{rng.randint(1, 3)}楼",
                    _week("09:00-11:30,14:30-17:30", "09:00-11:30" if rng.random() < 0.3 else ""),
                    street.code, community.code)
            count = 9 if community_index in nine else 8
            _community_grids(d, community, office, count, shared, street.code)
            community_index += 1
    for _ in range(5):
        d.office(f"{d.prefixes.pop()}{rng.choice(('纺织', '机械', '物流', '食品', '电子'))}有限公司工会",
                 OfficeLevel.ENTERPRISE, f"{d.name}经济开发区{rng.randint(1, 30)}号",
                 _week("08:00-12:00,13:00-17:00"), None, None)
    _duplicate_names(d, shared)
    _aliases(d)
    out.estates.update(d.estates)


def _community_grids(d: _District, community: Community, office: UnionOffice, count: int,
                     shared: list[tuple[str, str]], street_code: str) -> None:
    rng, out = d.rng, d.out
    specs: list[list[Coverage]] = []
    while len(specs) < count:
        if count - len(specs) >= 2 and rng.random() < 0.13:
            estate = d.estate(community.code, d.estate_name(), rng.randint(18, 36))
            half = len(estate.buildings) // 2
            specs.append([Coverage(estate.code, estate.buildings[:half])])
            specs.append([Coverage(estate.code, estate.buildings[half:])])
            continue
        size = rng.choices((1, 2, 3, 4), (25, 42, 26, 7))[0]
        parts = []
        for _ in range(size):
            name = d.estate_name()
            if d.index == 1 and not d.fixed_done:
                name, d.fixed_done = FIXED[0], True
            estate = d.estate(community.code, name, rng.randint(3, 16))
            parts.append(Coverage(estate.code))
            shared.append((street_code, estate.code))
        specs.append(parts)
    for g, coverage in enumerate(specs, start=1):
        coordinator = d.coordinator()
        grid = Grid(f"{community.code}-G{g:02d}", f"{community.name}第{g}网格", community.code,
                    coordinator.code, office.code, tuple(coverage))
        out.grids[grid.code] = grid
        platform = rng.choices([p for p, _ in PLATFORM_WEIGHTS], [w for _, w in PLATFORM_WEIGHTS])[0]
        platforms = [platform]
        if rng.random() < 0.2:
            platforms.append(rng.choice([p for p, _ in PLATFORM_WEIGHTS if p != platform]))
        for name in platforms:
            group = _group(d, grid, name)
            out.groups[group.key] = group


def _duplicate_names(d: _District, shared: list[tuple[str, str]]) -> None:
    """Give about 30 estates the name of an estate in another street."""
    rng, estates = d.rng, d.estates
    by_street: dict[str, list[str]] = {}
    for street, code in shared:
        if estates[code].name != FIXED[0]:
            by_street.setdefault(street, []).append(code)
    streets = sorted(by_street)
    pairs = [(streets[0], streets[1])] + [tuple(rng.sample(streets, 2)) for _ in range(29)]
    taken: set[str] = set()
    for number, (a, b) in enumerate(pairs):
        source = rng.choice(by_street[a])
        target = rng.choice(by_street[b])
        if source in taken or target in taken:
            continue
        taken.update((source, target))
        name = FIXED[1] if number == 0 and d.index == 1 else estates[source].name
        for code in (source, target):
            old = estates[code]
            estates[code] = Estate(old.code, name, old.community_code, (), old.buildings)


def _aliases(d: _District) -> None:
    """Everyday names: 阳光花园 is also "阳光小区", 棉纺厂宿舍 "棉纺厂家属院"."""
    estates = d.estates
    names = {e.name for e in estates.values()}
    proposals: dict[str, list[str]] = {}
    for estate in estates.values():
        name, alias = estate.name, ""
        if name.endswith("宿舍"):
            alias = name.removesuffix("宿舍") + "家属院"
        elif name.endswith("号院"):
            alias = name.removesuffix("院")
        elif name.endswith(("二期", "三期")):
            base = name[:-2]
            for suffix in sorted(SOFT_SUFFIXES + ("小区",), key=len, reverse=True):
                base = base.removesuffix(suffix)
            alias = base + ("2期" if name.endswith("二期") else "3期")
        else:
            for suffix in sorted(SOFT_SUFFIXES, key=len, reverse=True):
                if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                    alias = name.removesuffix(suffix) + "小区"
                    break
        if alias and alias not in names:
            proposals.setdefault(alias, []).append(estate.code)
    for alias, codes in proposals.items():
        owners = {estates[c].name for c in codes}
        if len(owners) == 1:  # an alias shared by different estates would only confuse
            for code in codes:
                old = estates[code]
                estates[code] = Estate(old.code, old.name, old.community_code, (alias,),
                                       old.buildings)


def generate(seed: int = SEED, districts: int = 1) -> Directory:
    """The fictitious directory: `districts` × (10 streets, 100 communities, 805 grids)."""
    rng = random.Random(seed)
    out = Directory()
    for index in range(1, districts + 1):
        _district(rng, index, out)
    return out

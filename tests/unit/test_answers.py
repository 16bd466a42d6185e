"""The answer texts in data/answers/ follow the rules for group-chat answers
(shared/spec/knowledge-facts.md): short enough for a phone, @-mention wording,
no app/website/account the district may not have, only the public hotlines,
and the facts that reviews found missing or wrong.

Loads the YAML files directly; no Rasa model is needed.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from core.topics import contract, intent_for

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = ROOT / "data" / "answers"

FAQ_LIMIT = 150  # utter_faq/* and the two referral answers
SHORT_LIMIT = 120  # follow-ups and small talk
FOLLOWUP_MIN = 40
MAX_LINES = 8

ASPECTS = ("materials", "cost", "time")
FOLLOWUP_TOPICS = sorted(
    [k for k, t in contract().items() if t.kind == "faq"] + ["legal_referral", "gov_referral"]
)

HOTLINES = {"12351", "12333", "12348", "12345"}
PSYCH_ONLY = {"12356", "110", "120"}  # crisis line and emergency numbers: counselling only

OFFICE = "@云博士 说“最近的工会服务站”"
LOCAL_CHANNEL = "本地工会的App或公众号"
LOCAL_CHANNEL_HELP = "（不清楚可@网格员或拨12351）"
HANDOFF = "@云博士 说“转人工”"

FORBIDDEN = (
    "发送",  # the assistant only hears @-mentions in a group
    "工会App/网站",
    "App/网站",
    "网站",
    "小程序",
    "保密",
    "严格保密",
    "隐私",
    "人工客服",
    "真人客服",
    "马上转人工",
    "立即转人工",
    "直接转人工",
)


def _load() -> dict[str, list[tuple[str, str]]]:
    """Response name -> [(file name, text)] for every text in data/answers/."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(ANSWERS.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(doc) == {"version", "responses"}, f"{path.name}: keys {sorted(doc)}"
        assert doc["version"] == "3.1", path.name
        for name, variants in doc["responses"].items():
            assert name not in found, f"{name} defined twice"
            assert isinstance(variants, list) and variants, f"{path.name}: {name} has no variants"
            found[name] = []
            for variant in variants:
                assert set(variant) == {"text"}, f"{path.name}: {name} variant {variant}"
                assert isinstance(variant["text"], str), f"{path.name}: {name}"
                found[name].append((path.name, variant["text"]))
    return found


RESPONSES = _load()
TEXTS = [
    pytest.param(name, text, id=f"{name}#{i}" if len(variants) > 1 else name)
    for name, variants in RESPONSES.items()
    for i, (_file, text) in enumerate(variants)
]


def is_followup(name: str) -> bool:
    return name.startswith("utter_followup_")


def is_faq(name: str) -> bool:
    return name.startswith("utter_faq/")


def is_referral(name: str) -> bool:
    return name in {"utter_gov_referral", "utter_legal_referral"}


def topic_of(name: str) -> str:
    """The topic key a response belongs to (chitchat responses: their own name)."""
    if is_faq(name):
        return name.split("/", 1)[1]
    if is_followup(name):
        return name.removeprefix("utter_followup_").rsplit("_", 1)[0]
    return name.removeprefix("utter_")


def length(text: str) -> int:
    """Characters a reader sees, without whitespace."""
    return len(re.sub(r"\s", "", text))


def limit_for(name: str) -> int:
    return FAQ_LIMIT if is_faq(name) or is_referral(name) else SHORT_LIMIT


# -- phone numbers ---------------------------------------------------------------------------
# A run of digits, also when written with hyphens or single spaces (010-1234 5678);
# a dot splits runs (0.5% gives "0" and "5"; 139.0000.1111 gives 139, 0000, 1111).
_DIGITS = re.compile(r"\d(?:[-－ ]?\d)*")
# What may follow a 3-4 digit number that is a quantity, not a phone number.
_UNIT = re.compile(r"\s*(?:%|％|‰|条|款|年|个月|月|天|日|周岁|岁|小时|倍|个|胎)")


def phone_numbers(text: str) -> set[str]:
    """Phone-number-like digit runs in `text`.

    Runs of 5+ digits are always phone-like (no article number, percentage or year
    has five digits). Runs of 3-4 digits are phone-like unless they are an article
    or ordinal (第…) or a quantity (150%, 2025年, 100天).
    """
    text = unicodedata.normalize("NFKC", text)
    found = set()
    for m in _DIGITS.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if len(digits) < 3:
            continue
        if len(digits) < 5 and (text[: m.start()].endswith("第") or _UNIT.match(text, m.end())):
            continue
        found.add(digits)
    return found


def bad_numbers(text: str, topic: str) -> set[str]:
    allowed = HOTLINES | (PSYCH_ONLY if topic == "psych_counseling" else set())
    return phone_numbers(text) - allowed


@pytest.mark.parametrize(
    ("sample", "topic"),
    [
        ("有问题请拨打13900001111", "join_union"),
        ("电话010-12345678", "join_union"),
        ("热线 139 0000 1111", "wage_arrears"),
        ("电话139.0000.1111", "hardship_aid"),
        ("拨8888咨询", "union_dues"),
        ("请拨１３９００００１１１１", "legal_aid"),
        ("情况紧急拨110", "work_injury"),
        ("可拨12356心理援助热线", "wage_arrears"),
        ("拨12350投诉", "complaint_report"),
        ("第46条规定，电话 12351-8", "labor_contract"),
    ],
)
def test_the_number_check_catches_bad_numbers(sample: str, topic: str) -> None:
    assert bad_numbers(sample, topic), sample


@pytest.mark.parametrize(
    ("sample", "topic"),
    [
        ("劳动合同法第46条、第40、41条，工伤保险条例第17条", "labor_contract"),
        ("加班费至少150%，休息日200%，法定节假日300%", "labor_contract"),
        ("会费0.5%，经费2%，产假98天，30日内，1年内", "union_dues"),
        ("2025年起，第100条，满180天", "women_workers"),
        ("拨12351、12333、12348或12345", "gov_referral"),
        ("拨12356；紧急拨110或120", "psych_counseling"),
    ],
)
def test_the_number_check_passes_articles_quantities_and_hotlines(sample: str, topic: str) -> None:
    assert not bad_numbers(sample, topic), bad_numbers(sample, topic)


# -- every text ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_fits_a_phone_screen(name: str, text: str) -> None:
    n = length(text)
    assert n <= limit_for(name), f"{name}: {n} characters (limit {limit_for(name)})"
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) <= MAX_LINES, f"{name}: {len(lines)} lines"
    if is_followup(name):
        assert n >= FOLLOWUP_MIN, f"{name}: only {n} characters"


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_no_forbidden_phrase(name: str, text: str) -> None:
    hits = [p for p in FORBIDDEN if p in text]
    assert not hits, f"{name}: {hits}"


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_only_public_hotlines(name: str, text: str) -> None:
    bad = bad_numbers(text, topic_of(name))
    assert not bad, f"{name}: {sorted(bad)}"


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_office_is_asked_for_by_mention(name: str, text: str) -> None:
    # "说“最近的工会服务站”" must be said to @云博士 (it only hears @-mentions in a group)
    for m in re.finditer(r"说“最近的工会服务站”", text):
        assert text[: m.start()].endswith("@云博士 "), (
            f"{name}: {text[max(0, m.start() - 8) : m.end()]}"
        )


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_names_only_the_local_union_channel(name: str, text: str) -> None:
    rest = text.replace(LOCAL_CHANNEL, "").replace("平台App", "")
    for word in ("App", "APP", "app", "公众号", "微信号", "官网"):
        assert word not in rest, f"{name}: names {word!r} outside {LOCAL_CHANNEL!r}"
    if LOCAL_CHANNEL in text:
        assert LOCAL_CHANNEL_HELP in text, f"{name}: {LOCAL_CHANNEL} without {LOCAL_CHANNEL_HELP}"


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_handoff_is_a_ticket_not_a_live_person(name: str, text: str) -> None:
    for m in re.finditer("转人工", text):
        assert text[: m.end() + 1].endswith(HANDOFF), f"{name}: 转人工 not as {HANDOFF}"
    if "转人工" in text:
        assert "网格员会在群里回复" in text, f"{name}: does not say who answers and where"


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_local_rules_point_to_the_office_or_12351(name: str, text: str) -> None:
    if "以当地" in text:
        refer = [OFFICE, "12351"] + (["12333", "12345", "12348"] if is_referral(name) else [])
        assert any(r in text for r in refer), f"{name}: says 以当地… but points nowhere"


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_no_invented_amounts_or_opening_hours(name: str, text: str) -> None:
    plain = unicodedata.normalize("NFKC", text)
    assert not re.search(r"\d\s*(?:元|块钱|万元)", plain), f"{name}: names an amount"
    assert not re.search(r"\d{1,2}\s*[:：点]\s*\d{0,2}", plain), f"{name}: names a time of day"
    for word in ("营业时间", "开放时间", "上班时间", "周一至周五", "24小时"):
        assert word not in plain, f"{name}: {word}"


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_severance_is_tied_to_article_46(name: str, text: str) -> None:
    if topic_of(name) == "labor_contract" and "经济补偿" in text:
        assert "第46条" in text, f"{name}: 经济补偿 without 第46条"


# -- topic contents --------------------------------------------------------------------------

MUST_SAY = {
    "utter_faq/psych_counseling": ["12356", "110", "120"],
    "utter_legal_referral": ["12348", "公共法律服务中心", "工会", "法律援助"],
    "utter_faq/labor_contract": ["劳动合同法第46条", "经济补偿", "150%", "第2个月"],
    "utter_faq/work_injury": ["30日", "1年", "事故或确诊", "第17条", "本人、近亲属或工会"],
    "utter_faq/women_workers": ["98天", "生育津贴", "产假前工资", "哺乳"],
    "utter_faq/join_union": ["入会", "12351", "工会法第3条"],
    "utter_faq/union_dues": ["0.5%", "2%", "工会法第43条"],
    "utter_faq/wage_arrears": ["12333", "1年", "总承包"],
    "utter_gov_referral": ["12333", "12345", "公积金管理中心"],
    "utter_followup_labor_contract_cost": ["第46条", "第87条"],
    "utter_followup_work_injury_time": ["30日", "1年", "第17条"],
    "utter_followup_women_workers_cost": ["生育津贴", "产假前工资"],
    "utter_followup_join_union_cost": ["0.5%"],
    "utter_followup_wage_arrears_cost": ["不收费"],
}


@pytest.mark.parametrize(("name", "needles"), MUST_SAY.items(), ids=list(MUST_SAY))
def test_answer_states_the_key_facts(name: str, needles: list[str]) -> None:
    assert name in RESPONSES, f"{name} missing"
    for _file, text in RESPONSES[name]:
        missing = [n for n in needles if n not in text]
        assert not missing, f"{name}: missing {missing}"


def test_crisis_and_emergency_numbers_only_for_counselling() -> None:
    for name, variants in RESPONSES.items():
        if topic_of(name) != "psych_counseling":
            for _file, text in variants:
                assert not phone_numbers(text) & PSYCH_ONLY, name


# -- response names --------------------------------------------------------------------------


def _expected_names() -> set[str]:
    names = {"utter_out_of_scope"}
    for key, topic in contract().items():
        if topic.kind in {"faq", "referral", "chitchat"}:
            names.add(f"utter_{intent_for(key)}")
    return names


def test_every_topic_keeps_its_response_and_no_stray_names() -> None:
    ours = {n for n in RESPONSES if not is_followup(n)}
    assert ours == _expected_names(), (
        f"missing {sorted(_expected_names() - ours)}, unexpected {sorted(ours - _expected_names())}"
    )


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("topic", FOLLOWUP_TOPICS)
def test_followup_exists(topic: str, aspect: str) -> None:
    name = f"utter_followup_{topic}_{aspect}"
    assert RESPONSES.get(name), f"{name} missing"
    assert all(file == "followups.yml" for file, _ in RESPONSES[name]), name


def test_followups_are_only_the_listed_ones() -> None:
    expected = {f"utter_followup_{t}_{a}" for t in FOLLOWUP_TOPICS for a in ASPECTS}
    ours = {n for n in RESPONSES if is_followup(n)}
    assert ours == expected, f"unexpected {sorted(ours - expected)}"
    for name in ours:
        assert re.fullmatch(r"utter_followup_[a-z_]+_(?:materials|cost|time)", name), name

import pytest

from grids.phonetic import fold
from grids.text import chinese_number, clean, find_building


@pytest.mark.parametrize("text,number", [
    ("我住联盟小区5号楼", "5"), ("联盟小区5栋", "5"), ("联盟小区五号楼", "5"), ("联盟小区5#", "5"),
    ("联盟小区5#楼", "5"), ("联盟小区5幢", "5"), ("联盟小区5座", "5"), ("第十五栋", "15"),
    ("二十三号楼", "23"), ("金港小区11-2-301", "11"), ("5号楼2单元301室", "5"),
    ("聯盟小區五號樓", "5"), ("阳光花园７号楼", "7"), ("建设路12号院3号楼", "3"),
])
def test_building_forms(text: str, number: str) -> None:
    mention = find_building(clean(text))
    assert mention is not None and mention.number == number


@pytest.mark.parametrize("text", ["建设路12号院", "东风里小区二单元的", "000-0000-1001", "祥港小区二期",
                                  "工会在哪"])
def test_not_a_building(text: str) -> None:
    assert find_building(clean(text)) is None


def test_explicit_building_wins_over_house_number() -> None:
    mention = find_building(clean("东岗路47号一号楼"))
    assert mention is not None and mention.number == "1"


def test_unit_and_room_belong_to_the_building_span() -> None:
    text = clean("联盟小区5幢2单元301，工会在哪")
    mention = find_building(text)
    assert mention is not None and text[mention.start:mention.end] == "5幢2单元301"


def test_chinese_numbers() -> None:
    assert [chinese_number(t) for t in ("5", "十", "十五", "二十三", "一百零八", "两", "一二")] == [
        5, 10, 15, 23, 108, 2, 12]
    assert chinese_number("五楼") is None


def test_clean_keeps_positions() -> None:
    raw = "聯盟小區５號樓，ＡＢ"
    assert clean(raw) == "联盟小区5号楼,ab"
    assert len(clean(raw)) == len(raw)


def test_fold_maps_homophones_together() -> None:
    assert fold("连盟小区") == fold("联盟小区")
    assert fold("兴悦花圆") == fold("兴悦花园")
    assert fold("欣") != fold("星")  # xin and xing are different syllables
    assert len(fold("任意文本abc")) == len("任意文本abc")

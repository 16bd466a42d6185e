import pytest
from grid_noise import QueryMaker, is_correct

from grids.directory import Directory
from grids.lookup import AMBIGUOUS, NOT_FOUND, RESOLVED, Resolver

MIN_ACCURACY = 0.98
NOISY_QUERIES = 600


def _grid_of(sample: Directory, estate_name: str, building: str) -> str:
    estate = next(e for e in sample.estates.values() if e.name == estate_name)
    return next(g.code for g in sample.grids.values() for c in g.coverage
                if c.estate_code == estate.code and c.covers(building))


@pytest.mark.parametrize("text", [
    "我住联盟小区5号楼", "聯盟小區五號樓", "连盟小区5栋", "联盟小区5#", "联盟小区 5幢", "联盟小区5座",
    "@云博士 你好，我家在联盟小区第五栋2单元301，最近的工会服务站在哪？", "住联盟5#楼",
])
def test_issue_example_in_many_spellings(resolver: Resolver, sample: Directory, text: str) -> None:
    result = resolver.resolve(text)
    assert result.status == RESOLVED, result
    best = result.best
    assert best is not None and best.grid_code == _grid_of(sample, "联盟小区", "5")
    assert best.estate_name == "联盟小区" and best.building == "5"
    assert best.community_name and best.street_name == "联盟街道" and best.office_name
    assert 0 < best.confidence <= 1


def test_name_in_two_streets_asks_which(resolver: Resolver) -> None:
    result = resolver.resolve("幸福家园3号楼的工会在哪")
    assert result.status == AMBIGUOUS
    assert len({c.street_code for c in result.candidates}) == 2
    assert result.question and "幸福家园" in result.question and "街道" in result.question


def test_street_settles_a_shared_name(resolver: Resolver) -> None:
    result = resolver.resolve("联盟街道的幸福家园3号楼")
    assert result.status == RESOLVED and result.best and result.best.street_name == "联盟街道"


def test_split_estate_needs_the_building(resolver: Resolver, sample: Directory) -> None:
    result = resolver.resolve("海棠小区")
    assert result.status == AMBIGUOUS and "楼" in (result.question or "")
    assert resolver.resolve("海棠小区20号楼").best.grid_code == _grid_of(sample, "海棠小区", "20")  # type: ignore[union-attr]
    assert resolver.resolve("海棠小区5号楼").best.grid_code == _grid_of(sample, "海棠小区", "5")  # type: ignore[union-attr]


def test_alias_phase_and_house_number_names(resolver: Resolver) -> None:
    assert resolver.resolve("兴悦小区3号楼").best.estate_name == "兴悦花园"  # type: ignore[union-attr]
    assert resolver.resolve("祥港2期").best.estate_name == "祥港小区二期"  # type: ignore[union-attr]
    assert resolver.resolve("工农路68号").best.estate_name == "工农路68号院"  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["工会在哪", "最近的工会服务站在哪？", "联盟路", "联盟社区5号楼", "我很幸福",
                                  "5号楼"])
def test_no_estate_no_guess(resolver: Resolver, text: str) -> None:
    assert resolver.resolve(text).status == NOT_FOUND


def test_street_only_gives_the_street_office(resolver: Resolver) -> None:
    result = resolver.resolve("联盟街道办事处在哪")
    assert result.status == RESOLVED and result.best
    assert result.best.level == "street" and result.best.office_name == "联盟街道工会服务站"


def test_json_shape(resolver: Resolver) -> None:
    data = resolver.resolve("我住联盟小区5号楼").as_dict()
    assert data["status"] == RESOLVED and data["candidates"][0]["grid_code"]
    assert set(data) >= {"query", "status", "candidates", "building", "question", "span"}


def test_accuracy_on_noisy_queries(resolver: Resolver, sample: Directory) -> None:
    queries = QueryMaker(sample, seed=2024).queries(NOISY_QUERIES)
    kinds = {k for q in queries for k in q.kinds}
    assert {"typo", "traditional", "alias", "partial", "building", "duplicate"} <= kinds
    wrong = [(q, r) for q in queries if not is_correct(q, r := resolver.resolve(q.text))]
    accuracy = 1 - len(wrong) / len(queries)
    print(f"grid lookup accuracy {accuracy:.4f} on {len(queries)} noisy queries")
    assert accuracy >= MIN_ACCURACY, [(q.text, q.grid, r.status) for q, r in wrong[:10]]

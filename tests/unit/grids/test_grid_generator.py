import re
from collections import Counter

from core.platforms import PLATFORMS
from grids.directory import Directory, OfficeLevel
from grids.generator import generate


def test_seed_deployment_size(sample: Directory) -> None:
    counts = sample.counts()
    assert counts["grids"] == 805 and counts["streets"] == 10 and counts["communities"] == 100
    assert 1300 <= counts["estates"] <= 1700
    assert counts["coordinators"] == 805


def test_deterministic() -> None:
    assert generate().counts() == generate().counts()
    assert generate().estates == generate().estates


def test_offices_and_groups(sample: Directory) -> None:
    levels = Counter(o.level for o in sample.offices.values())
    assert levels[OfficeLevel.DISTRICT] == 1 and levels[OfficeLevel.STREET] == 10
    assert levels[OfficeLevel.COMMUNITY] > 50 and levels[OfficeLevel.ENTERPRISE] >= 1
    assert {g.platform for g in sample.groups.values()} == set(PLATFORMS)
    assert all(g.grid_code in sample.grids for g in sample.groups.values())
    assert all(g.office_code in sample.offices for g in sample.grids.values())


def test_some_estate_names_repeat_across_streets(sample: Directory) -> None:
    streets: dict[str, set[str]] = {}
    for estate in sample.estates.values():
        street = sample.communities[estate.community_code].street_code
        streets.setdefault(estate.name, set()).add(street)
    shared = [name for name, where in streets.items() if len(where) > 1]
    assert "幸福家园" in shared and len(shared) >= 20


def test_everything_is_obviously_fictitious(sample: Directory) -> None:
    phones = [o.phone for o in sample.offices.values()] + [
        c.phone for c in sample.coordinators.values()]
    assert all(re.fullmatch(r"000-\d{4}-\d{4}", p) for p in phones)
    hooks = [g.send_target for g in sample.groups.values() if g.send_via == "webhook"]
    assert hooks and all(".example.invalid/" in h for h in hooks)


def test_scales_to_more_districts() -> None:
    bigger = generate(districts=2)
    assert bigger.counts()["grids"] == 1610
    assert len({s.district for s in bigger.streets.values()}) == 2


def test_committed_sample_is_the_generator_output(tmp_path, sample: Directory) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from grids.generator import NOTE
    from grids.importer import write_directory

    committed = Path(__file__).resolve().parents[3] / "grids" / "sample"
    for path in write_directory(sample, tmp_path, "csv", NOTE):
        assert path.read_bytes() == (committed / path.name).read_bytes(), path.name
    assert "虚构" in (committed / "README.md").read_text(encoding="utf-8")

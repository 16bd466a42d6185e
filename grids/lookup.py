"""Resolution of free text ("我住联盟小区5号楼") to grids, with confidence.

Steps: normalise the text character by character (Traditional, full width),
find the building number, let the spaCy phrase matcher find exact names, and
when no estate is named exactly, score gazetteer terms with rapidfuzz on
homophone-folded text (typos, homophones, partial names). Street and community
names narrow estates that exist in several places. When the evidence does not
single out one grid, the result is `ambiguous` and carries the question to ask
(which street? which building?) instead of a guess.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rapidfuzz import fuzz

from grids.directory import Directory, OfficeLevel, UnionOffice
from grids.gazetteer import ESTATE_SUFFIXES, PHASES, Gazetteer, Ref, Term
from grids.phonetic import fold
from grids.text import clean, find_building

RESOLVED, AMBIGUOUS, NOT_FOUND = "resolved", "ambiguous", "not_found"
PLACE_KINDS = ("community", "street", "district")
MIN_SCORE = 72.0
TIER = 0.5
SURFACE_WEIGHT = 8.0
BOUNDARY = set("#,.!?;:、，。！？ 的那这附旁边住在") | {""}
LEAD_IN = set("住在是家到于从近边的和跟里 ,，、:：") | {""}
_SUFFIXES_FOLDED = sorted({fold(s) for s in ESTATE_SUFFIXES}, key=len, reverse=True)
_SUFFIXES_SET = set(_SUFFIXES_FOLDED)
_PHASES_FOLDED = tuple(fold(p) for p in PHASES) + ("期",)
# Words after a name that make it a different kind of place (联盟社区, 联盟路 are not 联盟小区).
_OTHER_PLACES = tuple(fold(w) for w in ("社区", "街道", "大街", "路", "街", "村", "镇", "区", "县",
                                         "市", "公司", "厂", "学校", "医院"))


def _alignments(core: str, folded: str, minimum: float) -> list[tuple[float, int, int]]:
    """Every exact occurrence of `core`, or else rapidfuzz's best approximate window."""
    found = []
    position = folded.find(core)
    while position >= 0:
        found.append((100.0, position, position + len(core)))
        position = folded.find(core, position + 1)
    if found or minimum >= 100:
        return found
    alignment = fuzz.partial_ratio_alignment(core, folded, score_cutoff=minimum - 0.01)
    if alignment is None:
        return []
    return [(alignment.score, alignment.dest_start, alignment.dest_end)]


@dataclass(frozen=True)
class Candidate:
    level: str                 # "grid", "community", "street" or "district"
    confidence: float
    grid_code: str | None
    grid_name: str | None
    estate_code: str | None
    estate_name: str | None
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None
    district: str | None
    office_code: str | None
    office_name: str | None
    building: str | None


@dataclass(frozen=True)
class Resolution:
    query: str
    status: str
    candidates: tuple[Candidate, ...]
    building: str | None = None
    question: str | None = None
    span: tuple[int, int] | None = None   # the address in the query

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.status == RESOLVED and self.candidates else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["candidates"] = [asdict(c) for c in self.candidates]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Resolution:
        """The inverse of `as_dict` (also after a JSON round trip); KeyError or
        TypeError on anything else."""
        span = data.get("span")
        return cls(query=str(data["query"]), status=str(data["status"]),
                   candidates=tuple(Candidate(**c) for c in data["candidates"]),
                   building=data.get("building"), question=data.get("question"),
                   span=(int(span[0]), int(span[1])) if span else None)


@dataclass
class _Hit:
    term: Term
    score: float
    start: int
    end: int
    refs: list[Ref] | None = None   # the places meant, when the spelling tells


class Resolver:
    """Resolves free text against one directory (build once, query many times)."""

    def __init__(self, directory: Directory, gazetteer: Gazetteer | None = None,
                 max_candidates: int = 10) -> None:
        self.directory = directory
        self.gazetteer = gazetteer or Gazetteer(directory)
        self.max_candidates = max_candidates
        self.coverage: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
        for grid in directory.grids.values():
            for part in grid.coverage:
                self.coverage[part.estate_code].append((grid.code, part.buildings))
        self._community_office = {o.community_code: o for o in directory.offices.values()
                                  if o.level is OfficeLevel.COMMUNITY and o.community_code}
        self._street_office = {o.street_code: o for o in directory.offices.values()
                               if o.level is OfficeLevel.STREET and o.street_code}

    def resolve(self, text: str) -> Resolution:
        cleaned = clean(text)
        exact = self.gazetteer.exact_matches(cleaned)
        masked = list(cleaned)
        for start, end, _ in exact:   # 工农路68号 is a name, not building 68
            masked[start:end] = "_" * (end - start)
        building = find_building("".join(masked))
        work = list(cleaned)
        if building:
            work[building.start:building.end] = "#" * (building.end - building.start)
        places: list[_Hit] = []
        for start, end, surface in exact:
            for kind in PLACE_KINDS:
                term = self.gazetteer.term_for_surface(kind, surface)
                if term is not None:
                    refs = [r for r in term.refs if r.surface == surface] or term.refs
                    places.append(_Hit(term, 100.0, start, end, refs))
                    work[start:end] = " " * (end - start)
        folded = fold("".join(work))
        if not places:
            places = [h for h in self._fuzzy(folded, PLACE_KINDS) if h.score >= 95]
            for place in places:
                typed = cleaned[place.start:place.end]
                similarity = {r: fuzz.ratio(typed, r.surface) for r in place.term.refs}
                place.refs = [r for r, v in similarity.items() if v == max(similarity.values())]
                folded = folded[:place.start] + " " * (place.end - place.start) + folded[place.end:]
        hits = self._fuzzy(folded, ("estate",))
        number = building.number if building else None
        span = self._span(hits or places, building)
        if not hits:
            return self._places_only(text, places, number, span)
        ranked = self._ranked(hits, cleaned)
        best = ranked[0][0]
        estates = list(dict.fromkeys(code for score, code in ranked if score >= best - TIER))
        estates = self._narrow(estates, places)
        return self._result(text, estates, best, number, span)

    # -- matching ---------------------------------------------------------------------------

    def _ranked(self, hits: list[_Hit], cleaned: str) -> list[tuple[float, str]]:
        """(score, estate) best first; the spelling the user typed breaks homophone ties."""
        ranked = []
        for hit in hits:
            typed = cleaned[hit.start:hit.end]
            for ref in hit.term.refs:
                bonus = SURFACE_WEIGHT * fuzz.ratio(typed, ref.surface) / 100
                ranked.append((hit.score + bonus, ref.code))
        ranked.sort(key=lambda item: -item[0])
        return ranked

    def _fuzzy(self, folded: str, kinds: tuple[str, ...]) -> list[_Hit]:
        """Score candidate terms; look wider only when no name shares a character pair."""
        for broad in ((False, True) if kinds == ("estate",) else (False,)):
            hits = []
            for term in self.gazetteer.candidates(folded, kinds, broad):
                hit = self._score(term, folded)
                if hit is not None:
                    hits.append(hit)
            if hits:
                return hits
        return []

    def _score(self, term: Term, folded: str) -> _Hit | None:
        core = term.core if len(term.core) >= 2 else term.key
        minimum = 100.0 if len(core) <= 2 else (66.0 if len(core) == 3 else 74.0)
        best: _Hit | None = None
        for score, start, end in _alignments(core, folded, minimum):
            hit = self._extend(term, folded, score, start, end)
            if hit is not None and (best is None or hit.score > best.score):
                best = hit
        return best

    def _extend(self, term: Term, folded: str, core_score: float, start: int,
                end: int) -> _Hit | None:
        """Score the generic ending after a matched core (小区 after 联盟)."""
        suffix_score = 100.0
        if term.suffix:
            window = folded[end:end + len(term.suffix)]
            other = next((s for s in _SUFFIXES_FOLDED if folded.startswith(s, end)), None)
            if window == term.suffix:
                end += len(term.suffix)
            elif term.kind == "estate" and folded.startswith(_OTHER_PLACES, end):
                return None
            elif other and not term.suffix.startswith(other):
                suffix_score, end = 0.0, end + len(other)
            elif len(term.suffix) >= 2 and fuzz.ratio(term.suffix, window) >= 50:
                suffix_score, end = fuzz.ratio(term.suffix, window), end + len(term.suffix)
            elif term.kind == "estate" and self._standalone(folded, start, end):
                suffix_score = 50.0   # a partial name: "住联盟5号楼"
            else:
                return None
            if term.kind != "estate" and suffix_score < 100 and len(term.core) < 3:
                return None
        if not term.suffix.endswith(_PHASES_FOLDED) and any(
                p in folded[end:end + 3] for p in _PHASES_FOLDED):
            suffix_score -= 60.0   # the text names a later phase (二期) of this estate
        score = 0.8 * core_score + 0.2 * suffix_score
        return _Hit(term, score, start, end) if score >= MIN_SCORE else None

    @staticmethod
    def _standalone(folded: str, start: int, end: int) -> bool:
        """A name without its ending must stand on its own, not be the tail of another word."""
        if folded[start:end] in _SUFFIXES_SET and not start:
            return False   # "花园3号楼" alone names no estate
        if folded[end:end + 1] not in BOUNDARY:
            return False
        before = folded[start - 1:start] if start else ""
        return before in LEAD_IN or not ("\u4e00" <= before <= "\u9fff")

    @staticmethod
    def _span(hits: list[_Hit], building: Any) -> tuple[int, int] | None:
        if not hits:
            return (building.start, building.end) if building else None
        best = max(hits, key=lambda h: h.score)
        start, end = best.start, best.end
        if building and 0 <= building.start - end <= 2:
            end = building.end
        return (start, end)

    def _narrow(self, estates: list[str], places: list[_Hit]) -> list[str]:
        """Keep the estates in a named street or community, when that leaves any."""
        if len(estates) < 2 or not places:
            return estates
        wanted = {(ref.kind, ref.code) for hit in places for ref in (hit.refs or hit.term.refs)}
        for kind in ("community", "street", "district"):   # the most precise place first
            kept = [code for code in estates if (kind, self._place_of(code, kind)) in wanted]
            if kept:
                return kept
        return estates

    def _place_of(self, estate_code: str, kind: str) -> str | None:
        community = self.directory.communities.get(self.directory.estates[estate_code].community_code)
        if community is None or kind == "community":
            return community.code if community else None
        street = self.directory.streets.get(community.street_code)
        if street is None or kind == "street":
            return street.code if street else None
        return street.district

    # -- answers ----------------------------------------------------------------------------

    def _result(self, query: str, estates: list[str], score: float, building: str | None,
                span: tuple[int, int] | None) -> Resolution:
        base = 0.99 if score >= 100 + SURFACE_WEIGHT else min(0.95, score / 100 * 0.95)
        rows: list[tuple[str, str, bool]] = []   # (estate, grid, building known)
        for code in estates:
            parts = self.coverage.get(code, [])
            covering = [g for g, b in parts if building and (not b or building in b)]
            grids = covering or [g for g, _ in parts]
            rows.extend((code, g, bool(covering) or building is None) for g in grids)
        if not rows:
            return Resolution(query, NOT_FOUND, (), building,
                              "这个小区还没有划入网格，请换个说法或告诉我所在社区。", span)
        confidence = base / len(rows)
        if len(rows) == 1 and not rows[0][2]:
            confidence *= 0.8   # the building number is not one of the estate's
        candidates = tuple(self._candidate(e, g, building, confidence) for e, g, _ in rows)
        candidates = candidates[: self.max_candidates]
        if len(rows) == 1:
            return Resolution(query, RESOLVED, candidates, building, None, span)
        return Resolution(query, AMBIGUOUS, candidates, building,
                          self._question(estates, building), span)

    def _question(self, estates: list[str], building: str | None) -> str:
        directory = self.directory
        names = list(dict.fromkeys(directory.estates[c].name for c in estates))
        if len(estates) == 1:
            name = names[0]
            if building:
                return f"{name}没有{building}号楼的记录，请再确认一下楼号。"
            return f"{name}分属几个网格，请告诉我您住几号楼，例如“{name}5号楼”。"
        if len(names) == 1:
            places = []
            for code in estates[:5]:
                community = directory.communities.get(directory.estates[code].community_code)
                street = directory.streets.get(community.street_code) if community else None
                label = f"{street.name if street else ''}{community.name if community else ''}"
                places.append(label)
            return f"“{names[0]}”在{'、'.join(places)}都有，您说的是哪个街道（社区）的？"
        return f"您说的是{'、'.join(names[:5])}中的哪一个？请说完整的小区名。"

    def _places_only(self, query: str, places: list[_Hit], building: str | None,
                     span: tuple[int, int] | None) -> Resolution:
        refs = list(dict.fromkeys((r.kind, r.code) for h in places for r in (h.refs or h.term.refs)))
        if not refs:
            return Resolution(query, NOT_FOUND, (), building, None, span)
        confidence = 0.9 / len(refs)
        candidates = tuple(self._place(kind, code, confidence) for kind, code in refs)
        status = RESOLVED if len(candidates) == 1 else AMBIGUOUS
        question = None if status == RESOLVED else "您说的是哪个街道或社区？"
        return Resolution(query, status, candidates[: self.max_candidates], building, question,
                          span)

    def office_for(self, community_code: str | None, street_code: str | None) -> UnionOffice | None:
        office = self._community_office.get(community_code) if community_code else None
        office = office or (self._street_office.get(street_code) if street_code else None)
        street = self.directory.streets.get(street_code) if street_code else None
        return office or self.directory.district_office(street.district if street else None)

    def _candidate(self, estate_code: str, grid_code: str, building: str | None,
                   confidence: float) -> Candidate:
        d = self.directory
        estate = d.estates[estate_code]
        grid = d.grids[grid_code]
        community = d.communities.get(grid.community_code)
        street = d.streets.get(community.street_code) if community else None
        office = d.offices.get(grid.office_code) or self.office_for(
            community.code if community else None, street.code if street else None)
        return Candidate("grid", round(confidence, 4), grid.code, grid.name, estate.code,
                         estate.name, community.code if community else None,
                         community.name if community else None, street.code if street else None,
                         street.name if street else None, street.district if street else None,
                         office.code if office else None, office.name if office else None,
                         building)

    def _place(self, kind: str, code: str, confidence: float) -> Candidate:
        d = self.directory
        if kind == "district":
            office = d.district_office(code)
            return Candidate(kind, round(confidence, 4), None, None, None, None, None, None, None,
                             None, code, office.code if office else None,
                             office.name if office else None, None)
        community = d.communities.get(code) if kind == "community" else None
        street = d.streets.get(community.street_code if community else code)
        office = self.office_for(community.code if community else None,
                                 street.code if street else None)
        return Candidate(kind, round(confidence, 4), None, None, None, None,
                         community.code if community else None,
                         community.name if community else None, street.code if street else None,
                         street.name if street else None, street.district if street else None,
                         office.code if office else None, office.name if office else None, None)

"""The place-name gazetteer generated from the directory.

Every estate name and alias, community and street becomes a `Term`. Terms are
grouped by their homophone-folded key, so 金华小区 and 金花小区 share one term
(the exact spelling then decides). Two matchers use them:

* spaCy: `spacy.blank("zh")` with the jieba segmenter and a `PhraseMatcher`
  over the exact names. The segmenter is a private `jieba.Tokenizer` whose
  dictionary is the names themselves (so names come out as single tokens); the
  global jieba used by Rasa's JiebaTokenizer is left untouched.
* an inverted index from folded characters to terms, which feeds the rapidfuzz
  scoring in `grids.lookup` for typos, homophones and partial names.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from grids.directory import Directory
from grids.phonetic import fold
from grids.text import squash

logger = logging.getLogger(__name__)

# Generic endings of estate names, longest first; the rest of the name is its core.
ESTATE_SUFFIXES: tuple[str, ...] = (
    "小区", "花园", "家园", "嘉园", "佳苑", "名苑", "华庭", "雅居", "公寓", "新村", "家属院",
    "宿舍", "号院", "苑", "里", "院", "号",
)
PHASES: tuple[str, ...] = ("二期", "三期", "四期", "2期", "3期", "4期", "一期", "1期")
PLACE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "community": ("社区居委会", "社区", "居委会"),
    "street": ("街道办事处", "街道办", "街道"),
    "district": ("区", "县", "市"),
}
WORD_FREQ = 200_000


@dataclass(frozen=True)
class Ref:
    kind: str      # "estate", "community", "street" or "district" (code = its name)
    code: str
    surface: str   # the name as written in the directory (cleaned)
    alias: bool = False


@dataclass
class Term:
    key: str                 # folded full name
    core: str                # folded core (name without generic ending)
    suffix: str              # folded generic ending, possibly with a phase (二期)
    kind: str
    refs: list[Ref] = field(default_factory=list)


def split_name(name: str, kind: str) -> tuple[str, str]:
    """联盟小区 → (联盟, 小区); 祥港小区二期 → (祥港, 小区二期); 棉纺厂宿舍 → (棉纺厂, 宿舍)."""
    phase = next((p for p in PHASES if name.endswith(p) and len(name) > len(p) + 1), "")
    body = name[: len(name) - len(phase)]
    suffixes = ESTATE_SUFFIXES if kind == "estate" else PLACE_SUFFIXES[kind]
    for suffix in suffixes:
        if body.endswith(suffix) and len(body) - len(suffix) >= 2:
            return body[: -len(suffix)], suffix + phase
    return body, phase


class Gazetteer:
    """Terms of one directory plus the spaCy matcher and the character index."""

    def __init__(self, directory: Directory, with_spacy: bool = True) -> None:
        self.directory = directory
        self.terms: list[Term] = []
        self._by_key: dict[tuple[str, str], int] = {}
        self.postings: dict[str, list[int]] = defaultdict(list)
        self.estates_by_community: dict[str, list[str]] = defaultdict(list)
        for estate in directory.estates.values():
            self.estates_by_community[estate.community_code].append(estate.code)
            self._add("estate", estate.code, estate.name, False)
            for alias in estate.aliases:
                self._add("estate", estate.code, alias, True)
        for community in directory.communities.values():
            self._add("community", community.code, community.name, False)
        for street in directory.streets.values():
            self._add("street", street.code, street.name, False)
            short = street.name.removesuffix("街道")
            if short != street.name:
                self._add("street", street.code, short + "街道办事处", True)
            self._add("district", street.district, street.district, False)
        self.bigrams: dict[str, list[int]] = defaultdict(list)
        for index, term in enumerate(self.terms):
            for char in set(term.core):
                self.postings[char].append(index)
            for gram in {term.core[i:i + 2] for i in range(len(term.core) - 1)}:
                self.bigrams[gram].append(index)
        self.nlp: Any = None
        self.matcher: Any = None
        if with_spacy:
            self._build_spacy({ref.surface for term in self.terms for ref in term.refs})

    def _add(self, kind: str, code: str, name: str, alias: bool) -> None:
        surface = squash(name)
        if len(surface) < 2:
            return
        core, suffix = split_name(surface, kind)
        key = fold(surface)
        index = self._by_key.get((kind, key))
        if index is None:
            index = len(self.terms)
            self._by_key[(kind, key)] = index
            self.terms.append(Term(key, fold(core), fold(suffix), kind))
        ref = Ref(kind, code, surface, alias)
        if ref not in self.terms[index].refs:
            self.terms[index].refs.append(ref)

    def _build_spacy(self, surfaces: Iterable[str]) -> None:
        import jieba
        import spacy
        from spacy.matcher import PhraseMatcher

        words = sorted(surfaces)
        # A dictionary of the names alone: names always come out as one token, and the rest
        # of the text is cut by jieba's HMM. No copy of the 350k-word default dictionary.
        segmenter = jieba.Tokenizer()
        segmenter.FREQ, segmenter.total = {}, 0
        segmenter.initialized = True
        for word in words:
            segmenter.add_word(word, freq=WORD_FREQ)
        nlp: Any = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        nlp.tokenizer.jieba_seg = segmenter  # names as words, without touching global jieba
        matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
        for word in words:
            matcher.add(word, [nlp.make_doc(word)])
        self.nlp, self.matcher = nlp, matcher
        logger.info("Gazetteer: %d terms, %d phrases", len(self.terms), len(words))

    def term_for_surface(self, kind: str, surface: str) -> Term | None:
        index = self._by_key.get((kind, fold(surface)))
        return self.terms[index] if index is not None else None

    def exact_matches(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, surface) of the longest non-overlapping exact names in `text`."""
        if self.nlp is None:
            return []
        from spacy.util import filter_spans

        doc = self.nlp.make_doc(text)
        spans = [doc[start:end] for _, start, end in self.matcher(doc)]
        return [(span.start_char, span.end_char, span.text) for span in filter_spans(spans)]

    def candidates(self, folded: str, kinds: tuple[str, ...], broad: bool = False) -> list[Term]:
        """Terms whose core shares a character pair with the text; with `broad`, terms
        sharing at least half of their core's characters (slower, for heavier typos)."""
        if not broad:
            found = {i for k in range(len(folded) - 1) for i in self.bigrams.get(folded[k:k + 2], ())}
            return [self.terms[i] for i in sorted(found) if self.terms[i].kind in kinds]
        counts: dict[int, int] = defaultdict(int)
        for char in set(folded):
            for index in self.postings.get(char, ()):
                counts[index] += 1
        result = []
        for index, count in counts.items():
            term = self.terms[index]
            if term.kind in kinds and count * 2 >= len(set(term.core)):
                result.append(term)
        return result

"""Text normalisation shared by NLU training and inference.

Group-chat messages arrive in many shapes: Traditional characters, full-width
letters and punctuation typed on phone keyboards, the bot's @-mention in several
forms, emoji and WeChat's bracketed stickers, repeated "？？？". `normalize()`
turns all of them into one canonical Simplified Chinese form. The same function
runs inside the Rasa pipeline (see `bot.nlu`) and in every other place that
reads user text, so training and inference never disagree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from opencc import OpenCC

DEFAULT_BOT_NAMES: tuple[str, ...] = ("云博士",)

# The one bound on a message's length, applied before anything expensive (NFKC,
# OpenCC, jieba's segmentation, which is quadratic in the length of a run of text).
# A question in a group is never this long; platforms allow a few thousand characters.
MAX_MESSAGE_CHARS = 2000

# Half an emoji: a lone UTF-16 surrogate, sent by clients that cut a string in the
# middle of one. It cannot be encoded (spaCy, the tracker store and JSON all fail).
_SURROGATE = re.compile("[\ud800-\udfff]")

# Pictographs, dingbats, symbols, flags, skin tones, joiners and variation selectors.
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"
    "\U0001fb00-\U0001fbff"
    "\u2600-\u27bf"
    "\u2b00-\u2bff"
    "\u2300-\u23ff"
    "\ufe00-\ufe0f"
    "\u200d"
    "\u20e3"
    "\U000e0000-\U000e007f"
    "]+"
)
# WeChat/QQ text stickers such as [捂脸] [OK] [强].
_STICKER = re.compile(r"\[(?:[\u4e00-\u9fff]{1,4}|[A-Za-z]{1,6})\]")
# Any other @handle (another member of the group) up to the next space.
_OTHER_MENTION = re.compile(r"@[^\s@]{1,20}(?=\s|$)")
_PUNCT_RUN = re.compile(r"([!?,.;:~\-_=*#。、…·])\1+")
_MIXED_END = re.compile(r"[!?]{2,}")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


class MentionMatcher:
    """The one matcher of the bot's @-mention: "@云博士", "＠云博士", "@ 云博士",
    "@云博士工会 " (the display name some groups give the bot). Works on raw and on
    normalised text alike."""

    def __init__(self, bot_names: Iterable[str] = DEFAULT_BOT_NAMES) -> None:
        names = tuple(n.strip() for n in bot_names if n.strip()) or DEFAULT_BOT_NAMES
        self.bot_names = names
        forms = set(names) | {_width(n) for n in names}
        alternatives = "|".join(re.escape(n) for n in sorted(forms, key=len, reverse=True))
        self.pattern = re.compile(rf"[@＠]\s*(?:{alternatives})(?:\s*工会(?=\s|$))?")

    def mentions(self, text: str) -> bool:
        """True when the text @-mentions the bot (in any supported form)."""
        return bool(self.pattern.search(_width(text or "")))

    def strip(self, text: str) -> str:
        """The text without the bot's @-mention(s), spaces collapsed."""
        return _SPACES.sub(" ", self.pattern.sub(" ", text)).strip()


@dataclass(frozen=True)
class Normalizer:
    """Canonicalises a user message; configured with the bot's display names."""

    bot_names: tuple[str, ...] = DEFAULT_BOT_NAMES
    corrections: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "matcher", MentionMatcher(self.bot_names))

    def __call__(self, text: str) -> str:
        return self.normalize(text)

    def normalize(self, text: str) -> str:
        if not text:
            return ""
        text = _width(clip(text))
        text = _t2s().convert(text)
        text = self.matcher.pattern.sub(" ", text)  # type: ignore[attr-defined]
        text = _OTHER_MENTION.sub(" ", text)
        text = _STICKER.sub(" ", text)
        text = _EMOJI.sub(" ", text)
        text = _PUNCT_RUN.sub(r"\1", text)
        text = _MIXED_END.sub(lambda m: "?" if "?" in m.group(0) else "!", text)
        for wrong, right in self.corrections.items():
            text = text.replace(wrong, right)
        return _SPACES.sub(" ", text).strip(" ,.;:~")

    def mentions_bot(self, text: str) -> bool:
        """True when the raw text @-mentions the bot (in any supported form)."""
        return self.matcher.mentions(text)  # type: ignore[attr-defined]


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The message bounded to `limit` characters, with lone surrogates dropped: what
    every path into the assistant does first."""
    return _SURROGATE.sub("", text[:limit] if len(text) > limit else text)


def _width(text: str) -> str:
    """Full-width → half-width (NFKC), which also maps U+2005/U+3000 spaces to ' '."""
    return unicodedata.normalize("NFKC", text)


def load_corrections(lines: Iterable[str]) -> dict[str, str]:
    """Parse a corrections file: one `wrong<TAB or space>right` pair per line, '#' comments."""
    pairs: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"line {number}: expected 'wrong right', got {raw.strip()!r}")
        pairs[parts[0]] = parts[1]
    return pairs


_default = Normalizer()


def normalize(text: str) -> str:
    """Normalise with the default bot name (云博士) and no corrections."""
    return _default.normalize(text)

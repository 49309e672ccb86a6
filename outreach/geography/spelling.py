"""How a place name is spelled: the three forms names are compared in, and the type words
(Xã, Phường, Thị trấn; Huyện, Thị xã, Thành phố and their abbreviations) read off its start."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from outreach.core.text import compact_key

_VILLAGE_TYPES = re.compile(
    r"^\s*(?:tổ\s*dân\s*phố|to\s*dan\s*pho|tdp|thôn|thon|xóm|xom|khu\s*phố|khu\s*pho|khu|ấp|ap|"
    r"bản|ban|làng|lang|tổ|to)\s*[.:\-]?\s*",
    re.IGNORECASE,
)


# --- Spelling: the three forms a name is compared in --------------------------------------------

_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Spelling:
    """A name as typed: with its tone marks, without them, and in plain letters."""

    marked: str  # each word without its tone mark, then the mark: "Hoà" and "Hòa" agree
    toneless: str  # tone marks dropped, ă â ê ô ơ ư đ kept
    folded: str  # plain letters and digits (`compact_key`)

    @property
    def has_tones(self) -> bool:
        return self.marked != self.toneless

    @property
    def is_ascii(self) -> bool:
        return self.toneless.isascii()


def _words(text: str) -> list[str]:
    """Words of a name, also where a capital follows a small letter ("ĐồngKỵ")."""
    words = []
    for word in _WORD.findall(unicodedata.normalize("NFC", text)):
        start = 0
        for i in range(1, len(word)):
            if word[i].isupper() and word[i - 1].islower():
                words.append(word[start:i])
                start = i
        words.append(word[start:])
    return words


@lru_cache(maxsize=8192)
def spell(text: str) -> Spelling:
    """The forms `text` is matched in (case and spacing folded, NFC)."""
    marked, toneless = [], []
    for word in _words(text or ""):
        letters = unicodedata.normalize("NFD", word.lower())
        tones = "".join(ch for ch in letters if ch in _TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(ch for ch in letters if ch not in _TONE_MARKS))
        marked.append(base + tones)
        toneless.append(base)
    return Spelling("".join(marked), "".join(toneless), compact_key(text))


# --- Type words ---------------------------------------------------------------------------------


def _type_patterns(words: dict[str, str], abbreviations: dict[str, str]) -> list:
    """(pattern, type, certain) for type words with and without marks, and abbreviations."""
    patterns = []
    for word, kind in sorted(words.items(), key=lambda item: -len(item[0])):
        parts = word.split()
        patterns.append((r"\s*".join(map(re.escape, parts)), kind, True))
        plain = [compact_key(p) for p in parts]
        if plain != parts:  # written without its marks it may also be part of a name
            patterns.append((r"\s*".join(plain), kind, False))
    separator = r"(?:\s*[.:\-]\s*|\s+)"
    compiled = [(re.compile(rf"^({p}){separator}(?=\w)"), k, c) for p, k, c in patterns]
    for short, kind in sorted(abbreviations.items(), key=lambda item: -len(item[0])):
        pattern = r"\.?".join(map(re.escape, short))  # "tp", "t.p"
        compiled.append((re.compile(rf"^({pattern})(?:\s*[.:]\s*|\s+)(?=\w)"), kind, True))
    return compiled


# Types are named by the folded type word ("thitran"), as the package's keys start with them.
_COMMUNE_PATTERNS = _type_patterns(
    {"thị trấn": "thitran", "phường": "phuong", "xã": "xa", "đặc khu": "dackhu"},
    {"tt": "thitran", "p": "phuong", "x": "xa"},
)
_DISTRICT_PATTERNS = _type_patterns(
    {"huyện": "huyen", "thị xã": "thixa", "thành phố": "thanhpho", "quận": "quan"},
    {"tp": "thanhpho", "tx": "thixa", "h": "huyen", "q": "quan"},
)
# Type prefixes of the package's keys ("thitranneo", "ttneo"; "huyenyendung", "txchu").
_COMMUNE_KEY_PREFIXES = {"thitran": "thitran", "phuong": "phuong", "xa": "xa", "tt": "thitran"}
_COMMUNE_KEY_PREFIXES |= {"dackhu": "dackhu"}
_DISTRICT_KEY_PREFIXES = {"thanhpho": "thanhpho", "thixa": "thixa", "huyen": "huyen"}
_DISTRICT_KEY_PREFIXES |= {"quan": "quan", "tx": "thixa", "tp": "thanhpho"}


def _readings(text: str, patterns) -> list[tuple[str | None, str]]:
    """(type, name) readings of a typed name: one, or two when a type word lacks its marks."""
    text = unicodedata.normalize("NFC", " ".join((text or "").split()))
    lowered = text.lower()
    for pattern, kind, certain in patterns:
        match = pattern.match(lowered)
        if match:
            rest = text[match.end() :].strip()
            return [(kind, rest)] if certain else [(kind, rest), (None, text)]
    return [(None, text)]


def _type_key(type_name: str) -> str:
    return compact_key(type_name)


def commune_key(text: str) -> str:
    """A commune name without its type word, case or marks ("TT. Nếnh" → "nenh")."""
    return compact_key(_readings(text, _COMMUNE_PATTERNS)[0][1])


def village_type(text: str) -> bool:
    """True when a text starts with a village's type word and a name ("Thôn Hạ", "TDP số 2")."""
    match = _VILLAGE_TYPES.match(text or "")
    return match is not None and bool(text[match.end() :].strip())


@lru_cache(maxsize=65536)  # a list repeats the same few hundred village names
def village_key(text: str) -> str:
    """A village name without "Thôn", "Xóm", "Tổ dân phố"…, case or diacritics."""
    key = compact_key(_VILLAGE_TYPES.sub("", text or "", count=1))
    return key or compact_key(text or "")


# --- A district or commune named inside longer text (a title block, an address) ----------------

_STOPS = r"[^,;:()\n\u2013\u2014/-]"
_DISTRICT_IN_TEXT = re.compile(
    rf"(?<!\w)(huyện|thị\s*xã|thành\s*phố|quận|h\.|tx\.|tp\.)\s*([^\W\d_]{_STOPS}*)",
    re.IGNORECASE,
)
# "xã Đồng Kỳ", "P.Thọ Xương", "TT Neo" — never the "xã" of "Bảo hiểm xã hội", "thị xã".
_COMMUNE_IN_TEXT = re.compile(
    rf"(?<!\w)(?<!thị )(xã(?!\s+hội\b)|phường|thị\s*trấn|đặc\s*khu|tt\.|p\.|x\.)"
    rf"\s*((?:[^\W_]){_STOPS}*)",
    re.IGNORECASE,
)
# Words that end a place's name in running text: "xã Đồng Kỳ huyện Yên Thế", "… năm 2024", and
# the two-word types ("thành phố", "thị xã", "thị trấn"; "Thuận Thành" is a name).
_AFTER_NAME = frozenset(
    ("tỉnh", "năm", "tháng", "đợt", "từ", "đến", "ngày", "và", "huyện", "quận", "tp.", "h.", "tx.")
)
_TWO_WORD_TYPES = frozenset((("thành", "phố"), ("thị", "xã"), ("thị", "trấn")))
_MAX_NAME_WORDS = 4


def district_in_text(text: str) -> str:
    """The first district a text names ("Thôn Hạ, xã Đồng Kỳ, huyện Yên Thế, tỉnh Bắc Giang" →
    "huyện Yên Thế"; "BẢO HIỂM XÃ HỘI HUYỆN LỤC NAM" → "HUYỆN LỤC NAM"), or ""."""
    return _named_in(_DISTRICT_IN_TEXT, text)


def commune_in_text(text: str) -> str:
    """The first commune a text names ("Thôn Hạ, xã Đồng Kỳ, huyện Yên Thế" → "xã Đồng Kỳ";
    "UBND PHƯỜNG BẮC GIANG" → "PHƯỜNG BẮC GIANG"), or ""."""
    return _named_in(_COMMUNE_IN_TEXT, text)


def _named_in(pattern: re.Pattern[str], text: str) -> str:
    if not text:
        return ""
    match = pattern.search(unicodedata.normalize("NFC", text))
    if match is None:
        return ""
    words: list[str] = []
    found = match.group(2).split()
    for at, word in enumerate(found):
        pair = (word.lower(), found[at + 1].lower() if at + 1 < len(found) else "")
        if pair[0] in _AFTER_NAME or pair in _TWO_WORD_TYPES or len(words) == _MAX_NAME_WORDS:
            break
        words.append(word)
    if not words:
        return ""
    kind = " ".join(match.group(1).split())
    return f"{kind}{'' if kind.endswith('.') else ' '}{' '.join(words)}"

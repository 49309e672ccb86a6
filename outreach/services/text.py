"""Text folding for matching and search: case and Vietnamese diacritics ignored."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Đ/đ is a letter of its own, not d plus a mark, so NFD leaves it alone.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str | None) -> str:
    """Lowercase, strip diacritics (đ → d) and collapse spaces: "Nguyễn  Văn A" → "nguyen van a"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.lower()).strip()


def compact_key(text: str | None) -> str:
    """Fold and drop everything but letters and digits: "Phường Thọ Xương" → "phuongthoxuong"."""
    return _NON_ALNUM.sub("", fold(text))

"""Text folding for matching and search: case and diacritics ignored."""

import re

from unidecode import unidecode

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str | None) -> str:
    """Lowercase, strip Vietnamese diacritics (đ → d) and collapse spaces: "Nguyễn  Văn A" → "nguyen van a"."""
    if not text:
        return ""
    return _SPACES.sub(" ", unidecode(text).lower()).strip()


def compact_key(text: str | None) -> str:
    """Fold and drop everything but letters and digits: "Phường Thọ Xương" → "phuongthoxuong"."""
    return _NON_ALNUM.sub("", fold(text))

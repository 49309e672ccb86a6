"""Text folding for matching and search: case and Vietnamese diacritics ignored."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Đ/đ is a letter of its own, not d plus a mark, so NFD leaves it alone.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def _bare_letters() -> dict[int, str]:
    """Every precomposed Latin letter with marks → its letter without them ("ễ" → "e")."""
    table = {}
    for code in range(0xC0, 0x1F00):
        letter = chr(code)
        bare = _strip_marks(letter)
        if bare != letter and bare.isascii():
            table[code] = bare
    return {**table, **_LETTERS}


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_BARE = _bare_letters()


def fold(text: str | None) -> str:
    """Lowercase, strip diacritics (đ → d) and collapse spaces: "Nguyễn  Văn A" → "nguyen van a"."""
    if not text:
        return ""
    # One table lookup per letter covers Vietnamese as typed (precomposed, NFC); anything
    # else (combining marks typed separately, other scripts) takes the full decomposition.
    bare = text.translate(_BARE)
    if not bare.isascii():
        bare = _strip_marks(bare)
    return _SPACES.sub(" ", bare.lower()).strip()


def compact_key(text: str | None) -> str:
    """Fold and drop everything but letters and digits: "Phường Thọ Xương" → "phuongthoxuong"."""
    return _NON_ALNUM.sub("", fold(text))

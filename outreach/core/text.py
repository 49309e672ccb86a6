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


def _full_fold(text: str) -> str:
    """Fold by the book: letters without marks, lowercase, spaces collapsed."""
    bare = text.translate(_BARE)
    if not bare.isascii():
        bare = _strip_marks(bare)
    return _SPACES.sub(" ", bare.lower()).strip()


def _ascii_table(fold_one) -> dict[int, str]:
    """Each character below U+2000 whose fold is plain ASCII → that fold.

    A string made only of such characters folds character by character (marks and "đ" go
    letter by letter, lowercase too for these), so one `str.translate` replaces the whole
    `_full_fold`; the others (Greek final sigma, spaces beyond ASCII…) are left out of the table,
    stay non-ASCII after it, and take the full path.
    """
    table = {}
    for code in range(0x2000):
        out = fold_one(chr(code))
        if out.isascii():
            table[code] = out
    return table


# fold and compact_key run for every name and address of an import (a million rows): the
# tables made them ~4x faster than decomposing, and the tests compare both ways on every character.
_FOLD = _ascii_table(lambda ch: _strip_marks(ch.translate(_BARE)).lower())
_COMPACT = _ascii_table(lambda ch: _NON_ALNUM.sub("", _full_fold(ch)))


def fold(text: str | None) -> str:
    """Lowercase, strip diacritics (đ → d) and collapse spaces: "Nguyễn  Văn A" → "nguyen van a"."""
    if not text:
        return ""
    folded = text.translate(_FOLD)
    if folded.isascii():
        return " ".join(folded.split())
    return _full_fold(text)


def compact_key(text: str | None) -> str:
    """Fold and drop everything but letters and digits: "Phường Thọ Xương" → "phuongthoxuong"."""
    if not text:
        return ""
    compact = text.translate(_COMPACT)
    if compact.isascii():
        return compact
    return _NON_ALNUM.sub("", _full_fold(text))

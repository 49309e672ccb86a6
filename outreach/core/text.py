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


# Vietnamese alphabetical order (TCVN 5712, as dictionaries sort): a ă â b c d đ e ê … o ô ơ … u ư,
# letters compared first over the whole text, tones only to break ties, in the order ngang,
# huyền, hỏi, ngã, sắc, nặng; case ignored; digit runs compared as numbers ("số 2" before "số 10").
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_RANK = {letter: rank for rank, letter in enumerate(_ALPHABET, start=1)}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_DIGITS = re.compile(r"(\d+)")


def _letters_and_tones(word: str) -> tuple[list[int], list[int]]:
    letters: list[int] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", word.lower()):
        if ch in _TONES:
            if tones:
                tones[-1] = _TONES[ch]
        elif unicodedata.combining(ch):
            # breve, circumflex, horn: they make a letter of its own (ă, â, ê, ô, ơ, ư)
            if letters:
                composed = unicodedata.normalize("NFC", _ALPHABET[letters[-1] - 1] + ch)
                letters[-1] = _LETTER_RANK.get(composed, letters[-1])
        else:
            letters.append(_LETTER_RANK.get(ch, 100 + ord(ch)) if ch != " " else 0)
            tones.append(0)
    return letters, tones


def vietnamese_key(text: str | None) -> tuple:
    """A sort key giving Vietnamese alphabetical order: "Đ…" after every "D…", "Tân" before
    "Trạm", "Ă" between "A" and "B"; use it for every sort of people and places."""
    if not text:
        return ((), ())
    primary: list[tuple] = []
    secondary: list[int] = []
    for part in _DIGITS.split(" ".join(text.split())):
        if part.isdigit():
            primary.append((0, int(part)))
        elif part:
            letters, tones = _letters_and_tones(part)
            primary.extend((1, rank) for rank in letters)
            secondary.extend(tones)
    return tuple(primary), tuple(secondary)


# Type words a unit's name may start with, longest first (brief §3: no district level since 2025).
_PLACE_TYPES = sorted(
    (
        "Tỉnh",
        "Thành phố",
        "Phường",
        "Xã",
        "Thị trấn",
        "Đặc khu",
        "Huyện",
        "Quận",
        "Thị xã",
        "Thôn",
        "Tổ dân phố",
        "Tổ",
        "Xóm",
        "Ấp",
        "Bản",
        "Khu phố",
        "Khu",
        "Làng",
        "Khối",
    ),
    key=len,
    reverse=True,
)


def place_key(name: str | None, type_name: str | None = None) -> tuple:
    """Vietnamese order of a place by its own name, its type word aside ("Phường Bắc Giang" sorts
    under B with "Xã Bảo Đài"), then by the type word. Without `type_name`, a known type word at
    the start of the name is taken as one."""
    name = " ".join((name or "").split())
    words = [type_name] if type_name else _PLACE_TYPES
    for word in words:
        if name.lower().startswith(word.lower() + " "):
            return vietnamese_key(name[len(word) + 1 :]), vietnamese_key(word)
    return vietnamese_key(name), ((), ())


def person_key(full_name: str | None) -> tuple:
    """Vietnamese order of people as official lists give it: by given name (the last word), then
    by family and middle names ("Trần Văn An" before "Lê Thị Bình")."""
    words = (full_name or "").split()
    if not words:
        return vietnamese_key(""), vietnamese_key("")
    return vietnamese_key(words[-1]), vietnamese_key(" ".join(words[:-1]))

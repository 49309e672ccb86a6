"""Recognise text still in the legacy TCVN3 (ABC, .VnTime fonts) encoding and convert it to Unicode.

Before Unicode, Vietnamese offices typed with the ABC keyboard driver and the .VnTime fonts: the
TCVN 5712:1993 "VN3" 8-bit code. Excel stored those bytes as if they were Windows-1252, so an old
list opened today reads "NguyÔn V¨n A" for "Nguyễn Văn A". VN3 has room for only 74 letters: all 67
lowercase Vietnamese letters, but of the capitals only Ă Â Ê Ô Ơ Ư Đ. A capital with a tone mark was
typed with the lowercase code in an all-capitals font (.VnTimeH), so its case is lost in the file;
`tcvn3_to_unicode` puts it back from the case of the surrounding letters and words.
"""

from __future__ import annotations

import re
import unicodedata

# VN3 byte → letter. Tones are listed in the order of the code: huyền, hỏi, ngã, sắc, nặng.
_TONED = {
    "a": (0xB5, "àảãáạ"),
    "ă": (None, "ằẳẵắặ"),  # not contiguous, see _ODD_CODES
    "â": (0xC7, "ầẩẫấậ"),
    "e": (None, "èẻẽéẹ"),
    "ê": (0xD2, "ềểễếệ"),
    "i": (None, "ìỉĩíị"),
    "o": (None, "òỏõóọ"),
    "ô": (0xE5, "ồổỗốộ"),
    "ơ": (0xEA, "ờởỡớợ"),
    "u": (None, "ùủũúụ"),
    "ư": (0xF5, "ừửữứự"),
    "y": (0xFA, "ỳỷỹýỵ"),
}
# The vowels whose five codes skip a byte or two (the gaps are bytes VN3 leaves unused).
_ODD_CODES = {
    "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
}
_BASES = "ĂÂÊÔƠƯĐăâêôơưđ"  # 0xA1–0xAE: capitals first, then the lowercase letters


def _build_table() -> dict[str, str]:
    table = {chr(0xA1 + i): letter for i, letter in enumerate(_BASES)}
    for vowel, (start, letters) in _TONED.items():
        codes = _ODD_CODES.get(vowel) or tuple(range(start, start + 5))
        table.update({chr(code): letter for code, letter in zip(codes, letters, strict=True)})
    return table


# Keys are the characters the bytes became when read as Windows-1252 / Latin-1 (identical above 0xA0).
TCVN3_TO_UNICODE: dict[str, str] = _build_table()
_DECODE = str.maketrans(TCVN3_TO_UNICODE)

# The 60 toned lowercase letters whose capitals have no code of their own: their case in a file
# comes from the font, not the byte.
_CASELESS = frozenset(letter for _, letters in _TONED.values() for letter in letters)


# Every Vietnamese letter beyond ASCII, both cases: 67 lowercase (including đ) and their capitals.
VIETNAMESE_LETTERS = frozenset(
    letter
    for lower in (_CASELESS | {ch for ch in _BASES if ch.islower()})
    for letter in (lower, lower.upper())
)


def _build_encoder() -> dict[str, str]:
    encode = {letter: code for code, letter in TCVN3_TO_UNICODE.items()}
    # A toned capital is written with its lowercase code, as the .VnTimeH fonts did.
    encode.update({letter.upper(): encode[letter] for letter in _CASELESS})
    return encode


_ENCODE = str.maketrans(_build_encoder())

# Detection. Real Unicode Vietnamese never contains these Latin-1 characters, VN3 text is full of
# them ("¸" á, "µ" à, "¨" ă, "ª" ê, "­" ư, "§" Đ...).
_VIETNAMESE_LATIN1 = "ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý"
_CODES = "".join(sorted(TCVN3_TO_UNICODE))
_STRONG = "".join(ch for ch in _CODES if ch not in _VIETNAMESE_LATIN1)
# VN3 codes that are also Unicode capitals: a capital right after a lowercase letter ("NguyÔn") does
# not happen in Unicode Vietnamese.
_AMBIGUOUS_UPPER = "".join(ch for ch in _CODES if ch in _VIETNAMESE_LATIN1 and ch.isupper())
_LETTERISH = "A-Za-z" + re.escape(_CODES)
# A strong character counts only next to a letter: "12 · 3" is a middle dot, "V¨n" is "Văn".
_STRONG_RE = re.compile(
    rf"(?<=[{_LETTERISH}])[{re.escape(_STRONG)}]|[{re.escape(_STRONG)}](?=[{_LETTERISH}])"
    rf"|(?<=[a-z])[{re.escape(_AMBIGUOUS_UPPER)}]"
)
# Evidence against: a Latin-1 letter VN3 has no code for ("à", "Á", "°"...) or anything beyond
# Latin-1 (real Unicode Vietnamese: "ư", "ễ", "đ"...). Windows-1252 punctuation (smart quotes,
# dashes, €) is neutral: Word inserted it in VN3 documents too.
_ANTI_RE = re.compile(rf"[^\x00-\xa0{re.escape(_CODES)}\u2010-\u203a\u20ac\u2122]")
# Vietnamese letters beyond Latin-1 (ă đ ĩ ũ ơ ư and the toned ones): proof of Unicode text.
_UNICODE_VIETNAMESE_RE = re.compile(
    "[\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]"
)
_WORD_RE = re.compile(r"[^\W\d_]+")
# How many strong characters outweigh one piece of counter-evidence (a stray "°" in a VN3 file).
_STRONG_PER_ANTI = 4


def looks_like_tcvn3(text: str) -> bool:
    """True when the text reads like VN3 bytes shown as Latin-1 ("NguyÔn V¨n A"), not like Unicode."""
    if not text or text.isascii():
        return False
    strong = len(_STRONG_RE.findall(text))
    if not strong:
        return False
    return len(_ANTI_RE.findall(text)) * _STRONG_PER_ANTI <= strong


def is_convertible(text: str) -> bool:
    """True when the text has VN3 codes and nothing a VN3 file cannot contain (safe to convert)."""
    return not text.isascii() and _ANTI_RE.search(text) is None


def has_unicode_vietnamese(text: str) -> bool:
    """True when the text holds a Vietnamese letter only Unicode has (ă, đ, ư, ễ…): not TCVN3."""
    return _UNICODE_VIETNAMESE_RE.search(text) is not None


def tcvn3_to_unicode(text: str) -> str:
    """Convert VN3 text read as Latin-1 to Unicode NFC: "NguyÔn V¨n A" → "Nguyễn Văn A"."""
    converted = text.translate(_DECODE)
    if any(ch in _CASELESS for ch in converted):
        converted = _restore_case(converted)
    return unicodedata.normalize("NFC", converted)


def unicode_to_tcvn3(text: str) -> str:
    """Encode Unicode Vietnamese as VN3 read as Latin-1 (capitals with tones lose their case)."""
    return unicodedata.normalize("NFC", text).translate(_ENCODE)


def _restore_case(text: str) -> str:
    """Give toned letters the case their word and the text around them had in the .VnTimeH font."""
    words = [(m.start(), m.group()) for m in _WORD_RE.finditer(text)]
    shapes = [_shape(word) for _, word in words]
    chars = list(text)
    for index, (start, word) in enumerate(words):
        others = [s for i, s in enumerate(shapes) if i != index and s != "caseless"]
        chars[start : start + len(word)] = _fix_word(word, shapes[index], others)
    return "".join(chars)


def _shape(word: str) -> str:
    """How a word is cased, judged only on the letters whose case survived VN3.

    "caseless": none survived ("á"); "capital": only a leading capital did ("Hồ", "Xã": title or
    all capitals?); "open": the first letter's case is lost and the rest is lowercase ("ánh":
    lowercase or title?); else "upper", "lower", "title" or "mixed".
    """
    known = [ch for ch in word if ch not in _CASELESS]
    if not known:
        return "caseless"
    if len(known) == 1 and known[0] == word[0] and word[0].isupper():
        return "capital"
    if all(ch.isupper() for ch in known):
        return "upper"
    if all(ch.islower() for ch in known):
        return "open" if word[0] in _CASELESS else "lower"
    if word[0].isupper() and all(ch.islower() for ch in known[1:]):
        return "title"
    return "mixed"


def _fix_word(word: str, shape: str, others: list[str]) -> str:
    """The word with its lost capitals restored from the shapes of the other words."""
    telling = [s for s in others if s != "open"]  # "open" words are as unsure as this one
    decided = [s for s in telling if s != "capital"]
    all_caps = bool(decided) and all(s == "upper" for s in decided)
    titled = bool(telling) and all(s in ("title", "capital", "upper") for s in telling)
    if shape == "upper" or (shape in ("capital", "caseless") and all_caps):
        # "NGUYễN" was "NGUYỄN" in a capitals font; so was "Hồ" in "Hồ VĂN A".
        return word.upper()
    if shape in ("caseless", "open") and titled:
        # "Nguyễn Thị ánh": in a title-case name the first letter was a capital too.
        return word[0].upper() + word[1:]
    return word

"""Every commune of the demo province, however a list writes it, lands right or is refused.

Tỉnh Bắc Ninh (24): its 99 new communes, and the 313 old communes of Bắc Giang and Bắc Ninh it was
made from. Each is written with and without its type word, abbreviated ("TT.", "P.", "X.", with
or without the space), with its tone marks, without them, in plain ASCII, in capitals, with the old
tone placement ("Hoà"); old communes with or without their old district, itself written in full,
short or abbreviated ("H.", "TX.", "TP."). A lookup must find the unit's new commune or refuse:
never another commune.
"""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.core.text import fold
from outreach.geography.places import PlaceError
from outreach.geography.service import legacy_map, official_communes

TONES = "\u0300\u0301\u0303\u0309\u0323"

COMMUNE_TYPE_WORDS = {
    "Xã": ("Xã ", "X.", "X. ", "x ", "XÃ ", "xã: "),
    "Phường": ("Phường ", "P.", "P. ", "p ", "PHƯỜNG "),
    "Thị trấn": ("Thị trấn ", "TT.", "TT. ", "tt ", "Thị Trấn ", "T.T "),
    "Đặc khu": ("Đặc khu ",),
}
ASCII_TYPE_WORDS = {
    "Xã": "Xa ",
    "Phường": "Phuong ",
    "Thị trấn": "Thi tran ",
    "Đặc khu": "Dac khu ",
}
DISTRICT_TYPE_WORDS = {
    "Huyện": ("Huyện ", "H.", "H. ", "h "),
    "Thị xã": ("Thị xã ", "TX.", "TX. ", "tx ", "Thị Xã "),
    "Thành phố": ("Thành phố ", "TP.", "TP. ", "Tp ", "T.P "),
}
ASCII_DISTRICT_WORDS = {"Huyện": "Huyen ", "Thị xã": "Thi xa ", "Thành phố": "Thanh pho "}


def _toneless(text: str) -> str:
    """The name typed without tone marks (ă â ê ô ơ ư đ kept)."""
    letters = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in letters if ch not in TONES))


_OLD_STYLE = {
    unicodedata.normalize("NFC", first + tone + second): first
    + unicodedata.normalize("NFC", second + tone)
    for first, second in (("o", "a"), ("o", "e"), ("u", "y"))
    for tone in TONES
}


def _old_placement(text: str) -> str:
    """The tone mark of a final "oa", "oe", "uy" on its second vowel ("Hòa" → "Hoà")."""
    words = []
    for word in text.split(" "):
        ending = word[-2:]
        words.append(word[:-2] + _OLD_STYLE[ending] if ending in _OLD_STYLE else word)
    return " ".join(words)


def _names(short: str) -> list[tuple[str, bool]]:
    """(how the name is written, whether it is plain ASCII)."""
    return [
        (short, False),
        (short.upper(), False),
        (short.lower(), False),
        (_old_placement(short), False),
        (_toneless(short), False),
        (fold(short), True),
        (fold(short).title(), True),
    ]


def _writings(type_name: str, short: str) -> list[str]:
    """The ways a list may write a commune: with and without its type word, marks, case."""
    out = []
    for name, plain in _names(short):
        out.append(name)
        out += [word + name for word in COMMUNE_TYPE_WORDS.get(type_name, ())]
        if plain:
            out.append(ASCII_TYPE_WORDS[type_name] + name)
    return out


def _district_writings(type_name: str, short: str) -> list[str]:
    out = []
    for name, plain in _names(short):
        out.append(name)
        out += [word + name for word in DISTRICT_TYPE_WORDS.get(type_name, ())]
        if plain:
            out.append(ASCII_DISTRICT_WORDS[type_name] + name)
    return out


NEW = [
    (c.code, c.type_name, c.name.removeprefix(c.type_name + " ")) for c in official_communes("24")
]
OLD = legacy_map("24").communes


def _check(index, expected: str, commune: str, district: str | None = None) -> str:
    """ "found" or "refused"; fails if the lookup names another commune."""
    try:
        got = index.lookup(commune, district).place.commune.code
    except PlaceError:
        return "refused"
    assert got == expected, f"{commune!r} ({district!r}) → {got}, expected {expected}"
    return "found"


def test_the_demo_province_has_99_new_and_313_old_communes():
    assert len(NEW) == 99
    assert len(OLD) == 313
    assert {c.district_name.split()[-1] for c in OLD} >= {"Giang", "Ninh"}
    assert all(len(c.new_commune_codes) == 1 for c in OLD)  # none was split in Bắc Ninh


def test_every_new_commune_written_any_way_lands_right_or_is_refused(bac_ninh):
    results = {"found": 0, "refused": 0}
    for code, type_name, short in NEW:
        for written in _writings(type_name, short):
            results[_check(bac_ninh, code, written)] += 1
        # Written exactly as the official list has it, it is always found.
        assert _check(bac_ninh, code, f"{type_name} {short}") == "found"
    assert results["found"] > results["refused"]


def test_every_old_commune_with_its_district_lands_right_or_is_refused(bac_ninh):
    results = {"found": 0, "refused": 0}
    for c in OLD:
        (expected,) = c.new_commune_codes
        districts = _district_writings(c.district_type, c.district_short)
        for i, written in enumerate(_writings(c.type_name, c.short_name)):
            district = districts[i % len(districts)]
            results[_check(bac_ninh, expected, written, district)] += 1
        for district in districts:
            results[_check(bac_ninh, expected, c.name, district)] += 1
        # Written exactly, with its district as the old list had it: always found.
        assert _check(bac_ninh, expected, c.name, c.district_name) == "found"
        assert _check(bac_ninh, expected, c.name, c.district_short) == "found"
    assert results["found"] > results["refused"]


def test_every_old_commune_without_its_district_lands_right_or_is_refused(bac_ninh):
    for c in OLD:
        (expected,) = c.new_commune_codes
        for written in _writings(c.type_name, c.short_name):
            assert _check(bac_ninh, expected, written) in LANDED


def test_alias_keys_of_the_package_land_right_or_are_refused(bac_ninh):
    # Units merged away before 2025, former types and spellings, as plain ASCII ("xa nhamson").
    for c in OLD:
        (expected,) = c.new_commune_codes
        for key in c.keywords:
            for prefix in ("thitran", "phuong", "xa", "tt"):
                if key.startswith(prefix) and key[len(prefix) :] in c.keywords:
                    key = f"{prefix} {key[len(prefix) :]}"
                    break
            assert _check(bac_ninh, expected, key, c.district_short) in LANDED
            assert _check(bac_ninh, expected, key) in LANDED


LANDED = {"found", "refused"}  # the right commune, or a clear refusal; never another


def _case(text: str, upper: list[bool]) -> str:
    return "".join(ch.upper() if up else ch.lower() for ch, up in zip(text, upper, strict=False))


@st.composite
def written_places(draw):
    """A commune of the province as some list might write it, with what it must land in."""
    if draw(st.booleans()):
        code, type_name, short = draw(st.sampled_from(NEW))
        commune, district = draw(st.sampled_from(_writings(type_name, short))), None
    else:
        old = draw(st.sampled_from(OLD))
        code = old.new_commune_codes[0]
        commune = draw(st.sampled_from(_writings(old.type_name, old.short_name)))
        district = draw(
            st.none() | st.sampled_from(_district_writings(old.district_type, old.district_short))
        )
    # Noise a typist adds: spaces around and inside, capitals here and there.
    spaces = draw(st.sampled_from(["", " ", "  ", "\t"]))
    commune = spaces + commune.replace(" ", draw(st.sampled_from([" ", "  "]))) + spaces
    commune = _case(commune, draw(st.lists(st.booleans(), min_size=len(commune))))
    return code, commune, district


@settings(max_examples=400, deadline=None)
@given(written_places())
def test_any_writing_lands_right_or_is_refused(bac_ninh, case):
    code, commune, district = case
    assert _check(bac_ninh, code, commune, district) in LANDED


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=20) | st.none())
def test_any_text_is_matched_or_refused_never_crashes(bac_ninh, commune, district):
    try:
        bac_ninh.lookup(commune, district)
    except PlaceError as error:
        assert str(error)

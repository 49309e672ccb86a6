"""Cell parsers for imported lists: one value in, a clean value out, or a `CellError` saying why.

A cell arrives as the reader gave it: text (csv, or a text cell), a number (Excel keeps numbers as
floats and drops leading zeros), a date or datetime (a date-formatted cell), or a bool. Each parser
accepts every form a real list uses for its field and raises only `CellError`, whatever the input,
so the row loop can report it by row and column. Parsers take a non-empty cell: whether a field may
be empty is the row's business. Everything here runs once per cell of a million-row file, so the
common case takes the shortest path and every pattern is compiled once.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import cache, lru_cache

import phonenumbers

from outreach.core.clock import month_end
from outreach.core.errors import DomainError
from outreach.core.i18n import _, _l
from outreach.core.text import compact_key
from outreach.models.codes import PAYMENT_FREQUENCIES, Sex, SupportGroup

Cell = str | int | float | bool | date | datetime | None
Row = list[Cell]

MIN_YEAR = 1900
MAX_YEAR = 2100
MAX_NAME_CHARS = 200  # Person.full_name
# Field names in the messages, translated when a message is made (see `core.i18n`).
BHXH_LABEL = _l("Mã số BHXH")
CITIZEN_ID_LABEL = _l("Số CCCD")
NUMBER_LABEL = _l("Số")
AMOUNT_LABEL = _l("Số tiền")


class ImportFileError(DomainError):
    """A file that cannot be read as a list, with a message for the admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CellError(DomainError):
    """A cell that cannot be read as its field, with a message for the admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _show(value: Cell) -> str:
    """The cell as the admin typed it, cut short so a huge cell cannot flood an error list."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    text = str(value).strip()
    return text if len(text) <= 40 else text[:40] + "…"


def _number_digits(value: int | float) -> str | None:
    """The digits of a whole, non-negative number (2412345678.0 → "2412345678"), else None."""
    if isinstance(value, float):
        if not value.is_integer():  # also False for inf and nan
            return None
        value = int(value)
    return str(value) if value >= 0 else None


# Vocabulary cells (sex, frequency, group…) repeat a handful of spellings a million times.
_key = lru_cache(maxsize=4096)(compact_key)


def _nfc(text: str) -> str:
    # Most cells are already NFC; the check is much cheaper than normalising.
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


# ---------------------------------------------------------------------------------------------
# Text


_NAME_FORBIDDEN = re.compile(r"[0-9@#$%^&*_=+<>{}\[\]|\\/;:!?\"~`]")
_LETTER = re.compile(r"[^\W\d_]")


def parse_name(value: Cell) -> str:
    """A person's name, spaces collapsed, NFC; ALL CAPS or all lowercase turned to Title Case."""
    if not isinstance(value, str):
        raise CellError(_("Họ tên không hợp lệ: %(value)s", value=_show(value)))
    name = _nfc(" ".join(value.split()))
    if not name:
        raise CellError(_("Thiếu họ tên"))
    if len(name) > MAX_NAME_CHARS:
        raise CellError(_("Họ tên quá dài (tối đa %(count)s ký tự)", count=MAX_NAME_CHARS))
    if _NAME_FORBIDDEN.search(name) or not _LETTER.search(name):
        raise CellError(_("Họ tên có ký tự không hợp lệ: %(value)s", value=_show(name)))
    if name.isupper() or name.islower():
        # Many offices type names in capitals; the app shows them as people write them.
        name = " ".join(word.capitalize() for word in name.split(" "))
    return name


def parse_text(value: Cell, max_chars: int = 300) -> str:
    """Free text (address, village, codes): spaces collapsed, NFC; a whole number as its digits."""
    if value.__class__ is str:  # the usual cell first
        text = _nfc(" ".join(value.split()))  # type: ignore[union-attr]
    elif isinstance(value, bool):
        raise CellError(_("Giá trị không hợp lệ: %(value)s", value=_show(value)))
    elif isinstance(value, int | float):
        digits = _number_digits(value)
        text = digits if digits is not None else str(value)
    elif isinstance(value, datetime | date):
        text = _show(value)
    else:
        text = _nfc(" ".join(str(value).split()))
    if not text:
        raise CellError(_("Ô trống"))
    if len(text) > max_chars:
        raise CellError(_("Nội dung quá dài (tối đa %(count)s ký tự)", count=max_chars))
    return text


# ---------------------------------------------------------------------------------------------
# Dates

_EXCEL_EPOCH = date(
    1899, 12, 30
)  # serial 1 is 1900-01-01 once Excel's fictional 29/02/1900 is skipped
_MIN_SERIAL = (date(MIN_YEAR, 3, 1) - _EXCEL_EPOCH).days
_MAX_SERIAL = (date(MAX_YEAR, 12, 31) - _EXCEL_EPOCH).days
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DMY = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2,4})" + _TIME)
_YMD = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})" + _TIME)
_MY = re.compile(r"(?:tháng|thang|th|t)?\.?\s*(\d{1,2})\s*(?:[/.\-]|năm|nam)\s*(\d{4})")
_YM = re.compile(r"(\d{4})\s*[/.\-]\s*(\d{1,2})")


def _year_range(shown: str) -> str:
    return _(
        "Năm ngoài khoảng %(first)s–%(last)s: %(value)s", first=MIN_YEAR, last=MAX_YEAR, value=shown
    )


def _make_date(year: int, month: int, day: int, shown: str) -> date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CellError(_year_range(shown))
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(_("Ngày không hợp lệ: %(value)s", value=shown)) from None


def _from_serial(serial: float, shown: str) -> date:
    if not _MIN_SERIAL <= serial <= _MAX_SERIAL:
        raise CellError(_("Ngày không hợp lệ: %(value)s", value=shown))
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def _date_from_text(text: str) -> date | int:
    """A date, or the year alone when the text is only a year (the caller decides if that will do)."""
    if (m := _DMY.fullmatch(text)) is not None:
        day, month, year = m.groups()
        if len(year) != 4:
            raise CellError(_("Năm phải đủ 4 chữ số: %(value)s", value=text))
        return _make_date(int(year), int(month), int(day), text)
    if (m := _YMD.fullmatch(text)) is not None:
        return _make_date(int(m[1]), int(m[2]), int(m[3]), text)
    if text.isascii() and text.isdigit():
        if len(text) == 4:
            if not MIN_YEAR <= int(text) <= MAX_YEAR:
                raise CellError(_year_range(text))
            return int(text)
        if len(text) == 8:  # yyyymmdd, as BHXH's own exports write dates
            return _make_date(int(text[:4]), int(text[4:6]), int(text[6:]), text)
        if len(text) == 5:  # an Excel serial that went through a csv
            return _from_serial(int(text), text)
    raise CellError(_("Ngày không hợp lệ: %(value)s (cần dạng ngày/tháng/năm)", value=_show(text)))


def _date_or_year(value: Cell) -> date | int:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise CellError(_("Ngày không hợp lệ: %(value)s", value=_show(value)))
    if isinstance(value, int | float):
        return _date_from_number(value)
    if isinstance(value, str):
        return _date_from_text(value.strip())
    raise CellError(_("Ngày không hợp lệ: %(value)s", value=_show(value)))


def _date_from_number(value: int | float) -> date | int:
    whole = value if isinstance(value, int) else int(value) if value.is_integer() else None
    if whole is not None and MIN_YEAR <= whole <= MAX_YEAR:
        return whole  # a "Năm sinh" column holds years, not serial numbers of days in 1905
    if whole is not None and 19000101 <= whole <= 21001231:
        text = str(whole)
        return _make_date(int(text[:4]), int(text[4:6]), int(text[6:]), text)
    return _from_serial(value, _show(value))


def parse_date(value: Cell) -> date:
    """A day: dd/mm/yyyy (also d/m, - and .), yyyy-mm-dd, yyyymmdd, an Excel serial or a date cell."""
    result = _date_or_year(value)
    if isinstance(result, int):
        raise CellError(_("Thiếu ngày và tháng: %(value)s", value=result))
    return result


def parse_birth_date(value: Cell) -> tuple[date, bool]:
    """A date of birth and whether only the year was known (then 1 January of that year)."""
    result = _date_or_year(value)
    if isinstance(result, int):
        # BHXH records of older people often carry the year of birth alone.
        return date(result, 1, 1), True
    return result, False


def parse_month(value: Cell) -> date:
    """A month ("11/2026", "T11/2026", "2026-11", a date) as its LAST day: paid through = to the end."""
    if isinstance(value, str):
        return _month_from_text(value)
    return _month_of(value)


@lru_cache(maxsize=4096)  # a list holds a few dozen distinct months, each on thousands of rows
def _month_from_text(value: str) -> date:
    text = value.strip().lower()
    if (m := _MY.fullmatch(text) or _YM.fullmatch(text)) is not None:
        return _month_end(m, text)
    return _month_of(text)


def _month_of(value: Cell) -> date:
    result = _date_or_year(value)
    if isinstance(result, int):
        raise CellError(
            _("Thiếu tháng: %(value)s (cần dạng tháng/năm, ví dụ 11/2026)", value=result)
        )
    return month_end(result.year, result.month)


def _month_end(match: re.Match[str], text: str) -> date:
    first, second = int(match[1]), int(match[2])
    month, year = (first, second) if match.re is _MY else (second, first)
    if not 1 <= month <= 12:
        raise CellError(_("Tháng không hợp lệ: %(value)s", value=text))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CellError(_year_range(text))
    return month_end(year, month)


# ---------------------------------------------------------------------------------------------
# Identifiers

# Spaces, dots and dashes people type inside numbers, and Excel's leading apostrophe for text.
_ID_JUNK = str.maketrans("", "", " .-\u00a0\u200b\t'")


def _id_digits(value: Cell, label: str) -> tuple[str, bool]:  # label: translated when shown
    """The digits of an identifier cell, and whether it was a number (so may have lost zeros)."""
    if isinstance(value, bool):
        raise CellError(_("%(label)s không hợp lệ: %(value)s", label=label, value=_show(value)))
    if isinstance(value, int | float):
        digits = _number_digits(value)
        if digits is None:
            raise CellError(_("%(label)s không hợp lệ: %(value)s", label=label, value=_show(value)))
        return digits, True
    if not isinstance(value, str):
        raise CellError(_("%(label)s không hợp lệ: %(value)s", label=label, value=_show(value)))
    if value.isdigit() and value.isascii():
        return value, False  # the usual cell: nothing to clean
    text = value.strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]  # a number written out by a tool that thought it was a float
    digits = text.translate(_ID_JUNK)
    if not (digits.isascii() and digits.isdigit()):
        raise CellError(
            _("%(label)s chỉ được gồm chữ số: %(value)s", label=label, value=_show(value))
        )
    return digits, False


def parse_bhxh(value: Cell) -> str:
    """A social-insurance number: exactly 10 digits (a numeric cell's lost leading zero restored)."""
    digits, numeric = _id_digits(value, BHXH_LABEL)
    if len(digits) == 10:
        return digits
    if numeric and len(digits) == 9:
        # Excel shows 0123456789 typed into a number cell as 123456789.
        return "0" + digits
    message = _(
        "Mã số BHXH phải có 10 chữ số (ô có %(count)s): %(value)s.",
        count=len(digits),
        value=_show(value),
    )
    if len(digits) == 9:
        message += " " + _("Nếu Excel đã bỏ số 0 ở đầu, hãy định dạng cột là Văn bản.")
    raise CellError(message)


def parse_citizen_id(value: Cell) -> tuple[str, bool]:
    """A CCCD (12 digits) or a legacy CMND (9 digits), and whether it is the legacy kind."""
    digits, numeric = _id_digits(value, CITIZEN_ID_LABEL)
    if numeric and len(digits) in (10, 11):
        digits = digits.zfill(12)  # a CCCD starts with its 0-led province code: 001 Hà Nội…
    elif numeric and len(digits) == 8:
        digits = digits.zfill(9)  # Hà Nội's CMND numbers start with 0
    if len(digits) == 12:
        if not 1 <= int(digits[:3]) <= 96:
            raise CellError(
                _(
                    "Số CCCD không hợp lệ (3 chữ số đầu là mã tỉnh 001–096): %(value)s",
                    value=digits,
                )
            )
        return digits, False
    if len(digits) == 9:
        return digits, True
    raise CellError(
        _(
            "Số CCCD phải có 12 chữ số (CMND cũ: 9 chữ số), ô có %(count)s: %(value)s",
            count=len(digits),
            value=_show(value),
        )
    )


# ---------------------------------------------------------------------------------------------
# Phones

# The 2018 renumbering of 11-digit mobiles (brief §4): old 4-digit prefix → new 3-digit prefix,
# the last 7 digits kept. `phonenumbers` rejects the old numbers, so they are converted first.
OLD_MOBILE_PREFIXES = {
    **{f"016{d}": f"03{d}" for d in range(2, 10)},  # Viettel 0162–0169 → 032–039
    "0120": "070",
    "0121": "079",
    "0122": "077",
    "0126": "076",
    "0128": "078",  # MobiFone
    "0123": "083",
    "0124": "084",
    "0125": "085",
    "0127": "081",
    "0129": "082",  # VinaPhone
    "0186": "056",
    "0188": "058",  # Vietnamobile
    "0199": "059",  # Gmobile
}
_PHONE_SPLIT = re.compile(r"[,;/|\n]|\s[-–]\s|\s+(?:hoặc|hoac|or)\s+", re.IGNORECASE)
_PHONE_JUNK = str.maketrans("", "", " .-()\u00a0\t'")


@cache
def _mobile_prefixes() -> frozenset[str]:
    """3-digit prefixes (0XY) under which `phonenumbers` accepts every 10-digit mobile.

    Asking `phonenumbers` costs ~30 µs a number, too slow for a million rows; for these prefixes
    its answer is known in advance, so the common case skips it. Built from its own metadata, so
    a new mobile range follows the library, not a hand-kept list.
    """
    prefixes = set()
    for n in range(100):
        prefix = f"0{n:02d}"
        if all(_is_mobile(f"{prefix}{d}234567") for d in range(10)):
            prefixes.add(prefix)
    return frozenset(prefixes)


def _is_mobile(digits: str) -> bool:
    try:
        number = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException:
        return False
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    )


def _phone_digits(value: Cell) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellError(_("Số điện thoại không hợp lệ: %(value)s", value=_show(value)))
    if isinstance(value, str) and value.isdigit() and value.isascii() and value[:1] == "0":
        return value  # the usual cell: a national number, nothing to clean
    if isinstance(value, str):
        # "0912 345 678 - 0987 654 321": the first number is the one to call.
        first = _PHONE_SPLIT.split(value.strip(), maxsplit=1)[0]
        digits = first.translate(_PHONE_JUNK)
    else:
        digits = _number_digits(value) or ""
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    elif len(digits) in (9, 10) and digits[:1] not in ("", "0"):
        digits = "0" + digits  # a number cell drops the leading 0 (0912…, and old 0166…)
    if not (digits.isascii() and digits.isdigit()):
        raise CellError(_("Số điện thoại không hợp lệ: %(value)s", value=_show(value)))
    return digits


def parse_phone(value: Cell) -> str:
    """A Vietnamese phone number in E.164 (+84…), old 11-digit mobiles renumbered first."""
    digits = _phone_digits(value)
    if len(digits) == 11 and (new := OLD_MOBILE_PREFIXES.get(digits[:4])):
        digits = new + digits[-7:]
    if len(digits) == 10 and digits[:3] in _mobile_prefixes():
        return "+84" + digits[1:]
    try:
        number = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException:
        raise CellError(_("Số điện thoại không hợp lệ: %(value)s", value=_show(value))) from None
    if not phonenumbers.is_valid_number(number):
        raise CellError(_("Số điện thoại không hợp lệ: %(value)s", value=_show(value)))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ---------------------------------------------------------------------------------------------
# Numbers

_CURRENCY = re.compile(r"\s*(?:vnđ|vnd|đồng|dong|đ|d)\.?$")
# Thousands grouped with one separator used throughout ("1.125.000", "1,125,000"), optionally
# followed by zero decimals written with the other one ("1.125.000,00", "1,125,000.00").
_GROUPED = (
    re.compile(r"(\d{1,3}(?:\.\d{3})+)(?:,0{1,2})?"),
    re.compile(r"(\d{1,3}(?:,\d{3})+)(?:\.0{1,2})?"),
)
_ZERO_DECIMALS = re.compile(r"(\d+)[.,]0+")


def parse_int(
    value: Cell,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    label: str = NUMBER_LABEL,
) -> int:
    """A whole number: 12, 12.0, "1.125.000", "1,125,000", "1 125 000"; optionally within bounds.

    `label` names the field in the messages: a lazy `_l` text, translated only for an error.
    """
    number = _whole_number(value, label)
    if minimum is not None and number < minimum:
        raise CellError(
            _(
                "%(label)s phải từ %(minimum)s trở lên: %(value)s",
                label=label,
                minimum=minimum,
                value=_show(value),
            )
        )
    if maximum is not None and number > maximum:
        raise CellError(
            _(
                "%(label)s phải không quá %(maximum)s: %(value)s",
                label=label,
                maximum=maximum,
                value=_show(value),
            )
        )
    return number


def parse_amount(value: Cell) -> int:
    """An amount in đồng, more than zero: 1125000, 1125000.0, "1.125.000", "1,125,000 đ"."""
    return parse_int(value, minimum=1, maximum=10**11, label=AMOUNT_LABEL)


def _whole_number(value: Cell, label: str) -> int:
    if isinstance(value, bool):
        raise CellError(_("%(label)s không hợp lệ: %(value)s", label=label, value=_show(value)))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(
                _("%(label)s phải là số nguyên: %(value)s", label=label, value=_show(value))
            )
        return int(value)
    if not isinstance(value, str):
        raise CellError(_("%(label)s không hợp lệ: %(value)s", label=label, value=_show(value)))
    text = value.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    text = _CURRENCY.sub("", text.lower()).replace(" ", "").replace("\u00a0", "")
    if text.isascii() and text.isdigit():
        return int(text)
    for pattern in _GROUPED:
        if (m := pattern.fullmatch(text)) is not None:
            return int(m[1].replace(".", "").replace(",", ""))
    if (m := _ZERO_DECIMALS.fullmatch(text)) is not None:
        return int(m[1])
    raise CellError(_("%(label)s không hợp lệ: %(value)s", label=label, value=_show(value)))


# ---------------------------------------------------------------------------------------------
# Closed vocabularies

_SEXES = {
    **dict.fromkeys(("nam", "m", "male", "trai", "1"), Sex.MALE),
    # 0 and 2 both mean female in the codes BHXH's systems export (1 is always male).
    **dict.fromkeys(("nu", "f", "female", "gai", "0", "2"), Sex.FEMALE),
}


def parse_sex(value: Cell) -> Sex:
    """Nam / Nữ (also M/F, 1 = male, 0 or 2 = female)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellError(_("Giới tính không hợp lệ: %(value)s", value=_show(value)))
    key = _key(_show(value)) if not isinstance(value, str) else _key(value)
    sex = _SEXES.get(key)
    if sex is None:
        raise CellError(
            _("Giới tính không hợp lệ: %(value)s (cần Nam hoặc Nữ)", value=_show(value))
        )
    return sex


_FREQUENCIES = {
    **dict.fromkeys(
        ("1", "01", "1t", "01t", "1thang", "01thang", "thang", "hangthang", "moithang"), 1
    ),
    **dict.fromkeys(
        ("3", "03", "3t", "03t", "3thang", "03thang", "quy", "hangquy", "moiquy", "1quy"), 3
    ),
    **dict.fromkeys(
        ("6", "06", "6t", "06t", "6thang", "06thang", "nuanam", "moi6thang", "2quy"), 6
    ),
    **dict.fromkeys(
        ("12", "12t", "12thang", "nam", "1nam", "hangnam", "moinam", "motnam", "canam"), 12
    ),
}
_FREQUENCY_PREFIXES = ("phuongthucdong", "phuongthuc", "dong")
# The collection software's codes for a payment that is no period (its months are in another
# column, or unknown): "VS" (về sau, years paid ahead) and "TH" (còn thiếu, the missing years
# before retirement). The frequency is left empty (None) rather than the row refused.
NO_FREQUENCY = frozenset(("vs", "vesau", "th", "conthieu", "dongmotlanchonhieunam"))
_FREQUENCY_SUFFIXES = ("motlan", "1lan", "lan")
_NO_FREQUENCY_PREFIXES = ("vs", "vesau")


def parse_payment_frequency(value: Cell) -> int | None:
    """Months per payment: 1, 3, 6 or 12 (also "hằng tháng", "03 tháng", "3T", "Quý", "1 năm").

    None for "VS" / "TH" (`NO_FREQUENCY`): paid once for many years, no period to keep.
    """
    if isinstance(value, str):
        key = _key(value)
        if key in NO_FREQUENCY or key.startswith(_NO_FREQUENCY_PREFIXES):
            return None  # also "VS 60 tháng", "VS (5 năm)": the months are the payment's
        for prefix in _FREQUENCY_PREFIXES:
            key = key.removeprefix(prefix)
        for suffix in _FREQUENCY_SUFFIXES:
            key = key.removesuffix(suffix)
        months = _FREQUENCIES.get(key)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        months = int(value) if value in PAYMENT_FREQUENCIES else None  # a number cell
    else:
        months = None
    if months is None:
        raise CellError(
            _(
                "Phương thức đóng không hợp lệ: %(value)s (chỉ nhận 1, 3, 6 hoặc 12 tháng)",
                value=_show(value),
            )
        )
    return months


_SUPPORT_GROUPS = {
    **dict.fromkeys(("hongheo", "ngheo", "hn", "poor"), SupportGroup.POOR),
    **dict.fromkeys(("hocanngheo", "canngheo", "hcn", "nearpoor"), SupportGroup.NEAR_POOR),
    **dict.fromkeys(
        ("dantocthieuso", "nguoidantocthieuso", "dtts", "dantoc", "ethnicminority"),
        SupportGroup.ETHNIC_MINORITY,
    ),
    **dict.fromkeys(("khac", "doituongkhac", "binhthuong", "khong", "other"), SupportGroup.OTHER),
}


def parse_support_group(value: Cell) -> SupportGroup:
    """Hộ nghèo / hộ cận nghèo / dân tộc thiểu số / khác, as a `SupportGroup` code."""
    if not isinstance(value, str):
        raise CellError(_("Nhóm đối tượng không hợp lệ: %(value)s", value=_show(value)))
    group = _SUPPORT_GROUPS.get(_key(value))
    if group is None:
        raise CellError(
            _(
                "Nhóm đối tượng không hợp lệ: %(value)s "
                "(cần Hộ nghèo, Hộ cận nghèo, Dân tộc thiểu số hoặc Khác)",
                value=_show(value),
            )
        )
    return group


_MARKS = frozenset("✓✔☑✗✘xXvV")
_TRUE = frozenset(("x", "v", "co", "c", "yes", "y", "true", "dung", "1"))
_FALSE = frozenset(("khong", "k", "no", "n", "false", "sai", "0"))
_NEW = frozenset(("moi", "thamgiamoi", "tgm", "tangmoi", "moithamgia"))
_RENEWAL = frozenset(("tiep", "dongtiep", "tieptuc", "duytri", "cu", "giahan"))


def _bool_or_none(value: Cell) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {0: False, 1: True}.get(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in _MARKS:
        return text not in "✗✘"
    if text in ("-", "–"):
        return False
    key = _key(text)
    return True if key in _TRUE else False if key in _FALSE else None


def parse_bool(value: Cell) -> bool:
    """Yes / no: x, ✓, có, 1, TRUE … / không, 0, FALSE, "-"."""
    result = _bool_or_none(value)
    if result is None:
        raise CellError(
            _("Giá trị không hợp lệ: %(value)s (cần Có hoặc Không)", value=_show(value))
        )
    return result


def parse_new_enrollment(value: Cell) -> bool:
    """Whether a payment is a new enrollment: "Mới" / "Tham gia mới" / x, or "Đóng tiếp" / "Tiếp"."""
    if isinstance(value, str):
        key = _key(value)
        if key in _NEW:
            return True
        if key in _RENEWAL:
            return False
    result = _bool_or_none(value)
    if result is None:
        raise CellError(
            _("Giá trị không hợp lệ: %(value)s (cần Mới hoặc Đóng tiếp)", value=_show(value))
        )
    return result


def is_mark(value: Cell) -> bool:
    """True for a tick in a Nam / Nữ column: x, X, ✓, 1."""
    return _bool_or_none(value) is True

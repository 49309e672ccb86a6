"""Find the header of a government spreadsheet and tell which column holds which field.

BHXH and commune lists are made for printing: a few title rows ("BẢO HIỂM XÃ HỘI TỈNH…",
"DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN"), then a header that may take two rows (a merged parent
"Địa chỉ" over "Thôn" and "Xã", or "Ngày sinh" over "Nam" and "Nữ"), sometimes a row of column
numbers "(1) (2) (3)", the data, a "Tổng cộng" row and signatures. Headers differ from office to
office, so each field has a list of aliases, compared after folding case, diacritics, spaces and
punctuation away ("HO_TEN" = "Họ tên"). A mapping an admin confirmed for an earlier file wins over
the aliases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

from outreach.core.i18n import _
from outreach.core.text import compact_key, fold
from outreach.imports.reading.cells import Cell
from outreach.imports.reading.tcvn3 import is_convertible, looks_like_tcvn3, tcvn3_to_unicode
from outreach.models.codes import ImportKind

# The first alias of each field is its label in messages.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": (
        "Họ và tên", "Họ tên", "HO_TEN", "Ho ten", "Họ và tên người tham gia",
        "Họ tên người tham gia", "Tên người tham gia", "Họ và tên đối tượng", "Tên", "Full name",
        "Name",
    ),
    "bhxh_number": (
        "Mã số BHXH", "Mã BHXH", "Số sổ BHXH", "MA_SO_BHXH", "MA_BHXH", "SO_SO_BHXH", "Số BHXH",
        "Sổ BHXH", "MSBHXH", "Mã số bảo hiểm xã hội", "Số sổ", "Mã số BHXH/Số sổ BHXH",
    ),
    "citizen_id": (
        "Số CCCD", "CCCD/CMND", "CMND/CCCD", "Số CCCD/CMND", "Số CMND/CCCD", "Số định danh cá nhân",
        "Số định danh", "Mã định danh", "Mã định danh cá nhân", "CCCD", "CMND", "Số CMND", "CMT",
        "Số CMT", "Số căn cước công dân", "Số căn cước", "Căn cước công dân",
        "Số chứng minh nhân dân", "SO_CCCD", "SO_CMND", "SO_DINH_DANH", "MA_DINH_DANH",
    ),
    "date_of_birth": (
        "Ngày sinh", "Ngày tháng năm sinh", "Ngày, tháng, năm sinh", "Ngày/tháng/năm sinh",
        "Năm sinh", "Sinh ngày", "NGAY_SINH", "NAM_SINH", "Date of birth",
    ),
    "sex": ("Giới tính", "Giới", "Nam/Nữ", "Nam (Nữ)", "GIOI_TINH", "Sex", "Gender"),
    # A "Nam" and a "Nữ" column holding a date of birth or a tick, as printed forms have them.
    "sex_male": ("Nam", "Ngày sinh Nam", "Năm sinh Nam", "Ngày tháng năm sinh Nam", "Giới tính Nam"),
    "sex_female": ("Nữ", "Ngày sinh Nữ", "Năm sinh Nữ", "Ngày tháng năm sinh Nữ", "Giới tính Nữ"),
    "phone": (
        "Số điện thoại", "Điện thoại", "SĐT", "Số ĐT", "ĐT", "Di động", "Số di động",
        "Điện thoại liên hệ", "Số điện thoại liên hệ", "DIEN_THOAI", "SO_DIEN_THOAI", "Phone",
    ),
    "address": (
        "Địa chỉ", "Địa chỉ thường trú", "Địa chỉ liên hệ", "Nơi cư trú", "Nơi thường trú",
        "Nơi ở hiện nay", "Chỗ ở hiện nay", "Số nhà", "DIA_CHI", "Address",
    ),
    "village": (
        "Thôn", "Tổ dân phố", "Thôn/Tổ dân phố", "Thôn, tổ dân phố", "Thôn/TDP", "TDP", "Thôn/Xóm",
        "Thôn, xóm", "Xóm", "Ấp", "Bản", "Thôn/bản", "Khu phố", "Tổ", "THON",
    ),
    "commune": (
        "Xã", "Phường", "Xã/Phường", "Xã, phường", "Phường/Xã", "Xã/Phường/Thị trấn",
        "Xã, phường, thị trấn", "Xã/phường/đặc khu", "Đơn vị hành chính cấp xã", "XA",
    ),
    "old_district": (
        "Huyện", "Quận", "Huyện/Thị xã", "Quận/Huyện", "Huyện/Thành phố", "Huyện, thị xã, thành phố",
        "Huyện cũ", "HUYEN",
    ),
    "household_code": ("Mã hộ", "Mã hộ gia đình", "Mã HGĐ", "Mã hộ GĐ", "Mã số hộ", "MA_HO"),
    "paid_through": (
        "Đóng đến tháng", "Đã đóng đến tháng", "Đến tháng", "Đóng đến", "Đã đóng đến",
        "Đóng đến hết tháng", "Thời gian đóng đến", "Hạn đóng", "Tháng đóng cuối", "DEN_THANG",
        "DONG_DEN_THANG",
    ),
    "payment_frequency": (
        "Phương thức đóng", "Phương thức", "PT đóng", "PTĐ", "Chu kỳ đóng", "Kỳ đóng",
        "Số tháng/lần đóng", "PHUONG_THUC", "PHUONG_THUC_DONG",
    ),
    "income_basis": (
        "Mức thu nhập", "Mức thu nhập làm căn cứ đóng", "Mức thu nhập tháng", "Thu nhập",
        "Thu nhập làm căn cứ đóng", "Mức TN", "MUC_THU_NHAP", "Mức tiền đóng",
        "Mức tiền làm căn cứ đóng", "MucTien",
    ),
    "benefit_start": (
        "Ngày bắt đầu hưởng", "Bắt đầu hưởng", "Hưởng từ ngày", "Từ ngày", "Ngày hưởng",
        "Thời gian hưởng từ", "TU_NGAY",
    ),
    "benefit_end": (
        "Ngày kết thúc hưởng", "Kết thúc hưởng", "Hưởng đến ngày", "Đến ngày", "Ngày hết hưởng",
        "Thời gian hưởng đến", "DEN_NGAY",
    ),
    "reserved_months": (
        "Số tháng bảo lưu", "Thời gian bảo lưu", "Bảo lưu (tháng)", "Số tháng đã đóng",
        "Tổng số tháng đã đóng", "Thời gian đóng BHXH", "SO_THANG_BAO_LUU",
        "Tổng thời gian đóng BHXH", "Tổng thời gian đóng", "Thời gian đã đóng",
    ),
    # The years of a reserved time split into "Năm | Tháng" under its heading (added as months).
    "reserved_years": ("Số năm bảo lưu", "Số năm đã đóng"),
    "support_group": (
        "Nhóm đối tượng", "Đối tượng", "Đối tượng hỗ trợ", "Đối tượng được hỗ trợ", "Nhóm hỗ trợ",
        "Loại đối tượng", "Thành phần", "DOI_TUONG",
    ),
    "paid_on": (
        "Ngày đóng", "Ngày nộp", "Ngày nộp tiền", "Ngày thu", "Ngày biên lai", "Ngày giao dịch",
        "Ngày thanh toán", "NGAY_DONG", "NGAY_NOP",
    ),
    "amount": (
        "Số tiền", "Số tiền đóng", "Số tiền nộp", "Số tiền (đồng)", "Thành tiền", "Tiền đóng",
        "SO_TIEN",
    ),
    "months": (
        "Số tháng", "Số tháng đóng", "Số tháng nộp", "Đóng cho số tháng", "SO_THANG", "Sothang",
    ),
    # D05-TS / D03-TS: the first month a payment covers ("Từ tháng/năm" under "Phương thức đóng").
    "start_month": (
        "Từ tháng/năm", "Từ tháng", "Từ tháng năm", "Đóng từ tháng", "Tuthang", "TU_THANG",
        "TUTHANG",
    ),
    "receipt_number": (
        "Số biên lai", "Số chứng từ", "Số phiếu thu", "Mã biên lai", "Số BL", "Mã giao dịch",
        "SO_BIEN_LAI",
    ),
    "is_new_enrollment": (
        "Tham gia mới", "Mới/tiếp", "Mới/Đóng tiếp", "TG mới", "Tăng mới", "THAM_GIA_MOI",
    ),
    "note": ("Ghi chú", "GHI_CHU"),
    # Recognised so it is not reported as unknown, then ignored. The collection software's plan
    # code (ON / TM / DC / GH) must not be read as a commune by "Phương" ~ "Phường".
    "row_index": ("STT", "TT", "Số TT", "Số thứ tự", "No", "#"),
    "plan_code": ("Phương án", "PA", "Mã phương án", "Loại phương án", "Mã loại PA"),
}  # fmt: skip

# Labels of the fields that have no alias of their own to borrow one from.
FIELD_LABELS: dict[str, str] = {name: aliases[0] for name, aliases in FIELD_ALIASES.items()}
FIELD_LABELS["sex_male"] = "Nam"
FIELD_LABELS["sex_female"] = "Nữ"

_PERSON = (
    "full_name", "bhxh_number", "citizen_id", "date_of_birth", "sex", "sex_male", "sex_female",
    "phone", "address", "village", "commune", "old_district", "household_code", "support_group",
    "note", "row_index",
)  # fmt: skip
KIND_FIELDS: dict[ImportKind, frozenset[str]] = {
    ImportKind.PARTICIPANTS: frozenset(
        (*_PERSON, "paid_through", "payment_frequency", "income_basis", "start_month", "months")
    ),
    ImportKind.UNEMPLOYMENT: frozenset((*_PERSON, "benefit_start", "benefit_end")),
    ImportKind.RESERVED: frozenset((*_PERSON, "reserved_months", "reserved_years")),
    ImportKind.POTENTIAL: frozenset(_PERSON),
    ImportKind.PAYMENTS: frozenset(
        (*_PERSON, "paid_on", "amount", "months", "receipt_number", "is_new_enrollment")
        + ("paid_through", "payment_frequency", "income_basis")
    ),
}
# Words that mean a field only in one kind of list ("Số tháng" of a reserved list is the months
# kept in reserve; "Ngày" on a receipt is the day it was paid).
KIND_ALIASES: dict[ImportKind, dict[str, tuple[str, ...]]] = {
    ImportKind.RESERVED: {"reserved_months": ("Số tháng", "Tổng số tháng", "Số tháng đóng")},
    ImportKind.PAYMENTS: {"paid_on": ("Ngày",)},
    ImportKind.UNEMPLOYMENT: {
        "benefit_start": ("Ngày bắt đầu",),
        "benefit_end": ("Ngày kết thúc",),
    },
}

# Each inner tuple is one requirement: any one of its fields will do.
REQUIRED: dict[ImportKind, tuple[tuple[str, ...], ...]] = {
    # A D05-TS gives "Từ tháng/năm" + "Số tháng đóng" for the paid-through month, and no commune:
    # its people are found by their BHXH number (a new one is refused without a commune).
    ImportKind.PARTICIPANTS: (
        ("full_name",),
        ("bhxh_number", "citizen_id"),
        ("paid_through", "start_month"),
        ("commune", "start_month"),
    ),
    ImportKind.UNEMPLOYMENT: (
        ("full_name",),
        ("bhxh_number", "citizen_id"),
        ("benefit_start",),
        ("benefit_end",),
        ("commune",),
    ),
    ImportKind.RESERVED: (("full_name",), ("bhxh_number", "citizen_id"), ("commune",)),
    ImportKind.POTENTIAL: (("full_name",), ("commune",)),
    ImportKind.PAYMENTS: (("bhxh_number", "citizen_id"), ("paid_on",), ("amount",), ("months",)),
}

# Fields that satisfy a requirement without being what the admin is asked for: a D05-TS gives
# "Từ tháng/năm" (with "Số tháng đóng") and no commune, but another list is asked for those.
_STAND_INS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("commune", "start_month"): ("start_month",),
    ("paid_through", "start_month"): ("start_month",),
}

HEADER_SCAN_ROWS = 40  # title blocks are a handful of rows; 40 leaves room for a cover note
_MIN_PREFIX = 6  # "Họ và tên người tham gia" starts with "hovaten"; "so" starts with nothing
# Fields a short alias may start a longer header with ("Xã đang sinh sống", "Huyện/TX/TP").
_SHORT_PREFIX_FIELDS = frozenset(("commune", "old_district"))
_NON_WORD = re.compile(r"[^a-z0-9]+")
# Sub-columns of a time split in parts: none of them is the whole the parent names.
_TIME_UNITS = frozenset((("nam",), ("thang",), ("ngay",)))
_PARENS = re.compile(r"\([^)]*\)|\*")
# "(1)", "1", "A", "(5)=(3)+(4)": the row of column numbers some forms print under the header.
_NUMBER_CELL = re.compile(
    r"\(?[A-Za-z0-9]{1,2}\)?(?:\s*[=+\-x*×]\s*\(?[A-Za-z0-9]{1,2}\)?)*", re.IGNORECASE
)


def _words(text: str) -> tuple[str, ...]:
    """A header's folded words: "Xã, thị trấn" → ("xa", "thi", "tran"), "HO_TEN" → ("ho", "ten")."""
    return tuple(word for word in _NON_WORD.split(fold(text)) if word)


def _build_prefixes(lookup: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """The aliases a longer header may start with, by their words (whole words only)."""
    every = chain(FIELD_ALIASES.values(), *(k.values() for k in KIND_ALIASES.values()))
    prefixes: dict[tuple[str, ...], str] = {}
    for alias in chain.from_iterable(every):
        key = compact_key(alias)
        name = lookup.get(key)
        if name is not None and (len(key) >= _MIN_PREFIX or name in _SHORT_PREFIX_FIELDS):
            prefixes.setdefault(_words(alias), name)
    return prefixes


def _build_lookup(kind: ImportKind | None) -> dict[str, str]:
    # Recognised in every kind, then dropped (never offered in a mapping).
    fields = KIND_FIELDS[kind] | {"plan_code"} if kind else FIELD_ALIASES.keys()
    lookup: dict[str, str] = {}
    for name in FIELD_ALIASES:
        if name in fields:
            for alias in FIELD_ALIASES[name]:
                lookup.setdefault(compact_key(alias), name)
    for name, aliases in KIND_ALIASES.get(kind, {}).items() if kind else ():
        for alias in aliases:
            lookup[compact_key(alias)] = name  # the kind's meaning wins over the general one
    return lookup


_ANY_KIND = _build_lookup(None)
_BY_KIND = {kind: _build_lookup(kind) for kind in ImportKind}
_PREFIXES = {id(lookup): _build_prefixes(lookup) for lookup in (_ANY_KIND, *_BY_KIND.values())}


@dataclass(slots=True)
class Header:
    """Where the header is, the text of each column (two-row headers joined), where data starts."""

    row_index: int  # 0-based index of the header's first row
    cells: list[str]
    first_data_index: int
    tcvn3: bool = False  # the title block and header are in TCVN3 (so, most likely, the file)


@dataclass(slots=True)
class HeaderMatch:
    """Which column holds which field, what is missing for the kind and what nobody recognised."""

    kind: ImportKind
    headers: list[str]
    columns: dict[str, int] = field(default_factory=dict)
    missing: list[tuple[str, ...]] = field(default_factory=list)
    unrecognised: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every required field has a column."""
        return not self.missing

    def missing_labels(self) -> list[str]:
        """The missing requirements by their usual headers: ["Mã số BHXH hoặc Số CCCD", "Xã"]."""
        return [requirement_label(group) for group in self.missing]


def requirement_label(group: tuple[str, ...]) -> str:
    """A requirement as the admin is asked for it: "Mã số BHXH hoặc Số CCCD", "Xã"."""
    return either(FIELD_LABELS[name] for name in group if name not in _STAND_INS.get(group, ()))


def either(labels: Iterable[str]) -> str:
    """Labels joined as alternatives: "Mã số BHXH hoặc Số CCCD" ("… or …" in English)."""
    result = ""
    for label in labels:
        result = _("%(first)s hoặc %(second)s", first=result, second=label) if result else label
    return result


def header_text(cell: Cell, tcvn3: bool = False) -> str:
    """A header cell as text, converted from TCVN3 when it is in it (`tcvn3`: the rows around
    it are, so a short cell with too few clues of its own, "Sè CMND", is converted too)."""
    if cell is None:
        return ""
    text = " ".join(str(cell).split())
    if tcvn3 and is_convertible(text):
        return tcvn3_to_unicode(text)
    return tcvn3_to_unicode(text) if looks_like_tcvn3(text) else text


def rows_in_tcvn3(rows: Iterable[Sequence[Cell]]) -> bool:
    """True when the text of these rows, taken together, reads as TCVN3: judged on the whole
    block, since one short cell ("Sè", "Céng") carries too few clues to tell."""
    text = "\n".join(cell for row in rows for cell in row if isinstance(cell, str))
    return looks_like_tcvn3(text)


def field_for(header: str, kind: ImportKind | None = None) -> str | None:
    """The field a header names ("Họ và tên người tham gia" → full_name), or None."""
    return _field_match(header, _BY_KIND[kind] if kind else _ANY_KIND)[0]


def is_field_name(text: str) -> bool:
    """True when a cell is exactly a field's header or code ("Họ tên", "MasoBHXH"), no prefix."""
    return _field_match(text, _ANY_KIND)[1]


def _is_years(header: str) -> bool:
    """True for a header ending in "Năm" (years), which folds to "nam" like "Nam" (male)."""
    words = header.split()
    return bool(words) and unicodedata.normalize("NFC", words[-1]).lower() == "năm"


def _field_match(header: str, lookup: Mapping[str, str]) -> tuple[str | None, bool]:
    """The field a header names and whether the match was exact (not by a prefix)."""
    key = compact_key(header)
    if not key:
        return None, False
    if key in lookup:
        name = lookup[key]
        if name == "sex_male" and _is_years(header):
            return None, False  # "Năm" under "Thời gian đóng", never a man
        return name, True
    bare = compact_key(_PARENS.sub(" ", header))  # "Mã số BHXH (10 số)", "Họ tên (*)"
    if bare in lookup:
        return lookup[bare], True
    # A longer header that starts with an alias, by whole words ("Phương án" does not start with
    # "Phường": "phuong" + "an" is not "phuong" + nothing): the longest alias wins.
    prefixes = _PREFIXES.get(id(lookup))
    if prefixes is None:
        prefixes = _build_prefixes(lookup)
    words = _words(_PARENS.sub(" ", header))
    if words[-1:] in _TIME_UNITS:
        # "Tổng thời gian đóng BHXH" over "Năm | Tháng": the years and the months of a reserved
        # time; under any other heading a part, never the whole.
        parent = " ".join(header.split()[:-1])
        reserved = parent and _field_match(parent, lookup)[0] == "reserved_months"
        if reserved and words[-1] in ("nam", "thang"):
            return ("reserved_years" if words[-1] == "nam" else "reserved_months"), True
        return None, False
    for length in range(len(words) - 1, 0, -1):
        name = prefixes.get(words[:length])
        if name is not None:
            return name, False
    return None, False


def _score(row: Sequence[Cell]) -> int:
    fields = {field_for(header_text(cell)) for cell in row if isinstance(cell, str)}
    fields.discard(None)
    return len(fields)


def find_header_row(rows: Sequence[Sequence[Cell]]) -> int:
    """The 0-based index of the header's first row among the first rows of a sheet.

    The header is the row naming the most known fields; when the row above also names fields it
    is the first row of a two-row header. With no recognisable row at all, the first row with the
    most text cells is returned, so the admin can map its columns by hand.
    """
    window = list(rows[:HEADER_SCAN_ROWS])
    scores = [_score(row) for row in window]
    if not scores:
        return 0
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    if scores[best] < 2:
        texts = [sum(isinstance(c, str) and bool(c.strip()) for c in row) for row in window]
        return max(range(len(texts)), key=lambda i: (texts[i], -i))
    if best > 0 and scores[best - 1] >= 2:
        return best - 1
    return best


def _is_blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def is_number_row(row: Sequence[Cell]) -> bool:
    """True for the "(1) (2) (3)" / "A B 1 2" row printed under some headers."""
    cells = [c for c in row if not _is_blank(c)]
    if len(cells) < 2:
        return False
    for cell in cells:
        if isinstance(cell, bool):
            return False
        if isinstance(cell, int | float):
            if not (float(cell).is_integer() and 0 < cell < 100):
                return False
        elif not (isinstance(cell, str) and _NUMBER_CELL.fullmatch(cell.strip())):
            return False
    return True


def _is_sub_header(top: list[str], row: Sequence[Cell]) -> bool:
    """True when the row under the header carries sub-labels ("Thôn" "Xã", "Nam" "Nữ").

    Only labels under a merged (repeated) or blank header cell count: a data row may hold a
    recognisable word too ("Nam" in a sex column), but under a header of its own.
    """
    if is_number_row(row):
        return False
    end = max((j for j, text in enumerate(top) if text), default=-1)
    labels = 0
    for j, cell in enumerate(row):
        if _is_blank(cell):
            continue
        if not isinstance(cell, str) or cell.strip().isdigit():
            return False  # numbers and dates are data
        text = header_text(cell)
        if j <= end and text != top[j] and _under_merge(top, j, end):
            labels += field_for(text) is not None or _is_years(text) or fold(text) == "thang"
    return labels >= 1


def _under_merge(top: list[str], j: int, end: int) -> bool:
    """True when header cell j is blank or part of a run of equal cells (a merged parent)."""
    if not top[j] or (j > 0 and top[j - 1] == top[j]):
        return True
    return j < end and (top[j + 1] == top[j] or not top[j + 1])


def read_header(rows: Sequence[Sequence[Cell]], index: int | None = None) -> Header:
    """The header at `index` (found when not given), two-row headers joined, number row skipped."""
    if index is None:
        index = find_header_row(rows)
    if index >= len(rows):
        return Header(index, [], index)
    tcvn3 = rows_in_tcvn3(rows[: index + 2])
    top = [header_text(cell, tcvn3) for cell in rows[index]]
    cells, next_index = top, index + 1
    if next_index < len(rows) and _is_sub_header(top, rows[next_index]):
        cells = _join_rows(top, [header_text(c, tcvn3) for c in rows[next_index]])
        next_index += 1
    while next_index < len(rows) and is_number_row(rows[next_index]):
        next_index += 1
    return Header(index, cells, next_index, tcvn3)


def _join_rows(top: list[str], sub: list[str]) -> list[str]:
    """Column names of a two-row header: parent and child ("Ngày sinh Nam"), or whichever exists."""
    width = max(len(top), len(sub))
    top = top + [""] * (width - len(top))
    sub = sub + [""] * (width - len(sub))
    joined, parent = [], ""
    for upper, lower in zip(top, sub, strict=True):
        # In a csv the merged parent is written once, over its first child only.
        parent = upper or (parent if lower else "")
        joined.append(_child_name(parent, lower))
    return joined


def _child_name(parent: str, child: str) -> str:
    if not child or child == parent:
        return parent
    own = field_for(child)
    if own is not None and own not in ("sex_male", "sex_female"):
        return child  # "Thôn" under "Địa chỉ" says more than "Địa chỉ Thôn"
    # "Nam" / "Nữ" is a sex only under a birth or sex heading ("Sinh ngày" over "Nam | Nữ"):
    # under "Tổng thời gian đóng BHXH" the "Năm" (years) folds to "nam" too: unread, not male.
    both = f"{parent} {child}".strip()
    if own is None or field_for(both) == own:
        return both
    return child if field_for(parent) in ("date_of_birth", "sex") else both


def match_headers(
    header_cells: Iterable[Cell],
    kind: ImportKind | str,
    mapping: Mapping[str, str | None] | None = None,
) -> HeaderMatch:
    """Match header cells to the kind's fields: a saved mapping first, then the aliases.

    `mapping` maps header text to a field name, or to None / "" for "ignore this column"; headers
    are compared after folding, like the aliases. An entry naming no field of this kind is passed
    over and the aliases decide (a mapping saved before a field was renamed must not break the
    next import).
    """
    kind = ImportKind(kind)
    headers = [header_text(cell) for cell in header_cells]
    result = HeaderMatch(kind=kind, headers=headers)
    allowed = KIND_FIELDS[kind]
    saved = {compact_key(text): name for text, name in (mapping or {}).items()}
    pending: list[int] = []
    for index, text in enumerate(headers):
        key = compact_key(text)
        name = saved.get(key, "?")
        if not name:
            continue  # the admin said: ignore this column
        if name in allowed:
            if name not in result.columns:
                result.columns[name] = index
            continue
        if key:
            pending.append(index)
    lookup = _BY_KIND[kind]
    matches = {index: _field_match(headers[index], lookup) for index in pending}
    # Exact matches first: "Họ tên chủ hộ" (a prefix) must not take full_name from "Họ và tên".
    for exact in (True, False):
        for index in pending:
            name, is_exact = matches[index]
            if name is None or is_exact != exact:
                continue
            if name in result.columns:
                result.duplicates.append(index)
            else:
                result.columns[name] = index
    result.unrecognised = [index for index in pending if matches[index][0] is None]
    result.columns.pop("row_index", None)
    result.columns.pop("plan_code", None)
    result.missing = _missing(kind, result.columns)
    return result


def _missing(kind: ImportKind, columns: Mapping[str, int]) -> list[tuple[str, ...]]:
    present = set(columns)
    if {"sex_male", "sex_female"} <= present:
        present.update(("sex", "date_of_birth"))
    return [group for group in REQUIRED[kind] if not present.intersection(group)]

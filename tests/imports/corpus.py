"""Real list layouts, made at test time with invented people, each with its outcome row by row.

Every layout reproduces the title block, header, numbering, section, group, totals and signature
rows of a public template or a real import sheet (sources in docs/imports.md, "The corpus"). The
people, numbers and phones are invented; the places are real communes of the demo province
(Bắc Ninh after 1/7/2025, which took in Bắc Giang), written as each kind of list writes them.

`LAYOUTS` is in the order they are imported: the receipts and the D05-TS name people the earlier
lists added, by their BHXH numbers.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter

from outreach.imports.reading.tcvn3 import unicode_to_tcvn3

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"


@dataclass(frozen=True)
class Row:
    """What must become of one spreadsheet row (its number as Excel shows it).

    outcome: "imported" (a new person, or one updated), "skipped" (no person: `detail` is part of
    the reason) or "refused" (`detail` is part of the message). For "imported", `who` is the
    person's name and `detail` the commune they land in.
    """

    number: int
    outcome: str
    detail: str
    who: str = ""
    bhxh: str = ""  # where the name alone is a namesake of someone in the demo data


@dataclass
class Layout:
    """One file of the corpus: how it is uploaded and what each row must become."""

    name: str
    filename: str
    kind: str
    data: bytes
    rows: list[Row]
    # Facts to check on people after the import: name -> {column: value}.
    facts: dict[str, dict] = field(default_factory=dict)
    new_villages: set[tuple[str, str]] = field(default_factory=set)
    title_district: str = ""


def _xlsx(write: Callable, sheets: tuple[str, ...] = ("Sheet1",)) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "align": "center", "text_wrap": True})
    write(book, [book.add_worksheet(name) for name in sheets], bold)
    book.close()
    return out.getvalue()


def _cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese software writes it: a base letter, then a separate tone mark."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        for mark in [m for m in marks if m in "\u0302\u0306\u031b"]:  # â ă ơ...: letters
            base = unicodedata.normalize("NFC", base + mark)
            marks.remove(mark)
        out += (base + "".join(marks)).encode("cp1258")
    return bytes(out)


# --- L1: Mẫu D05-TS (QĐ 595/QĐ-BHXH), the collection agent's list -----------------------------

D05_TOP = [
    "STT", "Họ và tên", "Mã số BHXH", "Mức tiền làm căn cứ đóng", "Phương thức đóng",
    "Phương thức đóng", "Số tiền đóng", "Số tiền đóng", "Số tiền đóng", "Ghi chú",
]  # fmt: skip
D05_SUB = [
    None, None, None, None, "Số tháng đóng", "Từ tháng/năm", "Tổng số", "Người tham gia đóng",
    "NSNN hỗ trợ", None,
]  # fmt: skip


def d05_ts() -> Layout:
    def write(book, sheets, bold):
        (sheet,) = sheets
        sheet.write(0, 0, "Tên đại lý: Bưu điện văn hóa xã Đồng Kỳ")
        sheet.write(1, 0, "Số định danh: ĐL24001")
        sheet.write(2, 0, "Địa chỉ: xã Đồng Kỳ, huyện Yên Thế, tỉnh Bắc Giang")
        sheet.write(3, 6, "Mẫu D05-TS (Ban hành kèm theo QĐ số 595/QĐ-BHXH)")
        sheet.merge_range(5, 0, 5, 9, "DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN", bold)
        sheet.write(6, 3, "Tháng 11 năm 2026")
        for col in range(10):
            if col in (4, 5, 6, 7, 8):
                sheet.write(8, col, D05_TOP[col], bold)
                sheet.write(9, col, D05_SUB[col], bold)
            else:
                sheet.merge_range(8, col, 9, col, D05_TOP[col], bold)
        sheet.write_row(10, 0, ["A", "B", "C", "1", "2", "3", "4=5+6", "5", "6", "7"])
        sheet.write_row(11, 0, ["I", "Tăng"])
        sheet.write_row(12, 0, ["I.1", "Tăng mới, đóng tiếp"])
        sheet.write_row(13, 0, [1, "Hà Văn Khải", "2499100001", 2000000, 3, "11/2026",
                                990000, 693000, 297000])  # fmt: skip
        sheet.write_row(14, 0, [2, "Đinh Thị Quế", "2499100002", 1500000, 12, "11/2026",
                                2970000, 2079000, 891000])  # fmt: skip
        sheet.write_row(15, 0, [3, "Vương Văn Lạ", "2499100099", 1500000, 3, "11/2026",
                                742500, 519750, 222750, "Người mới"])  # fmt: skip
        sheet.write_row(16, 0, [4, "Đinh Văn Sáu", "2499100003", 1500000, None, "11/2026"])
        sheet.write_row(17, 0, ["I.2", "Tiền lương"])
        sheet.write_row(18, 0, [None, "Cộng tăng", None, None, None, None, 4702500])
        sheet.write_row(19, 0, ["II", "Giảm"])
        sheet.write_row(20, 0, [None, "Cộng giảm", None, None, None, None, 0])
        sheet.write(22, 1, "Tổng số sổ BHXH đề nghị cấp: 0 sổ")
        sheet.write(23, 6, "Đồng Kỳ, ngày … tháng … năm …")
        sheet.write_row(24, 0, [None, "Cán bộ thu", None, "Trưởng phòng (Tổ) thu", None, None,
                                "Đại lý"])  # fmt: skip

    return Layout(
        "Mẫu D05-TS (QĐ 595)",
        "d05-ts.xlsx",
        "participants",
        _xlsx(write),
        [
            Row(12, "skipped", "Dòng mục"),
            Row(13, "skipped", "Dòng mục"),
            Row(14, "imported", "Xã Xuân Lương", "Hà Văn Khải"),
            Row(15, "imported", "Xã Đồng Kỳ", "Đinh Thị Quế"),
            Row(16, "refused", "Không tìm thấy người này"),
            Row(17, "refused", "Thiếu số tháng đóng"),
            Row(18, "skipped", "Dòng mục"),
            Row(19, "skipped", "Dòng cộng"),
            Row(20, "skipped", "Dòng"),
            Row(21, "skipped", "Dòng cộng"),
            Row(23, "skipped", "Dòng cộng"),
            Row(24, "skipped", "Phần ký tên"),
        ],
        facts={
            # 3 months from 11/2026: paid through 01/2027; 12 months: through 10/2027.
            "Hà Văn Khải": {"paid_through": "2027-01-31", "payment_frequency": 3},
            "Đinh Thị Quế": {"paid_through": "2027-10-31", "payment_frequency": 12},
        },
    )


# --- L5: the VNPT / VNPost "D03-TK1" receipts sheet -------------------------------------------

TK1_NAMES = [
    "STT", "Họ tên", "Mã số BHXH", "Phương án", "Ngày biên lai", "Số biên lai ", "Mức tiền đóng",
    "Số tiền thực tế", "Từ ngày", "Xã đang sinh sống", "Số tháng", "Ngày sinh", "Giới tính",
    "Điện thoại liên hệ", "Phương thức đóng", "Số CCCD/ CMND/ ĐDCN/ Hộ chiếu",
]  # fmt: skip
TK1_CODES = [
    "STT", "HoTen", "MasoBHXH", "PA", "NgayBienLai", "SoBienLai", "MucTien", "TienTudong",
    "TuNgay", "Maxa_DangSS", "SoThang", "NgaySinh", "GioiTinh", "DienThoai", "Phuongthuc",
    "SoCCCD",
]  # fmt: skip


def tk1_vnpt() -> Layout:
    def write(book, sheets, bold):
        data, codes = sheets
        data.write(0, 0, "Ghi chú: các cột có dấu (*) là bắt buộc; Giới tính: Nam: 1, Nữ: 0")
        data.write_row(1, 0, TK1_NAMES, bold)
        data.write_row(2, 0, TK1_CODES)
        data.write_row(3, 0, [
            1, "Hà Văn Khải", "2499100001", "ON", "05/11/2026", "BL0001201", "2.000.000",
            "990000", "01/11/2026", "Xã Xuân Lương", 3, "1978", 1, "0912000001", "03 tháng",
        ])  # fmt: skip
        data.write_row(4, 0, [
            2, "Đinh Thị Quế", "2499100002", "ON", "06/11/2026", "BL0001202", "1.500.000",
            "2970000", "01/11/2026", "Xã Đồng Kỳ", 12, "02/03/1985", 0, None, "1 năm",
        ])  # fmt: skip
        data.write_row(5, 0, [
            3, "Người Không Có", "2499199999", "TM", "07/11/2026", "BL0001203", "1.500.000",
            "742500", "01/11/2026", None, 3, "1990", 1, None, "Quý",
        ])  # fmt: skip
        codes.write_row(0, 0, ["Phương thức đóng", "Mã"])
        for at, (label, code) in enumerate(
            [("1 tháng", "1"), ("3 tháng", "3"), ("6 tháng", "6"), ("1 Năm", "12"),
             ("Về sau", "VS"), ("Còn thiếu", "TH")], start=1,
        ):  # fmt: skip
            codes.write_row(at, 0, [label, code])

    return Layout(
        "VNPT/VNPost D03-TK1",
        "d03-tk1-vnpt.xlsx",
        "payments",
        _xlsx(write, ("Dữ Liệu", "Tổng hợp")),
        [
            Row(3, "skipped", "mã trường"),
            Row(4, "imported", "Xã Xuân Lương", "Hà Văn Khải"),
            Row(5, "imported", "Xã Đồng Kỳ", "Đinh Thị Quế"),
            Row(6, "refused", "Không tìm thấy người này"),
        ],
    )


# --- A district's due list: BHXH huyện, group rows per commune -----------------------------------


def district_due() -> Layout:
    header = [
        "STT", "Họ và tên", "Mã số BHXH", "Ngày sinh", "Giới tính", "Xã, thị trấn", "Thôn",
        "Đóng đến tháng", "Phương thức đóng", "Mức thu nhập",
    ]  # fmt: skip

    def write(book, sheets, bold):
        (sheet,) = sheets
        sheet.write(0, 0, "BẢO HIỂM XÃ HỘI TỈNH BẮC GIANG")
        sheet.write(1, 0, "BẢO HIỂM XÃ HỘI HUYỆN YÊN THẾ")
        sheet.merge_range(
            3, 0, 3, 9, "DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN SẮP ĐẾN HẠN ĐÓNG", bold
        )
        sheet.write_row(5, 0, header, bold)
        sheet.write_row(6, 0, [f"({n})" for n in range(1, 11)])
        sheet.merge_range(7, 0, 7, 9, "Xã Đồng Tiến", bold)
        sheet.write_row(8, 0, [1, "Hà Văn Khải", "2499100001", "1978", "Nam", "Đồng Tiến",
                               "Thôn Đông", "10/2026", "Quý", "2.000.000"])  # fmt: skip
        sheet.write_row(9, 0, [2, "Vi Thị Lan", "2499100004", "04/07/1969", "Nữ", "Xã Đồng Tiến",
                               "Thôn Đông", "10/2026", "VS", "1.500.000"])  # fmt: skip
        sheet.merge_range(10, 0, 10, 9, "Xã Đồng Kỳ", bold)
        sheet.write_row(11, 0, [3, "Đinh Thị Quế", "2499100002", "02/03/1985", "Nữ", "Đồng Kỳ",
                                "Thôn Tây", "10/2026", "6 tháng", "1.500.000"])  # fmt: skip
        sheet.write_row(12, 0, [4, "Đinh Văn Sáu", "2499100003", "1991", "Nam", "Xã Đồng Kỳ",
                                "Thôn Tây", "11/2026", "1 năm", "1.500.000"])  # fmt: skip
        sheet.write_row(13, 0, [5, "Lò Văn Sai", "2499100005", "1980", "Nam", "Xã Không Có",
                                "Thôn A", "11/2026", "3T", "1.500.000"])  # fmt: skip
        sheet.write_row(14, 0, [None, "Tổng cộng: 5 người"])
        sheet.write(16, 6, "Yên Thế, ngày 10 tháng 11 năm 2026")
        sheet.write(17, 6, "GIÁM ĐỐC")

    return Layout(
        "Danh sách đến hạn của BHXH huyện (dòng nhóm theo xã)",
        "den-han-yen-the.xlsx",
        "participants",
        _xlsx(write),
        [
            Row(8, "skipped", "Dòng nhóm: Xã Đồng Tiến"),
            # "Đồng Tiến" is a commune of Yên Thế and of Hiệp Hòa: the title says Yên Thế.
            Row(9, "imported", "Xã Xuân Lương", "Hà Văn Khải"),
            Row(10, "imported", "Xã Xuân Lương", "Vi Thị Lan"),
            Row(11, "skipped", "Dòng nhóm: Xã Đồng Kỳ"),
            Row(12, "imported", "Xã Đồng Kỳ", "Đinh Thị Quế"),
            Row(13, "imported", "Xã Đồng Kỳ", "Đinh Văn Sáu"),
            Row(14, "refused", "Không tìm thấy xã, phường “Xã Không Có”"),
            Row(15, "skipped", "Dòng cộng"),
            Row(17, "skipped", "Phần ký tên"),
        ],
        facts={
            "Hà Văn Khải": {"payment_frequency": 3, "birth_year_only": True},
            "Vi Thị Lan": {"payment_frequency": None, "birth_year_only": False},
            "Đinh Văn Sáu": {"payment_frequency": 12},
        },
        title_district="HUYỆN YÊN THẾ",
    )


# --- A commune's potential-participant list, in TCVN3 (an old UBND computer) ----------------------


def commune_potential_tcvn3() -> Layout:
    vn = unicode_to_tcvn3
    header = ["STT", "Họ và tên", "Ngày sinh", "Ngày sinh", "Số CMND/CCCD", "Thôn", "Thành phần",
              "Số điện thoại", "Ghi chú"]  # fmt: skip
    sub = [None, None, "Nam", "Nữ", None, None, None, None, None]

    def write(book, sheets, bold):
        (sheet,) = sheets
        sheet.write(0, 0, vn("UỶ BAN NHÂN DÂN"))
        sheet.write(1, 0, vn("XÃ ĐỒNG KỲ"))
        sheet.merge_range(
            3, 0, 3, 8, vn("DANH SÁCH ĐỐI TƯỢNG TIỀM NĂNG THAM GIA BHXH TỰ NGUYỆN"), bold
        )
        for col, text in enumerate(header):
            if col in (2, 3):
                sheet.write(5, col, vn(text), bold)
                sheet.write(6, col, vn(sub[col]), bold)
            else:
                sheet.merge_range(5, col, 6, col, vn(text), bold)
        sheet.write_row(7, 0, ["1", "2", "3", "4", "5", "6", "7", "8", "9"])
        sheet.write_row(8, 0, [1, vn("Hoàng Văn Tùng"), "1978", None, "024078000101",
                               vn("Thôn Đông"), vn("Nông dân"), "0912000101"])  # fmt: skip
        sheet.write_row(9, 0, [2, vn("Lý Thị Mai"), None, "12/05/1985", "024185000102",
                               vn("Thôn Tây"), vn("Hộ cận nghèo")])  # fmt: skip
        sheet.merge_range(10, 0, 10, 8, vn("Thôn Bãi Mới"), bold)
        sheet.write_row(11, 0, [3, vn("Nông Văn Bảy"), "1990", None, "024090000103",
                                vn("Thôn Bãi Mới"), vn("Hộ nghèo")])  # fmt: skip
        sheet.write_row(12, 0, [4, vn("Triệu Thị Sai"), None, "1992", "12345",
                                vn("Thôn Đông")])  # fmt: skip
        sheet.write_row(13, 0, [None, vn("Cộng"), None, None, None, None, None, None, "4"])
        sheet.write(15, 5, vn("Đồng Kỳ, ngày 10 tháng 11 năm 2026"))
        sheet.write(16, 5, vn("TM. ỦY BAN NHÂN DÂN"))

    return Layout(
        "Danh sách tiềm năng của UBND xã, TCVN3",
        "tiem-nang-dong-ky-tcvn3.xlsx",
        "potential",
        _xlsx(write),
        [
            Row(9, "imported", "Xã Đồng Kỳ", "Hoàng Văn Tùng"),
            Row(10, "imported", "Xã Đồng Kỳ", "Lý Thị Mai"),
            Row(11, "skipped", "Dòng nhóm"),
            Row(12, "imported", "Xã Đồng Kỳ", "Nông Văn Bảy"),
            Row(13, "refused", "Số CCCD phải có 12 chữ số"),
            Row(14, "skipped", "Dòng cộng"),
            Row(16, "skipped", "Phần ký tên"),
        ],
        facts={
            "Hoàng Văn Tùng": {"support_group": None, "birth_year_only": True, "sex": "male"},
            "Lý Thị Mai": {"support_group": "near_poor", "sex": "female"},
            "Nông Văn Bảy": {"support_group": "poor"},
        },
        new_villages={("Xã Đồng Kỳ", "Thôn Bãi Mới")},
    )


# --- L7: BHYT cards coming due (BHXH's lookup export), Windows-1258 CSV ---------------------------


def bhyt_due_csv() -> Layout:
    lines = [
        "DANH SÁCH NGƯỜI CÓ THẺ BHYT SẮP HẾT HẠN",
        "Mã số BHXH;Họ tên;Giới tính;Ngày sinh;Địa chỉ liên hệ;Hạn thẻ từ;Hạn thẻ đến;Số điện thoại",
        "2499200001;Mạc Văn Tư;Nam;15/08/1970;Thôn Đông, xã Đồng Kỳ, huyện Yên Thế, tỉnh Bắc Giang;"
        "01/01/2026;31/12/2026;0912000201",
        "2499200002;Chu Thị Năm;Nữ;1975;Tổ dân phố số 2, phường Thọ Xương, thành phố Bắc Giang, "
        "tỉnh Bắc Giang;01/01/2026;31/12/2026;",
        "2499200003;Ông Văn Sáu;Nam;03/03/1966;Thôn Trung, xã Nham Sơn, huyện Yên Dũng, "
        "tỉnh Bắc Giang;01/01/2026;31/12/2026;",
        # The old Ninh Xá of Bắc Ninh city is now Kinh Bắc; Thuận Thành's Ninh Xá kept the name.
        "2499200004;Tạ Thị Bảy;Nữ;1980;Tổ dân phố số 1, phường Ninh Xá, thành phố Bắc Ninh, "
        "tỉnh Bắc Ninh;01/01/2026;31/12/2026;",
        "2499200005;Khúc Văn Tám;Nam;1981;Thôn Hạ, xã Không Có, huyện Yên Thế;01/01/2026;"
        "31/12/2026;",
    ]
    return Layout(
        "Thẻ BHYT sắp hết hạn, CSV Windows-1258",
        "the-bhyt-sap-het-han.csv",
        "potential",
        _cp1258("\r\n".join(lines) + "\r\n"),
        [
            Row(3, "imported", "Xã Đồng Kỳ", "Mạc Văn Tư"),
            Row(4, "imported", "Phường Bắc Giang", "Chu Thị Năm"),
            Row(5, "imported", "Phường Yên Dũng", "Ông Văn Sáu"),
            Row(6, "refused", "(huyện cũ ghi trong địa chỉ) lại là Phường Kinh Bắc"),
            Row(7, "refused", "Không tìm thấy xã, phường “xã Không Có”"),
        ],
        new_villages={("Phường Yên Dũng", "Thôn Trung")},
    )


# --- L3: Mẫu D03-TS (QĐ 490/QĐ-BHXH), people with health insurance only ---------------------------

D03_HEADER = [
    "STT", "Họ và tên", "Mã số BHXH", "Số CCCD/CNTND/ĐDCN/hộ chiếu", "Ngày tháng năm sinh",
    "Giới tính", "Địa chỉ", "Nơi đăng ký KCB", "Ngày biên lai", "Số biên lai",
    "Thời gian tham gia", "Thời gian tham gia", "Mã số nhân viên thu", "Ghi chú",
]  # fmt: skip


def d03_ts() -> Layout:
    def write(book, sheets, bold):
        (sheet,) = sheets
        sheet.write(0, 0, "Tên đơn vị: UBND xã Đồng Kỳ")
        sheet.write(1, 10, "Mẫu D03-TS (Ban hành kèm theo QĐ số 490/QĐ-BHXH)")
        sheet.merge_range(3, 0, 3, 13, "DANH SÁCH NGƯỜI CHỈ THAM GIA BHYT", bold)
        for col, text in enumerate(D03_HEADER):
            if col in (10, 11):
                sheet.write(5, col, text, bold)
                sheet.write(6, col, "Từ tháng" if col == 10 else "Số tháng", bold)
            else:
                sheet.merge_range(5, col, 6, col, text, bold)
        sheet.write_row(7, 0, ["A", "B", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
                               "11", "12"])  # fmt: skip
        sheet.write_row(8, 0, ["I", "Tăng"])
        sheet.write_row(9, 0, ["I.1", "Người tham gia"])
        sheet.write_row(10, 0, [1, "Lưu Thị Chín", "2499300001", "024186000301", "09/09/1986", "Nữ",
                                "Thôn Nam, xã Đồng Kỳ, huyện Yên Thế", "24001", "03/11/2026",
                                "0000301", "11/2026", 12, "NV01"])  # fmt: skip
        sheet.write_row(11, 0, [2, "Mẫn Văn Mười", "2499300002", None, "1977", "Nam",
                                "Tổ dân phố số 3, phường Bắc Giang, tỉnh Bắc Ninh", "24001",
                                "03/11/2026", "0000302", "11/2026", 12, "NV01"])  # fmt: skip
        sheet.write_row(12, 0, [3, "Kim Văn Lẻ", None, None, "1979", "Nam", "Thôn Nam",
                                "24001"])  # fmt: skip
        sheet.write_row(13, 0, [None, "Cộng tăng"])
        sheet.write_row(14, 0, ["II", "Giảm"])
        sheet.write_row(15, 0, [None, "Cộng giảm"])
        sheet.write(17, 1, "Cơ quan LĐTBXH, UBND xã/Tổ chức DV thu")

    return Layout(
        "Mẫu D03-TS (QĐ 490)",
        "d03-ts.xlsx",
        "potential",
        _xlsx(write),
        [
            Row(9, "skipped", "Dòng mục"),
            Row(10, "skipped", "Dòng mục"),
            Row(11, "imported", "Xã Đồng Kỳ", "Lưu Thị Chín"),
            Row(12, "imported", "Phường Bắc Giang", "Mẫn Văn Mười"),
            # "Thôn Nam" alone: the commune of the unit in the title, UBND xã Đồng Kỳ.
            Row(13, "imported", "Xã Đồng Kỳ", "Kim Văn Lẻ"),
            Row(14, "skipped", "Dòng cộng"),
            Row(15, "skipped", "Dòng"),
            Row(16, "skipped", "Dòng cộng"),
            Row(18, "skipped", "Phần ký tên"),
        ],
    )


# --- The TCVN3 .xls an old BHXH program exported (tests/fixtures/imports/README.md) -------------


def tcvn3_xls() -> Layout:
    return Layout(
        "Danh sách cũ TCVN3 (.xls)",
        "tcvn3_participants.xls",
        "participants",
        (FIXTURES / "tcvn3_participants.xls").read_bytes(),
        [
            Row(9, "imported", "Xã Tân Dĩnh", "Nguyễn Văn Hùng", "2412345678"),
            Row(10, "imported", "Xã Tân Dĩnh", "Trần Thị Ánh", "2498765432"),
            Row(11, "refused", "Ngày không hợp lệ"),
            Row(12, "imported", "Xã Tân Yên", "Phạm Thị Hương", "2412345679"),
            Row(13, "refused", "Thiếu Mã số BHXH hoặc Số CCCD"),
            Row(14, "skipped", "Dòng cộng"),
            Row(16, "skipped", "Phần ký tên"),
        ],
        new_villages={("Xã Tân Dĩnh", "Thôn Trung"), ("Xã Tân Yên", "Xóm Bãi")},
    )


LAYOUTS: list[Callable[[], Layout]] = [
    district_due,
    tk1_vnpt,
    d05_ts,
    commune_potential_tcvn3,
    bhyt_due_csv,
    d03_ts,
    tcvn3_xls,
]

"""Import benchmark, file side: a generated participants workbook, read and parsed at scale.

`make_participants_xlsx` writes a list as a BHXH office would send it for the demo province
(Bắc Ninh): title rows, a merged heading, a header, a row of column numbers, data, a totals row and
the signature line. `measure_read_parse` times, each in a fresh process so its peak memory is its
own: the bare read of the file by python-calamine (the reference), the streaming reader
(`open_table`), and streaming read + parse (`stream_rows`), the front half of an import.

    python -m benchmarks.imports_file --rows 100000 [--path /tmp/x.xlsx [--keep | --existing]]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

from outreach.geography.service import official_communes

PROVINCE = "24"  # Bắc Ninh, the demo province
HEADER = [
    "STT",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Mã số BHXH",
    "Số CCCD",
    "Số điện thoại",
    "Địa chỉ",
    "Thôn/Tổ dân phố",
    "Xã/Phường",
    "Đóng đến tháng",
    "Phương thức đóng",
    "Mức thu nhập làm căn cứ đóng",
]
SURNAMES = (
    "Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ",
    "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đào", "Đinh", "Trịnh", "Lương",
)  # fmt: skip
MIDDLE_MALE = ("Văn", "Đức", "Minh", "Hữu", "Quang", "Xuân", "Công", "Thanh", "Ngọc", "Đình")
MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Hồng", "Kim", "Phương")
GIVEN_MALE = (
    "Hùng", "Dũng", "Tuấn", "Anh", "Nam", "Hải", "Long", "Sơn", "Cường", "Bình", "Thắng",
    "Quân", "Đức", "Trung", "Kiên", "Toàn", "Hiếu", "Phúc", "Khánh", "Vinh",
)  # fmt: skip
GIVEN_FEMALE = (
    "Lan", "Hương", "Hà", "Linh", "Phương", "Trang", "Mai", "Hoa", "Thảo", "Yến", "Nga",
    "Huyền", "Ánh", "Nhung", "Oanh", "Hằng", "Thủy", "Loan", "Dung", "Giang",
)  # fmt: skip
VILLAGE_NAMES = (
    "Đông", "Đoài", "Nam", "Bắc", "Thượng", "Hạ", "Trung", "Chùa", "Chợ", "Đình", "Cầu",
    "Mới", "Tiền", "Hậu", "Phúc Lâm", "Yên Lã", "Đa Hội", "Tam Sơn", "Lạc Thổ", "Phù Lưu",
)  # fmt: skip
# Mobile prefixes (0XY) in use; `parse_phone` checks them against `phonenumbers`.
MOBILE_PREFIXES = (
    "098", "097", "096", "086", "091", "094", "088", "090", "093", "032", "033",
    "034", "035", "036", "037", "038", "039", "070", "079", "077", "076", "078", "081",
    "082", "083", "084", "085", "056", "058", "059",
)  # fmt: skip
# CCCD province codes: Bắc Ninh 027, Bắc Giang 024 (merged into Bắc Ninh in 2025), neighbours.
CCCD_PROVINCES = ("027", "024", "001", "030", "033", "019")
FREQUENCIES = ("Hằng tháng", "3 tháng", "6 tháng", "12 tháng", "Hằng quý", "Hằng năm", 1, 3, 6, 12)
_ID_SPACE = 100_000_000  # BHXH numbers: "24" + 8 digits
_ID_STEP = 48_271  # coprime with 10**8 and 10**6: i → i * step mod space never repeats


def make_participants_xlsx(
    path: Path, rows: int, seed: int, *, shared_strings: bool = False
) -> Path:
    """Write a `rows`-row participants list for Bắc Ninh to `path`.

    By default in xlsxwriter's constant-memory mode, which writes text as inline strings;
    `shared_strings` writes it as Excel does, in a shared-strings table (all rows are then held
    in memory while writing: a few GB for a million).
    """
    rng = random.Random(seed)
    communes = [(c.name, c.type_name) for c in official_communes(PROVINCE)]
    book = xlsxwriter.Workbook(str(path), {"constant_memory": not shared_strings})
    sheet = book.add_worksheet("Danh sách")
    bold = book.add_format({"bold": True, "align": "center", "valign": "vcenter"})
    title = book.add_format({"bold": True, "align": "center", "font_size": 14})
    head = book.add_format({"bold": True, "align": "center", "border": 1, "text_wrap": True})
    text = book.add_format({"border": 1, "num_format": "@"})
    cell = book.add_format({"border": 1})
    day = book.add_format({"border": 1, "num_format": "dd/mm/yyyy"})
    month = book.add_format({"border": 1, "num_format": "mm/yyyy"})
    money = book.add_format({"border": 1, "num_format": "#,##0"})
    width = len(HEADER)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, width - 1, 16)

    # Title block, as printed by BHXH offices.
    sheet.merge_range(0, 0, 0, 4, "BẢO HIỂM XÃ HỘI TỈNH BẮC NINH", bold)
    sheet.merge_range(0, 8, 0, width - 1, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold)
    sheet.merge_range(1, 8, 1, width - 1, "Độc lập - Tự do - Hạnh phúc", bold)
    sheet.merge_range(3, 0, 3, width - 1, "DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN", title)
    sheet.merge_range(4, 0, 4, width - 1, f"(Kèm theo công văn số {seed}/BHXH-QLT)", bold)
    sheet.write_row(6, 0, HEADER, head)
    sheet.write_row(7, 0, [f"({n})" for n in range(1, width + 1)], head)

    first = 8
    income_total = 0
    for i in range(rows):
        female = rng.random() < 0.52
        name = " ".join(
            (
                rng.choice(SURNAMES),
                rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE),
                rng.choice(GIVEN_FEMALE if female else GIVEN_MALE),
            )
        )
        born = date(rng.randint(1965, 2006), rng.randint(1, 12), rng.randint(1, 28))
        commune, commune_type = rng.choice(communes)
        village = (
            f"Thôn {rng.choice(VILLAGE_NAMES)}"
            if commune_type == "Xã"
            else f"Tổ dân phố số {rng.randint(1, 30)}"
        )
        income = rng.randrange(1_500_000, 10_000_001, 50_000)
        income_total += income
        r = first + i
        sheet.write_number(r, 0, i + 1, cell)
        sheet.write_string(r, 1, name, cell)
        sheet.write_datetime(r, 2, datetime(born.year, born.month, born.day), day)
        sheet.write_string(r, 3, "Nữ" if female else "Nam", cell)
        sheet.write_string(r, 4, _bhxh(i), text)
        sheet.write_string(r, 5, _cccd(i, born, female), text)
        if rng.random() < 0.9:  # a tenth of the people left no phone
            sheet.write_string(r, 6, _phone(rng), text)
        sheet.write_string(r, 7, f"Số {rng.randint(1, 200)}, {village}, {commune}", cell)
        sheet.write_string(r, 8, village, cell)
        # Communes as offices write them, sometimes in capitals; with the type word, which a
        # name needs when it is not unique in the province (places are never guessed).
        shown = commune
        sheet.write_string(r, 9, shown.upper() if rng.random() < 0.05 else shown, cell)
        paid_year, paid_month = rng.choice((2025, 2026, 2027)), rng.randint(1, 12)
        if rng.random() < 0.6:
            sheet.write_string(r, 10, f"{paid_month:02d}/{paid_year}", text)
        else:
            sheet.write_datetime(r, 10, datetime(paid_year, paid_month, 1), month)
        frequency = rng.choice(FREQUENCIES)
        if isinstance(frequency, int):
            sheet.write_number(r, 11, frequency, cell)
        else:
            sheet.write_string(r, 11, frequency, cell)
        sheet.write_number(r, 12, income, money)

    end = first + rows
    sheet.merge_range(end, 0, end, 1, "Tổng cộng", head)
    sheet.write_string(end, 2, f"{rows} người", cell)
    sheet.write_number(end, width - 1, income_total, money)
    sheet.write_string(end + 2, 1, "Người lập biểu", bold)
    sheet.write_string(end + 2, width - 3, "Giám đốc", bold)
    book.close()
    return path


def _bhxh(i: int) -> str:
    """A 10-digit BHXH number, unique per row (a permutation of 0..10**8-1 behind "24")."""
    return f"24{(i * _ID_STEP + 12_345) % _ID_SPACE:08d}"


def _cccd(i: int, born: date, female: bool) -> str:
    """A 12-digit CCCD: province, century-and-sex digit, year of birth, 6 digits unique per row."""
    province = CCCD_PROVINCES[(i // 1_000_000) % len(CCCD_PROVINCES)]
    century = (0 if born.year < 2000 else 2) + (1 if female else 0)
    serial = (i * _ID_STEP + 777) % 1_000_000
    return f"{province}{century}{born.year % 100:02d}{serial:06d}"


def _phone(rng: random.Random) -> str:
    """A mobile number; one in fifty in the pre-2018 11-digit form (0166… for today's 036…)."""
    if rng.random() < 0.02:
        return f"016{rng.randint(2, 9)}{rng.randint(0, 9_999_999):07d}"
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 9_999_999):07d}"


# ---------------------------------------------------------------------------------------------
# Measuring

STAGES = ("calamine", "stream", "parse")
REPO = Path(__file__).resolve().parents[1]


def measure_read_parse(path: Path, kind: str = "participants") -> dict[str, float]:
    """Time each stage on `path`, each in a fresh process so peak memory is the stage's own.

    calamine: the bare read by python-calamine (the whole sheet as Python lists), the reference;
    stream: every row through `open_table`; parse: `open_table` + `stream_rows`, rows consumed
    and dropped as an importer writing in chunks would. Rates are sheet rows per second for the
    reads and parsed data rows per second for the parse; ratios are to the bare read's time.
    """
    result: dict[str, float] = {}
    for stage in STAGES:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.imports_file", "--stage", stage, str(path), kind],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        result.update(json.loads(done.stdout))
    bare = result["calamine_seconds"]
    result["stream_ratio"] = result["stream_seconds"] / bare
    result["parse_ratio"] = result["parse_seconds"] / bare
    return result


def _run_stage(stage: str, path: Path, kind: str) -> dict[str, float]:
    """One stage, in this (fresh) process: its time, rate and this process's peak RSS."""
    started = time.perf_counter()
    if stage == "calamine":
        import python_calamine

        # As `read_table` reads it, minus the cleaning: the generated list has one sheet.
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        rows = len(workbook.get_sheet_by_index(0).to_python(skip_empty_area=False))
    elif stage == "stream":
        from outreach.imports.reading.readers import open_table

        rows = sum(1 for _ in open_table(path))
    else:
        from outreach.imports.reading.readers import open_table
        from outreach.imports.reading.rows import stream_rows

        rows = errors = 0
        with open_table(path) as table:
            # The cycle collector stays on, as in an importer consuming rows between writes.
            sheet, parsed = stream_rows(table, kind)
            for row in parsed:
                rows += 1
                errors += not row.ok
        if not sheet.match.ok:
            raise SystemExit(f"header not recognised: {sheet.match.missing_labels}")
    seconds = time.perf_counter() - started
    out = {
        f"{stage}_rows": rows,
        f"{stage}_seconds": seconds,
        f"{stage}_rows_per_second": rows / seconds,
        f"{stage}_peak_mb": _peak_mb(),
    }
    if stage == "parse":
        out["parse_error_rows"] = errors
    return out


def _peak_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's VmHWM, as getrusage's ru_maxrss survives exec: a child started by a parent that had
    grown (writing a workbook with shared strings, say) would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def format_results(result: dict[str, float]) -> str:
    """The measurements as a small table."""
    lines = [f"{'stage':<34}{'rows':>10}{'seconds':>9}{'rows/s':>9}{'peak MB':>9}{'× bare':>8}"]
    names = {
        "calamine": "bare read (python-calamine)",
        "stream": "streaming read (open_table)",
        "parse": "read + parse (stream_rows)",
    }
    for stage in STAGES:
        ratio = "" if stage == "calamine" else f"{result[f'{stage}_ratio']:.2f}"
        lines.append(
            f"{names[stage]:<34}{result[f'{stage}_rows']:>10,.0f}"
            f"{result[f'{stage}_seconds']:>9.1f}{result[f'{stage}_rows_per_second']:>9,.0f}"
            f"{result[f'{stage}_peak_mb']:>9,.0f}{ratio:>8}"
        )
    lines.append(f"rows with errors: {result['parse_error_rows']:,.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Generate a list (or take one) and print the read and parse measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--path", type=Path, help="where to write the list (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--existing", action="store_true", help="measure --path as it is")
    parser.add_argument(
        "--shared-strings", action="store_true", help="text in a shared-strings table, as Excel"
    )
    parser.add_argument(
        "--stage", nargs=3, metavar=("STAGE", "FILE", "KIND"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.existing and not args.path:
        parser.error("--existing needs --path")
    if args.stage:
        stage, file, kind = args.stage
        print(json.dumps(_run_stage(stage, Path(file), kind)))
        return
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as folder:
        path = args.path or Path(folder) / f"participants-{args.rows}.xlsx"
        if not args.existing:
            started = time.perf_counter()
            make_participants_xlsx(path, args.rows, args.seed, shared_strings=args.shared_strings)
            print(
                f"generated {path} ({path.stat().st_size / 1024**2:,.0f} MB) "
                f"in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
        try:
            print(format_results(measure_read_parse(path)))
        finally:
            if args.path and not args.keep and not args.existing:
                path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()

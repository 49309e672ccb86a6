"""The audit service: appends only, takes the request's address, filters and pages the log."""

from __future__ import annotations

import csv
import html
import inspect
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from outreach.core import audit
from outreach.core.audit import AuditFilter, export_csv, record_event, search_events
from outreach.imports.batches import errors_workbook
from outreach.imports.reading import RowError
from outreach.models import AuditLog, Campaign, GeoUnit, ImportBatch, User
from outreach.rankings.service import RankRow, rankings_workbook
from outreach.summaries.exports import figures_csv


def _province(session) -> int:
    return session.exec(select(GeoUnit).where(GeoUnit.kind == "province")).first().id


def _admin(session) -> User:
    return session.exec(select(User).where(User.username == "admin")).one()


def test_the_service_only_appends():
    source = inspect.getsource(audit)
    assert not re.search(r"\b(update|delete)\s*\(|\.delete\b|session\.merge", source)
    public = {
        name
        for name, value in vars(audit).items()
        if inspect.isfunction(value)
        and value.__module__ == audit.__name__
        and not name.startswith("_")
    }
    assert public == {"record_event", "search_events", "export_csv", "vietnam_time"}


def test_the_request_address_is_used_when_the_caller_gives_none(session):
    token = audit.request_ip.set("192.0.2.5")
    try:
        implicit = record_event(session, action="assign", username="lanhdao.07210")
        explicit = record_event(session, action="login", username="admin", ip="192.0.2.9")
    finally:
        audit.request_ip.reset(token)
    outside = record_event(session, action="assign", username="cli")
    session.commit()
    assert (implicit.ip, explicit.ip, outside.ip) == ("192.0.2.5", "192.0.2.9", "")


def test_filters_and_province_scope(session):
    admin = _admin(session)
    at = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)  # 10:00 on the 10th in Vietnam
    rows = [
        ("login", "admin", admin.id, "", "", "10.0.0.1"),
        ("view_household", "admin", admin.id, "household", "7", "10.0.0.2"),
        ("login_failed", "ai.do", None, "", "", "10.0.0.3"),
    ]
    for n, (action, username, user_id, otype, oid, ip) in enumerate(rows):
        record_event(
            session,
            action=action,
            username=username,
            user_id=user_id,
            object_type=otype,
            object_id=oid,
            ip=ip,
        ).at = at + timedelta(hours=n)
    session.commit()
    province = _province(session)

    def found(**kwargs) -> list[str]:
        page = search_events(session, filters=AuditFilter(**kwargs), province_id=province)
        return [e.action for e in page.entries]

    assert found(username="ADMIN ")[:2] == ["view_household", "login"]
    assert found(action="login_failed") == ["login_failed"]
    assert found(object_type="household", object_id="7") == ["view_household"]
    assert found(ip="10.0.0.3") == ["login_failed"]
    assert found(date_from=date(2026, 11, 10), date_to=date(2026, 11, 10)) == [
        "login_failed",
        "view_household",
        "login",
    ]
    assert found(date_to=date(2026, 11, 9)) == []
    # Another province's entries belong to its own admins.
    # Another province's admins see only the entries of no user (failed logins of unknown names).
    elsewhere = search_events(session, filters=AuditFilter(), province_id=-1).entries
    assert elsewhere and all(e.user_id is None for e in elsewhere)


def test_keyset_paging_breaks_ties_by_id(session):
    admin = _admin(session)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(7):
        record_event(session, action="logout", user_id=admin.id, object_id=n).at = at
    session.commit()
    seen, before = [], None
    while True:
        page = search_events(
            session,
            filters=AuditFilter(action="logout"),
            province_id=_province(session),
            before=before,
            limit=3,
        )
        seen += [e.object_id for e in page.entries]
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == [str(n) for n in reversed(range(7))]


def test_export_is_bounded_labelled_and_in_vietnam_time(session):
    admin = _admin(session)
    for n in range(5):
        record_event(session, action="login", user_id=admin.id, username="admin").at = datetime(
            2026, 11, 21, 17, n, tzinfo=UTC
        )
    session.commit()
    text = "".join(
        export_csv(
            session,
            filters=AuditFilter(action="login"),
            province_id=_province(session),
            labels={"login": "Đăng nhập"},
            limit=3,
        )
    )
    rows = _excel_rows(text)
    assert len(rows) == 1 + 3 and rows[0] == list(audit.EXPORT_HEADER)
    assert rows[1][0] == "22/11/2026 00:04:00" and rows[1][3] == "Đăng nhập"


def test_the_log_table_has_indexes_for_each_filter():
    indexed = {tuple(c.name for c in index.columns) for index in AuditLog.__table__.indexes}
    for columns in [
        ("at",),
        ("user_id", "at"),
        ("action", "at"),
        ("username", "at"),
        ("object_type", "object_id", "at"),
        ("ip", "at"),
    ]:
        assert columns in indexed, columns


# ---- every export is formula-safe, whatever separator the spreadsheet splits on ------------------

# Values a user can put in a name, a file or a detail. "a;=1+1;b" is harmless to a reader splitting
# on commas, but a Vietnamese Excel splits lists on ";" and would start a formula at "=1+1".
HOSTILE = [
    "a;=1+1;b",
    "x,=2+3,y",
    "t\t=4+5",
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    '"=1+1',
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _excel_rows(text: str) -> list[list[str]]:
    """A CSV as Excel set to Vietnamese reads it: a BOM first, then ";" between cells."""
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))


def _cells_split_on(text: str, separator: str) -> list[str]:
    """The cells a spreadsheet reads when it splits on `separator` outside double quotes.

    Lenient like Excel: a quote opens quoting wherever it appears, "" inside quotes is one quote,
    and text after a closing quote joins the same cell.
    """
    cells, cell, quoted, i = [], [], False, 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == '"' and text[i + 1 : i + 2] == '"':
                cell.append('"')
                i += 1
            elif char == '"':
                quoted = False
            else:
                cell.append(char)
        elif char == '"':
            quoted = True
        elif char in (separator, "\r", "\n"):
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(char)
        i += 1
    cells.append("".join(cell))
    return cells


def _assert_formula_safe_csv(text: str) -> None:
    for separator in (",", ";", "\t", "|"):
        starts = [c for c in _cells_split_on(text, separator) if c.startswith(TRIGGERS)]
        assert starts == [], (separator, starts)
    # Read as written (semicolons, for Excel in Vietnam), each value is whole, with a ' before a
    # leading trigger.
    cells = [cell for row in _excel_rows(text) for cell in row]
    for value in HOSTILE:
        assert ("'" + value if value.startswith(TRIGGERS) else value) in cells, value


def test_the_audit_export_is_formula_safe_whatever_the_separator(session):
    for n, value in enumerate(HOSTILE):
        record_event(
            session,
            action="login_failed",
            username=value,
            object_id=value[:40],
            ip=value[:64],
            detail={"n": n, "value": value},
        )
    session.commit()
    text = "".join(
        export_csv(
            session,
            filters=AuditFilter(action="login_failed"),
            province_id=_province(session),
            labels={"login_failed": "=Đăng nhập sai"},
        )
    )
    _assert_formula_safe_csv(text)
    assert "'=Đăng nhập sai" in text


def _figures(names: list[str]) -> dict:
    def row(name, group):
        return {
            "name": name,
            "group": group,
            "period": {
                "new": 1,
                "renewals": 2,
                "visits": 3,
                "households": 4,
                "promises": 5,
                "refusals": 6,
            },
            "total": {"new": 7, "renewals": 8},
            "target_new": 10,
            "target_renewals": 20,
            "ratio": 0.8,
        }

    return {"communes": [row(name, name) for name in names], "totals": row("Tỉnh", None)}


def test_the_summary_csv_is_formula_safe_whatever_the_separator():
    text = figures_csv(_figures(HOSTILE)).decode("utf-8")
    assert text.startswith("\ufeff")
    _assert_formula_safe_csv(text)


def test_both_csv_exports_are_written_alike_for_excel_in_vietnam(session):
    """The audit log and the bulletin's table: a UTF-8 BOM, ";" between cells, every cell quoted,
    Vietnamese text intact (docs/decisions.md, "CSV for Excel in Vietnam")."""
    record_event(session, action="login", username="nguyễn.thị.ánh", detail={"ghi chú": "Đã xong"})
    session.commit()
    audit_text = "".join(
        export_csv(
            session,
            filters=AuditFilter(action="login"),
            province_id=_province(session),
            labels={"login": "Đăng nhập"},
        )
    )
    summary_text = figures_csv(_figures(["Phường Đa Mai", "Xã Tiên Lục"])).decode("utf-8")
    for text, header in ((audit_text, audit.EXPORT_HEADER), (summary_text, None)):
        first_line = text.removeprefix("\ufeff").split("\r\n")[0]
        assert text.startswith("\ufeff") and not text.startswith("\ufeff\ufeff")
        titles = _excel_rows(text)[0]
        assert first_line == ";".join(f'"{title}"' for title in titles)  # quoted, ";" between
        if header is not None:
            assert titles == [str(title) for title in header]
    audit_rows = _excel_rows(audit_text)
    assert audit_rows[1][1] == "nguyễn.thị.ánh" and audit_rows[1][3] == "Đăng nhập"
    assert "Đã xong" in audit_rows[1][7]
    summary_rows = _excel_rows(summary_text)
    assert [row[0] for row in summary_rows[1:]] == ["Phường Đa Mai", "Xã Tiên Lục", "Tỉnh"]
    assert summary_rows[1][2:7] == ["1", "2", "3", "4", "5"]


def _sheet_strings(body: bytes) -> tuple[str, list[str]]:
    """The first sheet's XML and every string it shows (shared or inline)."""
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        names = book.namelist()
        shared = (
            book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in names else ""
        )
    found = re.findall(r"<t[^>]*>([^<]*)</t>", shared + sheet)
    # XML keeps no bare carriage return: xlsxwriter writes it as _x000D_.
    return sheet, [html.unescape(s).replace("_x000D_", "\r") for s in found]


def _assert_formula_safe_sheet(body: bytes) -> None:
    sheet, strings = _sheet_strings(body)
    assert "<f>" not in sheet and "<f " not in sheet  # no formula cell at all
    assert not [s for s in strings if s.startswith(TRIGGERS)]
    for value in HOSTILE:
        expected = "'" + value if value.startswith(TRIGGERS) else value
        assert expected in strings, value


def test_the_rankings_workbook_is_formula_safe():
    rows = [
        RankRow(n, value, value, 10, 20, 5, 6, 0.5, rank=n + 1) for n, value in enumerate(HOSTILE)
    ]
    campaign = Campaign(
        province_id=1, name="=Chiến dịch", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31)
    )
    body = rankings_workbook(
        rows, campaign=campaign, as_of=date(2026, 11, 22), scope_name="@tỉnh", level="commune"
    )
    _assert_formula_safe_sheet(body)


def test_the_import_error_sheet_is_formula_safe():
    errors = [RowError(7 + n, value, value) for n, value in enumerate(HOSTILE)]
    body = errors_workbook(ImportBatch(filename="=ds.csv", kind="participants"), errors)
    _assert_formula_safe_sheet(body)

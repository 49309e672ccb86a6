"""Lists into the database: new, updated, unchanged and rejected rows, households, payments."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, inspect
from sqlmodel import select

from outreach.imports import matching
from outreach.imports import writer as importing
from outreach.imports.reading import read_table, stream_rows
from outreach.imports.writer import import_rows
from outreach.models import GeoUnit, Household, Payment, Person, PriorityRefresh, User
from outreach.models.codes import ImportKind, Role, UnitKind

HEADER = "STT,Họ và tên,Ngày sinh,Giới tính,Mã số BHXH,Số CCCD,Số điện thoại,Địa chỉ,Thôn,Xã/Phường,Huyện cũ,Đóng đến tháng,Phương thức đóng,Mức thu nhập"
ROWS = [
    # A new participant on the new map, in a new village.
    "1,Nguyễn Thị Hoa,12/03/1980,Nữ,2499000001,024180000001,0912345678,Số 5 ngõ 2,Thôn Mới Lập,Phường Bắc Giang,,10/2026,3 tháng,2.000.000",
    # Her husband: same address, so the same household; an old 11-digit mobile.
    "2,Trần Văn Nam,01/01/1978,Nam,2499000002,024078000002,01662345678,Số 5 ngõ 2,Thôn Mới Lập,Phường Bắc Giang,,11/2026,1 tháng,1.500.000",
    # An address from before July 2025: old district and old ward.
    "3,Lê Văn Cũ,05/06/1990,Nam,2499000003,024090000003,,,Tổ 1,Phường Thọ Xương,Thành phố Bắc Giang,09/2026,6 tháng,",
    # A commune that does not exist: rejected, with the reason.
    "4,Phạm Thị Sai,05/06/1991,Nữ,2499000004,024191000004,,,Thôn A,Xã Không Có,,09/2026,1 tháng,",
    "5,Đỗ Văn Ngày,31/02/1991,Nam,2499000005,,,,Thôn A,Phường Bắc Giang,,09/2026,1 tháng,",
]
TITLE = "DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN\nKỳ tháng 11/2026\n"


def _csv(rows, header=HEADER) -> bytes:
    return (TITLE + header + "\n" + "\n".join(rows) + "\nTổng cộng,,,,,,,,,,,,,\n").encode("utf-8")


def _import(session, data: bytes, *, kind="participants", write=True, name="ds.csv"):
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    sheet, rows = stream_rows(read_table(data, name), kind)
    assert sheet.match.ok, sheet.match.missing_labels()
    report = import_rows(session, rows=rows, kind=kind, province_id=province.id, write=write)
    session.commit()
    return report


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def test_a_messy_list_lands_right_and_a_second_import_changes_nothing(session):
    persons, households = _count(session, Person), _count(session, Household)
    report = _import(session, _csv(ROWS))
    assert (report.read, report.inserted, report.rejected) == (5, 3, 2)
    messages = {e.row_number: e.message for e in report.errors}
    assert "Không tìm thấy xã, phường “Xã Không Có”" in messages[7]
    assert "31/02/1991" in messages[8]
    assert report.converted_addresses == 1 and report.new_villages >= 1
    assert _count(session, Person) == persons + 3
    assert _count(session, Household) == households + 2  # the couple share one

    hoa = session.exec(select(Person).where(Person.bhxh_number == "2499000001")).one()
    nam = session.exec(select(Person).where(Person.bhxh_number == "2499000002")).one()
    cu = session.exec(select(Person).where(Person.bhxh_number == "2499000003")).one()
    assert hoa.household_id == nam.household_id and hoa.paid_through == date(2026, 10, 31)
    assert nam.phone == "+84362345678" and hoa.payment_frequency == 3
    assert session.get(GeoUnit, cu.commune_id).code == "07210"  # Thọ Xương → Phường Bắc Giang
    household = session.get(Household, hoa.household_id)
    assert household.assigned_canvasser_id is not None
    assert session.get(GeoUnit, household.village_id).name == "Thôn Mới Lập"
    assert session.get(PriorityRefresh, hoa.commune_id) is None  # to be recomputed

    again = _import(session, _csv(ROWS))
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 2)
    assert _count(session, Person) == persons + 3

    renewed = [ROWS[0].replace("10/2026", "04/2027")]
    update = _import(session, _csv(renewed))
    assert (update.inserted, update.updated, update.unchanged) == (0, 1, 0)
    session.refresh(hoa)
    assert hoa.paid_through == date(2027, 4, 30)


def test_a_dry_run_writes_nothing(session):
    before = (_count(session, Person), _count(session, Household), _count(session, GeoUnit))
    report = _import(session, _csv(ROWS), write=False)
    assert report.inserted == 3 and report.rejected == 2
    assert (_count(session, Person), _count(session, Household), _count(session, GeoUnit)) == before


def test_existing_people_are_found_by_bhxh_then_cccd_never_duplicated(session):
    known = session.exec(select(Person).where(Person.bhxh_number.is_not(None))).first()
    other = session.exec(
        select(Person).where(Person.citizen_id.is_not(None), Person.id != known.id)
    ).first()
    commune = session.get(GeoUnit, known.commune_id)
    persons = _count(session, Person)
    rows = [
        f"1,{known.full_name},,,{known.bhxh_number},,,,,{commune.name},,12/2026,12 tháng,",
        f"2,{other.full_name},,,,{other.citizen_id},,,,{session.get(GeoUnit, other.commune_id).name},,12/2026,1 tháng,",
    ]
    report = _import(session, _csv(rows))
    assert (report.inserted, report.updated, report.rejected) == (0, 2, 0), report.errors
    assert _count(session, Person) == persons
    session.refresh(known)
    assert known.paid_through == date(2026, 12, 31) and known.is_participant


PAY_HEADER = "STT,Họ và tên,Mã số BHXH,Ngày nộp,Số tiền,Số tháng,Số biên lai"


def test_payments_extend_paid_through_once(session):
    _import(session, _csv(ROWS))
    payments = (
        TITLE
        + PAY_HEADER
        + "\n1,Nguyễn Thị Hoa,2499000001,05/11/2026,990.000,3,BL0001\n"
        + "2,Không Có Ai,2400009999,05/11/2026,330.000,1,BL0002\n"
    ).encode("utf-8")
    report = _import(session, payments, kind="payments")
    assert (report.updated, report.payments, report.rejected) == (1, 1, 1)
    assert "Không tìm thấy người này" in report.errors[0].message
    hoa = session.exec(select(Person).where(Person.bhxh_number == "2499000001")).one()
    assert hoa.paid_through == date(2027, 1, 31)  # October + 3 months
    again = _import(session, payments, kind="payments")
    assert (again.updated, again.unchanged, again.payments) == (0, 1, 0)
    session.refresh(hoa)
    assert hoa.paid_through == date(2027, 1, 31)
    assert _count(session, Payment) == 1


@pytest.mark.parametrize("kind", ["unemployment", "reserved", "potential"])
def test_other_kinds_need_their_columns(session, kind):
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    sheet, _ = stream_rows(read_table(_csv(ROWS[:1], "Họ và tên,Xã/Phường"), "x.csv"), kind)
    if kind == "potential":
        assert sheet.match.ok
    else:
        assert not sheet.match.ok and sheet.match.missing_labels()
    assert province


def _index_names(session) -> set[str]:
    inspector = inspect(session.connection())
    return {i["name"] for t in ("person", "household") for i in inspector.get_indexes(t)}


def load_list(session, data: bytes, province: GeoUnit, *, expected_rows=10**9, progress=None):
    """A participants list into a province, not committed: a first load (with FIRST_LOAD_FROM
    lowered) unless `expected_rows` is small (10**9: "bigger than everything stored")."""
    _, parsed = stream_rows(read_table(data, "ds.csv"), "participants")
    return import_rows(
        session,
        rows=parsed,
        kind="participants",
        province_id=province.id,
        write=True,
        progress=progress,
        expected_rows=expected_rows,
    )


def _first_load(session, rows, progress):
    """A participants list imported as a first load into the demo's province."""
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    return load_list(session, _csv(rows), province, progress=progress)


def _first_load_that_fails(session) -> None:
    """A first load of one new person (BHXH 2499000011) stopped midway, then rolled back."""

    def fail(done):
        raise RuntimeError("the server stopped")

    one = ROWS[0].replace("2499000001", "2499000011").replace("024180000001", "")
    with pytest.raises(RuntimeError):
        _first_load(session, [one], fail)
    session.rollback()


def test_a_large_load_rebuilds_the_indexes_it_set_aside(session, monkeypatch):
    """A big first load drops indexes and builds them once at the end, in the same transaction
    (on SQLite those matching does not use; on PostgreSQL, with the tables to itself, every one
    but the primary keys); a load that fails gives them all back on rollback."""
    monkeypatch.setattr(importing, "FIRST_LOAD_FROM", 1)
    all_indexes = _index_names(session)
    during = []

    report = _first_load(session, ROWS, lambda done: during.append(_index_names(session)))
    assert report.inserted == 3
    if session.get_bind().dialect.name == "sqlite":
        assert during[0] == all_indexes - importing.REBUILT_AFTER_FIRST_LOAD
    else:  # the primary keys are no index SQLAlchemy lists
        assert during[0] == set() and len(all_indexes) == 16
    assert _index_names(session) == all_indexes
    session.commit()
    assert _index_names(session) == all_indexes

    _first_load_that_fails(session)
    assert _index_names(session) == all_indexes
    assert session.exec(select(Person).where(Person.bhxh_number == "2499000011")).first() is None


def _foreign_keys_checked(session) -> bool:
    return bool(session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar())


def test_a_first_load_checks_no_foreign_keys_and_leaves_the_connection_checking(
    session, monkeypatch
):
    """On SQLite a first load refers only to rows it read under its write lock or made itself,
    so it skips the foreign-key checks; its connection checks again once its transaction is
    over, committed or rolled back, and what it wrote holds every reference."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite only: on PostgreSQL see test_references_checked_once_*")
    monkeypatch.setattr(importing, "FIRST_LOAD_FROM", 1)
    session.commit()  # the test starts outside a transaction, as an import job does
    during = []

    report = _first_load(session, ROWS, lambda done: during.append(_foreign_keys_checked(session)))
    assert report.inserted == 3 and during == [False]
    session.commit()
    assert _foreign_keys_checked(session)
    assert session.connection().exec_driver_sql("PRAGMA foreign_key_check").all() == []
    session.commit()

    _first_load_that_fails(session)
    assert _foreign_keys_checked(session)


def test_without_numbers_a_person_is_found_by_name_birth_date_and_commune(session):
    """A namesake born another day is someone else; the same name, day and commune is the same."""
    known = session.exec(  # someone from a list of potential participants: no BHXH number yet
        select(Person).where(
            Person.date_of_birth.is_not(None),
            Person.bhxh_number.is_(None),
        )
    ).first()
    commune = session.get(GeoUnit, known.commune_id).name
    born = known.date_of_birth.strftime("%d/%m/%Y")
    other_day = known.date_of_birth.replace(day=1 if known.date_of_birth.day != 1 else 2)
    persons = _count(session, Person)
    rows = [
        f"1,{known.full_name.upper()},{born},,2499555001,,,,,{commune},,12/2026,12 tháng,",
        f"2,{known.full_name},{other_day:%d/%m/%Y},,2499555002,,,Số 9,,{commune},,12/2026,1 tháng,",
    ]
    report = _import(session, _csv(rows))
    assert (report.inserted, report.updated, report.rejected) == (1, 1, 0), report.errors
    assert _count(session, Person) == persons + 1
    session.refresh(known)
    assert known.paid_through == date(2026, 12, 31) and known.bhxh_number == "2499555001"


def test_rows_added_after_an_import_get_ids_of_their_own(session):
    """The importer numbers its rows itself; PostgreSQL's sequences must then move past them, or
    the next village, household or person added the usual way collides with an imported one."""
    _import(session, _csv(ROWS))
    for model in (GeoUnit, Household, Person):
        newest = session.exec(select(model).order_by(model.id.desc())).first()
        columns = [c.name for c in model.__table__.columns if c.name != "id"]
        copy = model(**{c: getattr(newest, c) for c in columns})
        if model is GeoUnit:
            copy.code = f"{newest.code}-sau"
        if model is Person:
            copy.bhxh_number = copy.citizen_id = None
        session.add(copy)
        session.flush()
        assert copy.id > newest.id
    session.commit()


def _people_and_homes(session) -> list[tuple]:
    """Everyone stored with their household, as comparable tuples (ids left out)."""
    found = session.execute(
        select(
            Person.full_name,
            Person.date_of_birth,
            Person.bhxh_number,
            Person.citizen_id,
            Person.commune_id,
            Person.paid_through,
            Person.payment_frequency,
            Person.is_participant,
            Household.commune_id,
            # By name: a new village's id comes from the sequence, which a rollback does not undo.
            select(GeoUnit.name).where(GeoUnit.id == Household.village_id).scalar_subquery(),
            Household.address_key,
            Household.code,
        ).join(Household, Household.id == Person.household_id)
    ).all()
    return sorted((tuple(row) for row in found), key=repr)


def test_a_first_load_ends_exactly_as_matching_row_by_row_would(session, monkeypatch):
    """A first load appends the rows sure to be new and sets the others aside until the indexes
    are back: people stored (by BHXH number, CCCD, or name + birth date + commune), a namesake
    met earlier in the file, a conflict. The outcome equals the usual path's, row for row."""
    numbered = session.exec(select(Person).where(Person.bhxh_number.is_not(None))).all()
    by_id = session.exec(
        select(Person).where(Person.citizen_id.is_not(None), Person.id.not_in([numbered[0].id]))
    ).all()
    named = session.exec(
        select(Person).where(Person.date_of_birth.is_not(None), Person.bhxh_number.is_(None))
    ).first()
    home = session.exec(
        select(Household).where(Household.address != "", Household.code.is_(None))
    ).first()
    commune = {p.id: session.get(GeoUnit, p.commune_id).name for p in (numbered[0], named)}
    taken = (numbered[0].id, by_id[0].id, by_id[1].id, named.id)
    conflict = next(p for p in numbered if p.id not in taken)
    rows = [
        "1,Nguyễn Văn An,02/02/1985,Nam,2499700001,024085700001,,Số 7 ngõ 3,Thôn Mới Lập,Phường Bắc Giang,,10/2026,3 tháng,",
        "2,Trần Thị Bình,03/03/1986,Nữ,2499700002,,,Số 7 ngõ 3,Thôn Mới Lập,Phường Bắc Giang,,10/2026,1 tháng,",
        f"3,{numbered[0].full_name},,,{numbered[0].bhxh_number},,,,,{commune[numbered[0].id]},,12/2026,12 tháng,",
        f"4,{by_id[0].full_name},,,,{by_id[0].citizen_id},,,,{session.get(GeoUnit, by_id[0].commune_id).name},,12/2026,1 tháng,",
        # A namesake of row 1, born the same day in the same commune, with another BHXH number.
        "5,NGUYỄN VĂN AN,02/02/1985,Nam,2499700005,,,Số 9,Thôn Mới Lập,Phường Bắc Giang,,11/2026,3 tháng,",
        f"6,{named.full_name},{named.date_of_birth:%d/%m/%Y},,2499700006,,,,,{commune[named.id]},,12/2026,12 tháng,",
        # One stored person's BHXH number with another's CCCD: rejected, on either path.
        f"7,Ai Đó,,,{conflict.bhxh_number},{by_id[1].citizen_id},,,,{commune[numbered[0].id]},,12/2026,1 tháng,",
        f'8,Lê Văn Mới,01/01/1990,Nam,2499700008,,,"{home.address}",,{session.get(GeoUnit, home.commune_id).name},,10/2026,1 tháng,',
        "9,Phạm Thị Sai,05/06/1991,Nữ,2499700009,,,,Thôn A,Xã Không Có,,09/2026,1 tháng,",
        "10,Hoàng Văn Mười,10/10/1970,Nam,2499700010,,,Số 10,Thôn Mới Lập,Phường Bắc Giang,,10/2026,1 tháng,",
        # Row 10 again, now with his CCCD and no BHXH number: nothing says he is someone else.
        "11,HOÀNG VĂN MƯỜI,10/10/1970,Nam,,024070700011,,Số 10,Thôn Mới Lập,Phường Bắc Giang,,10/2026,1 tháng,",
    ]
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    set_aside: list[int] = []
    original = matching.FirstLoad.set_aside

    def watched(self, rows):
        set_aside.extend(row.parsed.row_number for row in rows)
        return original(self, rows)

    monkeypatch.setattr(matching.FirstLoad, "set_aside", watched)

    def load(first_from: int):
        monkeypatch.setattr(importing, "FIRST_LOAD_FROM", first_from)
        sheet, parsed = stream_rows(read_table(_csv(rows), "ds.csv"), "participants")
        report = import_rows(
            session,
            rows=parsed,
            kind="participants",
            province_id=province.id,
            write=True,
            expected_rows=10**9,
        )
        outcome = (
            {k: v for k, v in vars(report).items() if k != "errors"},
            sorted((e.row_number, e.column_header, e.message) for e in report.errors),
            _people_and_homes(session),
            _count(session, Household),
            _index_names(session),
        )
        session.rollback()
        return outcome

    usual = load(first_from=10**10)
    assert set_aside == []
    first = load(first_from=1)
    # Rows 3-7 and 11 name someone stored or met before (row 1 is the file's line 4).
    assert sorted(set_aside) == [6, 7, 8, 9, 10, 14]
    assert first == usual
    report, errors, people = usual[0], usual[1], usual[2]
    assert (report["inserted"], report["updated"], report["rejected"]) == (5, 4, 2), errors
    assert "hai người khác nhau" in errors[0][2] and "Xã Không Có" in errors[1][2]
    assert sorted(p[2] for p in people if p[0] == "Nguyễn Văn An") == ["2499700001", "2499700005"]
    muoi = [p for p in people if p[0] == "Hoàng Văn Mười"]  # rows 10 and 11: one person
    assert [(p[2], p[3]) for p in muoi] == [("2499700010", "024070700011")]


def test_new_households_go_to_the_commune_canvasser_with_the_fewest(session):
    """Each new household goes to its commune's canvasser with the fewest households so far
    (those already stored counted), the lower id first on a tie."""
    commune = session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()
    canvassers = session.exec(
        select(User.id).where(User.role == Role.CANVASSER, User.scope_unit_id == commune.id)
    ).all()
    assert len(canvassers) >= 2

    def counts():
        return {user: _count_households(session, user) for user in canvassers}

    expected = counts()
    rows = [
        f"{i},Người Thứ {chr(65 + i)},01/01/1980,Nam,24990100{i:02d},,,Số {i} ngõ Mới,,"
        "Phường Bắc Giang,,10/2026,1 tháng,"
        for i in range(1, 8)
    ]
    for _ in rows:  # seven households of their own, one after the other
        fewest = min(expected, key=lambda user: (expected[user], user))
        expected[fewest] += 1
    report = _import(session, _csv(rows))
    assert (report.inserted, report.new_households) == (7, 7)
    assert counts() == expected


def _count_households(session, canvasser_id: int) -> int:
    return session.exec(
        select(func.count()).where(Household.assigned_canvasser_id == canvasser_id)
    ).one()


@pytest.mark.parametrize("kind", list(ImportKind))
def test_a_new_persons_row_is_laid_out_as_its_facts_say(session, kind):
    """New people are laid out straight into the table's columns (a first load makes a million):
    the row equals a blank person with the row's facts for its kind set, nothing else."""
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    writer = importing._Writer(session, kind, province.id, False, None, now)
    full = {
        "full_name": "Lê Thị Mới",
        "date_of_birth": date(1990, 1, 2),
        "sex": "female",
        "bhxh_number": "2499000099",
        "citizen_id": "024190000099",
        "citizen_id_is_legacy": False,
        "phone": "+84912345678",
        "support_group": "poor",
        "paid_through": date(2026, 12, 31),
        "payment_frequency": 3,
        "income_basis": 2_000_000,
        "benefit_start": date(2026, 1, 1),
        "benefit_end": date(2026, 12, 31),
        "reserved_months": 14,
        "paid_on": date(2026, 11, 3),
        "amount": 990_000,
        "months": 3,
        "commune": "Phường Bắc Giang",
    }
    sparse = {
        "full_name": "Ai Đó",
        "citizen_id": "024123456",
        "citizen_id_is_legacy": True,
        "phone": "",
        "paid_on": date(2026, 11, 3),
        "months": 1,
        "amount": 330_000,
    }
    for values, name_key in ((full, "le thi moi"), (sparse, "")):
        expected = {
            **importing._NEW_PERSON,
            **writer._facts(values, None, name_key),
            "id": 7,
            "household_id": 8,
            "province_id": province.id,
            "commune_id": 9,
            "created_at": now,
            "updated_at": now,
        }
        laid_out = writer.new_person(values, name_key, 7, 8, 9)
        assert dict(zip(importing.PERSON_COLUMNS, laid_out, strict=True)) == expected


def test_a_nul_in_a_cell_rejects_its_row_not_the_whole_import(session):
    """Issue 19 #13: PostgreSQL cannot store a NUL (one in a list failed the whole import with
    an opaque DataError; SQLite kept it). The row is refused with its row and column, the others
    import, and a zero-width space pasted into a name is removed."""
    import io

    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER.split(","))
    for index, line in enumerate(ROWS[:3], start=1):
        cells = line.split(",")
        if index == 1:
            cells[1] = "Nguyễn Thị\x00 Hoa"  # xlsxwriter writes it as _x0000_, read back as NUL
        if index == 2:
            cells[1] = "Trần\u200b Văn Nam"
        sheet.write_row(index, 0, cells)
    book.close()
    persons = _count(session, Person)
    report = _import(session, out.getvalue(), name="ds.xlsx")
    assert (report.inserted, report.rejected) == (2, 1)
    assert [(e.row_number, e.column_header) for e in report.errors] == [(2, "Họ và tên")]
    assert "U+0000" in report.errors[0].message
    assert _count(session, Person) == persons + 2
    nam = session.exec(select(Person).where(Person.bhxh_number == "2499000002")).one()
    assert nam.full_name == "Trần Văn Nam"
    assert session.exec(select(Person).where(Person.bhxh_number == "2499000001")).first() is None

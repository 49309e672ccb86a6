"""Where new people go: the village's canvasser, villages only once confirmed, the district of
the title or the address used and counted, and facts a list gives that stop no row."""

from datetime import date

from sqlalchemy import func
from sqlmodel import select

from outreach.core.scope import scope_for
from outreach.imports.reading import read_table, stream_rows
from outreach.imports.writer import import_rows
from outreach.leaders.assignment import assign_village
from outreach.models import GeoUnit, Household, Person, User
from outreach.models.codes import Role, UnitKind

HEADER = "STT,Họ và tên,Ngày sinh,Mã số BHXH,Địa chỉ,Thôn,Xã/Phường,Đóng đến tháng,Thành phần"


def _csv(rows, title="DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN") -> bytes:
    return (title + "\n" + HEADER + "\n" + "\n".join(rows) + "\n").encode("utf-8")


def _import(session, data: bytes, **options):
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    sheet, rows = stream_rows(read_table(data, "ds.csv"), "participants")
    assert sheet.match.ok, sheet.match.missing_labels()
    report = import_rows(
        session,
        rows=rows,
        kind="participants",
        province_id=province.id,
        write=True,
        district_hint=sheet.title_district,
        **options,
    )
    session.commit()
    return report


def _commune(session, code: str) -> GeoUnit:
    return session.exec(select(GeoUnit).where(GeoUnit.code == code)).one()


def _household_of(session, bhxh: str) -> Household:
    person = session.exec(select(Person).where(Person.bhxh_number == bhxh)).one()
    return session.get(Household, person.household_id)


def test_new_households_go_to_the_canvasser_the_village_is_assigned_to(session):
    commune = _commune(session, "07210")
    village = session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == commune.id, GeoUnit.name == "Tổ dân phố số 1")
    ).one()
    canvassers = session.exec(
        select(User)
        .where(User.role == Role.CANVASSER, User.scope_unit_id == commune.id)
        .order_by(User.id)
    ).all()
    # The busier canvasser is given the village (its households are theirs): least-loaded would
    # pick the other one.
    busier = max(canvassers, key=lambda u: (_households(session, u.id), u.id))
    leader = session.exec(select(User).where(User.username == "admin")).one()
    assign_village(
        session,
        scope=scope_for(session, leader),
        village_id=village.id,
        canvasser_id=busier.id,
        by_user=leader,
    )
    session.commit()
    rows = [
        f"{i},Người Làng {chr(65 + i)},1980,24990200{i:02d},Số {i} ngõ Làng,Tổ dân phố số 1,"
        "Phường Bắc Giang,10/2026,"
        for i in range(1, 4)
    ]
    report = _import(session, _csv(rows))
    assert report.inserted == 3
    for i in range(1, 4):
        assert _household_of(session, f"24990200{i:02d}").assigned_canvasser_id == busier.id


def test_a_new_village_keeps_one_canvasser_and_is_made_only_when_confirmed(session):
    rows = [
        f"{i},Người Xóm {chr(65 + i)},1981,24990300{i:02d},Số {i} xóm Mới,Xóm Mới Tinh,"
        "Phường Bắc Giang,10/2026,"
        for i in range(1, 21)
    ]
    villages = session.exec(select(func.count()).select_from(GeoUnit)).one()
    refused = _import(session, _csv(rows), create_villages=False)
    assert refused.inserted == 0 and refused.rejected == 20
    assert "Xóm Mới Tinh” chưa có ở xã, phường của dòng này" in refused.errors[0].message
    assert session.exec(select(func.count()).select_from(GeoUnit)).one() == villages

    report = _import(session, _csv(rows))
    assert report.inserted == 20 and report.new_village_names == [
        ("Phường Bắc Giang", "Xóm Mới Tinh")
    ]
    owners = {
        _household_of(session, f"24990300{i:02d}").assigned_canvasser_id for i in range(1, 21)
    }
    assert len(owners) == 1 and None not in owners


def test_the_district_of_the_title_or_the_address_places_an_ambiguous_commune(session):
    rows = ["1,Người Tiến A,1970,2499040001,,Thôn Đông,Xã Đồng Tiến,10/2026,"]
    refused = _import(session, _csv(rows))
    assert refused.rejected == 1 and "Hiệp Hòa" in refused.errors[0].message  # never guessed

    titled = _import(session, _csv(rows, title="BẢO HIỂM XÃ HỘI HUYỆN YÊN THẾ"))
    assert (titled.inserted, titled.title_hinted, titled.address_hinted) == (1, 1, 0)
    person = session.exec(select(Person).where(Person.bhxh_number == "2499040001")).one()
    assert session.get(GeoUnit, person.commune_id).name == "Xã Xuân Lương"

    by_address = ["2,Người Tiến B,1971,2499040002,Thôn Bến huyện Hiệp Hòa,,Đồng Tiến,10/2026,"]
    report = _import(session, _csv(by_address, title="BẢO HIỂM XÃ HỘI HUYỆN YÊN THẾ"))
    assert (report.inserted, report.address_hinted, report.title_hinted) == (1, 1, 0)
    person = session.exec(select(Person).where(Person.bhxh_number == "2499040002")).one()
    assert session.get(GeoUnit, person.commune_id).name == "Xã Hoàng Vân"


def test_an_unknown_social_group_is_a_note_and_a_birth_year_stays_a_year(session):
    rows = [
        "1,Người Nông Dân,1978,2499050001,,,Phường Bắc Giang,10/2026,Nông dân",
        "2,Người Cận Nghèo,12/03/1979,2499050002,,,Phường Bắc Giang,10/2026,Hộ cận nghèo",
    ]
    report = _import(session, _csv(rows))
    assert report.inserted == 2 and report.rejected == 0
    assert [(n.row_number, n.column_header) for n in report.notes] == [(3, "Nhóm đối tượng")]
    assert "“Nông dân”" in report.notes[0].message
    farmer = session.exec(select(Person).where(Person.bhxh_number == "2499050001")).one()
    assert farmer.support_group is None and farmer.birth_year_only
    assert farmer.date_of_birth == date(1978, 1, 1)
    poorer = session.exec(select(Person).where(Person.bhxh_number == "2499050002")).one()
    assert poorer.support_group == "near_poor" and not poorer.birth_year_only

    # A later list giving the year alone does not blur the day already known.
    _import(session, _csv([rows[1].replace("12/03/1979", "1979")]))
    session.refresh(poorer)
    assert poorer.date_of_birth == date(1979, 3, 12) and not poorer.birth_year_only


def _households(session, canvasser_id: int) -> int:
    return session.exec(
        select(func.count()).where(Household.assigned_canvasser_id == canvasser_id)
    ).one()

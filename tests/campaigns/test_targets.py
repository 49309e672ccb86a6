"""Targets: form validation, scope, the villages' default, and the all-or-nothing sheet import."""

import io

import pytest
import xlsxwriter
from sqlmodel import select

from outreach.campaigns.targets import (
    Numbers,
    OutOfScope,
    TargetError,
    TargetImportError,
    clear_target,
    effective_target,
    import_targets,
    parse_count,
    set_target,
    targets_for,
)
from outreach.core.scope import scope_for
from outreach.models import Campaign, GeoUnit, Target, User
from outreach.models.codes import UnitKind


@pytest.fixture
def campaign(session):
    return session.exec(select(Campaign)).one()


def _scope(session, username):
    user = session.exec(select(User).where(User.username == username)).one()
    return scope_for(session, user)


def _commune(session, code):
    return session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.code == code)
    ).one()


def _villages(session, commune):
    return session.exec(
        select(GeoUnit)
        .where(GeoUnit.parent_id == commune.id, GeoUnit.kind == UnitKind.VILLAGE)
        .order_by(GeoUnit.id)
    ).all()


def _own(session, campaign, unit):
    rows = session.exec(
        select(Target).where(Target.campaign_id == campaign.id, Target.unit_id == unit.id)
    ).all()
    return [(t.new_participants, t.renewals) for t in rows]


def _other_commune(session, not_id):
    return session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id != not_id)
    ).first()


@pytest.mark.parametrize(
    ("value", "expected"), [("12", 12), (" 1.200 ", 1200), ("1 200", 1200), (0, 0), (7.0, 7)]
)
def test_counts_accept_whole_numbers_as_typed_in_vietnam(value, expected):
    assert parse_count(value, "Chỉ tiêu tham gia mới") == expected


@pytest.mark.parametrize("value", ["-3", -3, "1,5", "abc", "", None, True, 2.5, "99999999"])
def test_counts_reject_anything_else_with_a_vietnamese_message(value):
    with pytest.raises(TargetError) as error:
        parse_count(value, "Chỉ tiêu tham gia mới")
    assert "hỉ tiêu tham gia mới" in str(error.value)


def test_a_commune_leader_sets_targets_in_their_commune_only(session, campaign):
    scope = _scope(session, "lanhdao.07210")
    commune = _commune(session, "07210")
    village = _villages(session, commune)[0]
    set_target(
        session, campaign=campaign, unit=commune, new_participants="40", renewals="60", scope=scope
    )
    set_target(
        session, campaign=campaign, unit=village, new_participants=5, renewals=7, scope=scope
    )
    session.commit()
    assert _own(session, campaign, commune) == [(40, 60)]
    assert _own(session, campaign, village) == [(5, 7)]
    set_target(
        session, campaign=campaign, unit=commune, new_participants=41, renewals=0, scope=scope
    )
    session.commit()
    assert _own(session, campaign, commune) == [(41, 0)]  # updated, never duplicated

    other = _other_commune(session, commune.id)
    before = _own(session, campaign, other)
    with pytest.raises(OutOfScope):
        set_target(
            session, campaign=campaign, unit=other, new_participants=1, renewals=1, scope=scope
        )
    with pytest.raises(OutOfScope):
        set_target(
            session,
            campaign=campaign,
            unit=_villages(session, other)[0],
            new_participants=1,
            renewals=1,
            scope=scope,
        )
    session.rollback()
    assert _own(session, campaign, other) == before


def test_bad_numbers_and_wrong_kinds_change_nothing(session, campaign):
    scope = _scope(session, "lanhdao.tinh")
    commune = _commune(session, "07210")
    before = _own(session, campaign, commune)
    with pytest.raises(TargetError, match="số nguyên không âm"):
        set_target(
            session, campaign=campaign, unit=commune, new_participants="-1", renewals=3, scope=scope
        )
    with pytest.raises(TargetError, match="Chỉ tiêu đóng tiếp"):
        set_target(
            session, campaign=campaign, unit=commune, new_participants=1, renewals="x", scope=scope
        )
    province = session.get(GeoUnit, campaign.province_id)
    with pytest.raises(TargetError, match="xã, phường hoặc thôn"):
        set_target(
            session, campaign=campaign, unit=province, new_participants=1, renewals=1, scope=scope
        )
    session.rollback()
    assert _own(session, campaign, commune) == before


def test_a_commune_defaults_to_the_sum_of_its_villages_targets(session, campaign):
    scope = _scope(session, "lanhdao.07210")
    commune = _commune(session, "07210")
    own = effective_target(session, campaign=campaign, unit=commune)
    assert own is not None and own == Numbers(*_own(session, campaign, commune)[0])
    villages = _villages(session, commune)
    assert clear_target(session, campaign=campaign, unit=commune, scope=scope)
    session.commit()
    assert effective_target(session, campaign=campaign, unit=commune) is None
    set_target(
        session, campaign=campaign, unit=villages[0], new_participants=3, renewals=4, scope=scope
    )
    set_target(
        session, campaign=campaign, unit=villages[1], new_participants=10, renewals=0, scope=scope
    )
    session.commit()
    assert effective_target(session, campaign=campaign, unit=commune) == Numbers(13, 4)
    assert effective_target(session, campaign=campaign, unit=villages[2]) is None
    lines = targets_for(session, campaign=campaign, scope=scope)
    assert lines[0].unit.id == commune.id and lines[0].own is None
    assert lines[0].villages_set == 2 and lines[0].effective == Numbers(13, 4)
    assert {line.unit.id for line in lines[1:]} == {v.id for v in villages}
    # Its own target, once set, wins over the villages' sum.
    set_target(
        session, campaign=campaign, unit=commune, new_participants=1, renewals=1, scope=scope
    )
    session.commit()
    assert effective_target(session, campaign=campaign, unit=commune) == Numbers(1, 1)


def test_a_group_leader_sees_the_communes_of_the_group(session, campaign):
    scope = _scope(session, "lanhdao.cum")
    lines = targets_for(session, campaign=campaign, scope=scope)
    assert {line.unit.id for line in lines} == set(scope.commune_ids)
    outside = session.exec(
        select(GeoUnit.id).where(
            GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id.not_in(sorted(scope.commune_ids))
        )
    ).first()
    with pytest.raises(OutOfScope):
        targets_for(session, campaign=campaign, scope=scope, commune_id=outside)


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_import_by_code_and_by_name_with_villages(session, campaign):
    scope = _scope(session, "lanhdao.tinh")
    a, b = _commune(session, "07210"), _commune(session, "07795")
    village = _villages(session, a)[1]
    data = _csv(
        "Mã đơn vị,Chỉ tiêu tham gia mới,Chỉ tiêu đóng tiếp",
        "07210,100,200",
        f'{b.code},"1.500",0',
    )
    assert (
        import_targets(session, campaign=campaign, data=data, filename="ct.csv", scope=scope) == 2
    )
    session.commit()
    assert _own(session, campaign, a) == [(100, 200)] and _own(session, campaign, b) == [(1500, 0)]
    data = _csv(
        "BẢNG GIAO CHỈ TIÊU",
        "",
        '"Xã, phường",Thôn,Chỉ tiêu tham gia mới,Chỉ tiêu đóng tiếp',
        f"{a.name},{village.name},9,8",
        f"{b.name.split(' ', 1)[1].lower()},,11,12",
    )
    assert (
        import_targets(session, campaign=campaign, data=data, filename="ct.csv", scope=scope) == 2
    )
    session.commit()
    assert _own(session, campaign, village) == [(9, 8)]
    assert _own(session, campaign, b) == [(11, 12)]


def test_import_from_xlsx(session, campaign):
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Mã đơn vị", "Chỉ tiêu tham gia mới", "Chỉ tiêu đóng tiếp"])
    sheet.write_row(1, 0, ["07210", 33, 44])
    book.close()
    scope = _scope(session, "lanhdao.tinh")
    import_targets(session, campaign=campaign, data=out.getvalue(), filename="ct.xlsx", scope=scope)
    session.commit()
    assert _own(session, campaign, _commune(session, "07210")) == [(33, 44)]


def test_import_is_all_or_nothing_with_errors_by_row(session, campaign):
    scope = _scope(session, "lanhdao.07210")
    own = _commune(session, "07210")
    other = _other_commune(session, own.id)
    before = {u.id: _own(session, campaign, u) for u in (own, other)}
    data = _csv(
        "Mã đơn vị,Chỉ tiêu tham gia mới,Chỉ tiêu đóng tiếp",
        "07210,50,60",  # fine on its own
        f"{other.code},1,1",  # another commune
        "99999,1,1",  # no such unit
        "07210,-4,abc",  # a duplicate, and bad numbers
    )
    with pytest.raises(TargetImportError) as error:
        import_targets(session, campaign=campaign, data=data, filename="ct.csv", scope=scope)
    session.rollback()
    errors = error.value.errors
    assert errors[0].startswith("Dòng 3:") and "ngoài phạm vi" in errors[0]
    assert errors[1].startswith("Dòng 4:") and "99999" in errors[1]
    assert errors[2].startswith("Dòng 5:") and "dòng 2" in errors[2]
    assert len(errors) == 3
    assert {u.id: _own(session, campaign, u) for u in (own, other)} == before


def test_import_rejects_a_file_without_the_columns_or_unreadable(session, campaign):
    scope = _scope(session, "lanhdao.tinh")
    with pytest.raises(TargetImportError, match="Không tìm thấy dòng tiêu đề"):
        import_targets(
            session, campaign=campaign, data=_csv("Tên,Số", "a,1"), filename="x.csv", scope=scope
        )
    with pytest.raises(TargetImportError, match="chỉ nhận tệp"):
        import_targets(session, campaign=campaign, data=b"hello", filename="x.txt", scope=scope)
    with pytest.raises(TargetImportError, match="Dòng 2: .*tham gia mới"):
        import_targets(
            session,
            campaign=campaign,
            data=_csv("Mã đơn vị,Chỉ tiêu tham gia mới,Chỉ tiêu đóng tiếp", "07210,,5"),
            filename="x.csv",
            scope=scope,
        )


def test_a_sheet_naming_the_last_cell_is_refused_before_anything_is_expanded(
    session, campaign, monkeypatch
):
    """Issue 19 #4: 1.5 KB with a value at XFD1048576 made python-calamine allocate 512 GiB and
    killed the worker, on every upload, for any leader. The sheet is now read by the bounded
    reader, and refused by the cell's name. python-calamine is forbidden here: a regression
    raises instead of killing the test process."""
    import python_calamine

    from outreach.campaigns import targets
    from tests.imports.reading import hostile

    def refuse(*args, **kwargs):
        raise AssertionError("python-calamine reached")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", refuse)
    scope = _scope(session, "lanhdao.tinh")
    commune = _commune(session, "07210")
    before = _own(session, campaign, commune)
    for data, name in ((hostile.far_cell_xlsx(), "ct.xlsx"), (hostile.far_cell_xlsx(), "ct.xls")):
        with pytest.raises(TargetImportError, match="có dữ liệu ở ô XFD1048576"):
            import_targets(session, campaign=campaign, data=data, filename=name, scope=scope)
    session.rollback()
    assert _own(session, campaign, commune) == before
    monkeypatch.setattr(targets, "MAX_SHEET_ROWS", 3)  # and no sheet is read without end
    data = _csv("Mã đơn vị,Chỉ tiêu tham gia mới,Chỉ tiêu đóng tiếp", "07210,1,2", "", "", "")
    with pytest.raises(TargetImportError, match="Tệp quá dài \\(hơn 3 dòng\\)"):
        import_targets(session, campaign=campaign, data=data, filename="ct.csv", scope=scope)

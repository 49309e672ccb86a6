"""Villages: rename, merge and move, each all-or-nothing, audited, with history left in place."""

from datetime import date

import pytest
from sqlmodel import func, select

from outreach.geography import villages
from outreach.geography.spelling import village_key
from outreach.geography.villages import VillageError
from outreach.models import (
    AuditLog,
    GeoUnit,
    Household,
    Person,
    PriorityRefresh,
    User,
    Visit,
)


def _admin(session):
    return session.exec(select(User).where(User.username == "admin")).one()


def _commune(session, code="07210"):
    return session.exec(
        select(GeoUnit).where(GeoUnit.kind == "commune", GeoUnit.code == code)
    ).one()


def _rural_commune(session):
    return session.exec(
        select(GeoUnit)
        .where(GeoUnit.kind == "commune", GeoUnit.type_name == "Xã")
        .order_by(GeoUnit.id)
    ).first()


def _busiest(session, commune):
    rows = villages.villages_of(session, commune_id=commune.id)
    return [r.village for r in sorted(rows, key=lambda r: -r.households)]


def _households_in(session, village_id):
    return set(session.exec(select(Household.id).where(Household.village_id == village_id)).all())


def _audits(session, action):
    return session.exec(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
    ).one()


def test_villages_of_counts_households(session):
    commune = _commune(session)
    rows = villages.villages_of(session, commune_id=commune.id)
    for row in rows:
        assert row.households == len(_households_in(session, row.village.id))
    assert (
        sum(r.households for r in rows)
        == session.exec(
            select(func.count())
            .select_from(Household)
            .where(Household.commune_id == commune.id, Household.village_id.is_not(None))
        ).one()
    )


def test_rename_updates_the_name_and_its_key(session):
    village = _busiest(session, _commune(session))[0]
    province_id = village.province_id
    villages.rename_village(
        session,
        village_id=village.id,
        name="  Thôn   Đồng Tâm ",
        province_id=province_id,
        by_user=_admin(session),
    )
    session.commit()
    session.expire_all()
    renamed = session.get(GeoUnit, village.id)
    assert (
        renamed.name == "Thôn Đồng Tâm"
        and renamed.name_key == village_key("Thôn Đồng Tâm") == "dongtam"
    )
    assert _audits(session, "village_renamed") == 1


@pytest.mark.parametrize(
    ("name", "message"), [("  ", "Hãy nhập"), ("x" * 201, "tối đa 200"), ("!!!", "chữ hoặc số")]
)
def test_bad_rename_changes_nothing(session, name, message):
    village = _busiest(session, _commune(session))[0]
    old = village.name
    with pytest.raises(VillageError, match=message):
        villages.rename_village(
            session, village_id=village.id, name=name, province_id=village.province_id
        )
    session.rollback()
    session.expire_all()
    assert session.get(GeoUnit, village.id).name == old and _audits(session, "village_renamed") == 0


def test_rename_to_a_siblings_name_is_refused(session):
    first, second = _busiest(session, _commune(session))[:2]
    with pytest.raises(VillageError, match="gộp hai thôn"):
        villages.rename_village(
            session, village_id=first.id, name=second.name.upper(), province_id=first.province_id
        )


def test_rename_of_a_commune_is_refused(session):
    commune = _commune(session)
    with pytest.raises(VillageError, match="Không tìm thấy thôn"):
        villages.rename_village(
            session, village_id=commune.id, name="Thôn X", province_id=commune.province_id
        )


def test_merge_moves_households_and_removes_the_merged(session):
    commune = _commune(session)
    a, b, into = _busiest(session, commune)[:3]
    into_id, a_id, b_id = into.id, a.id, b.id
    from_a, from_b = _households_in(session, a_id), _households_in(session, b_id)
    expected = _households_in(session, into_id) | from_a | from_b
    moved = villages.merge_villages(
        session,
        into_id=into_id,
        from_ids=[a_id, b_id, into_id],
        province_id=commune.province_id,
        by_user=_admin(session),
    )
    session.commit()
    session.expire_all()
    assert moved == len(from_a) + len(from_b) > 0
    assert _households_in(session, into_id) == expected
    remaining = set(session.exec(select(GeoUnit.id).where(GeoUnit.id.in_([a_id, b_id]))).all())
    assert remaining == set()
    assert _audits(session, "villages_merged") == 1


def test_merge_across_communes_changes_nothing(session):
    here = _busiest(session, _commune(session))
    there = _busiest(session, _rural_commune(session))
    before = _households_in(session, here[1].id)
    with pytest.raises(VillageError, match="cùng một xã"):
        villages.merge_villages(
            session,
            into_id=here[0].id,
            from_ids=[here[1].id, there[0].id],
            province_id=here[0].province_id,
        )
    session.rollback()
    session.expire_all()
    assert _households_in(session, here[1].id) == before
    assert session.exec(select(GeoUnit.id).where(GeoUnit.id == there[0].id)).first() is not None
    with pytest.raises(VillageError, match="ít nhất một thôn"):
        villages.merge_villages(
            session, into_id=here[0].id, from_ids=[here[0].id], province_id=here[0].province_id
        )


def test_move_takes_households_and_persons_but_not_history(session):
    source = _commune(session)
    target = _rural_commune(session)
    village = _busiest(session, source)[0]
    village_id = village.id
    household_ids = _households_in(session, village_id)
    assert household_ids
    person_ids = set(
        session.exec(select(Person.id).where(Person.household_id.in_(household_ids))).all()
    )
    visit_communes = {
        v.id: v.commune_id
        for v in session.exec(select(Visit).where(Visit.household_id.in_(household_ids))).all()
    }
    for commune_id in (source.id, target.id):
        session.merge(PriorityRefresh(commune_id=commune_id, refreshed_on=date(2026, 11, 22)))
    session.commit()
    moved = villages.move_village(
        session,
        village_id=village_id,
        to_commune_id=target.id,
        province_id=source.province_id,
        by_user=_admin(session),
    )
    session.commit()
    session.expire_all()
    assert moved == len(household_ids)
    households = session.exec(select(Household).where(Household.id.in_(household_ids))).all()
    assert {h.commune_id for h in households} == {target.id}
    assert {h.assigned_canvasser_id for h in households} == {None}
    persons = session.exec(select(Person).where(Person.id.in_(person_ids))).all()
    assert {p.commune_id for p in persons} == {target.id}
    visits = session.exec(select(Visit).where(Visit.household_id.in_(household_ids))).all()
    assert {v.id: v.commune_id for v in visits} == visit_communes
    moved_village = session.get(GeoUnit, village_id)
    assert moved_village.parent_id == target.id and moved_village.code.startswith(target.code + "-")
    assert (
        session.exec(
            select(PriorityRefresh).where(PriorityRefresh.commune_id.in_([source.id, target.id]))
        ).all()
        == []
    )
    assert _audits(session, "village_moved") == 1


def test_bad_moves_change_nothing(session):
    source = _commune(session)
    village = _busiest(session, source)[0]
    households = _households_in(session, village.id)
    other_ward = session.exec(
        select(GeoUnit).where(
            GeoUnit.kind == "commune", GeoUnit.type_name == "Phường", GeoUnit.id != source.id
        )
    ).first()
    for to_id, message in [
        (source.id, "đã thuộc"),
        (village.id, "Không tìm thấy xã"),
        (other_ward.id, "hãy đổi tên"),
    ]:
        with pytest.raises(VillageError, match=message):
            villages.move_village(
                session, village_id=village.id, to_commune_id=to_id, province_id=source.province_id
            )
        session.rollback()
    session.expire_all()
    assert session.get(GeoUnit, village.id).parent_id == source.id
    assert {
        h.commune_id for h in session.exec(select(Household).where(Household.id.in_(households)))
    } == {source.id}
    assert _audits(session, "village_moved") == 0

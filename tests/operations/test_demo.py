"""The demo province is realistic, complete and deterministic."""

import hashlib
from datetime import UTC

import phonenumbers
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.lists import ListCategory
from outreach.db import make_engine
from outreach.migrate import upgrade
from outreach.models import Campaign, GeoUnit, Household, Person, Target, User, Visit, VisitOutcome
from outreach.models.codes import Outcome, Role, UnitKind
from outreach.operations.demo import DemoError, build_demo
from outreach.worklist.priority import list_categories
from tests.conftest import DEMO_PERSONS, DEMO_TODAY


def test_counts_geography_and_users(session):
    assert session.exec(select(func.count()).select_from(Person)).one() == DEMO_PERSONS
    communes = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE)).all()
    assert len(communes) == 99
    villages = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.VILLAGE)).all()
    assert villages and all(v.parent_id in {c.id for c in communes} for v in villages)
    roles = dict(session.exec(select(User.role, func.count()).group_by(User.role)).all())
    assert roles[Role.ADMIN] == 1 and roles[Role.MEDIA] == 1
    assert roles[Role.CANVASSER] >= 2 * 99 and roles[Role.LEADER] >= 99
    organizations = {
        u.organization.split(" ")[0]
        for u in session.exec(select(User).where(User.role == Role.CANVASSER))
    }
    assert organizations == {"Bưu", "UBND"}  # post-office and commune staff


def test_every_list_category_and_lapse_by_every_frequency_is_present(session):
    seen: set = set()
    lapsed_frequencies: set = set()
    for p in session.exec(select(Person)):
        categories = list_categories(
            today=DEMO_TODAY,
            is_participant=p.is_participant,
            paid_through=p.paid_through,
            payment_frequency=p.payment_frequency,
            benefit_start=p.benefit_start,
            benefit_end=p.benefit_end,
            reserved_months=p.reserved_months,
            is_potential=p.is_potential,
        )
        seen |= categories
        if ListCategory.LAPSED in categories:
            lapsed_frequencies.add(p.payment_frequency)
    assert seen == set(ListCategory)
    assert lapsed_frequencies == {1, 3, 6, 12}


def test_identifiers_and_phones_are_valid(session):
    persons = session.exec(select(Person)).all()
    bhxh = [p.bhxh_number for p in persons if p.bhxh_number]
    assert bhxh and all(len(n) == 10 and n.isdigit() for n in bhxh) and len(set(bhxh)) == len(bhxh)
    ids = [p.citizen_id for p in persons]
    assert len(set(ids)) == len(ids)
    assert all(
        (len(i) == 12) != p.citizen_id_is_legacy and i.isdigit()
        for i, p in zip(ids, persons, strict=True)
    )
    phones = [p.phone for p in persons if p.phone] + [
        h.phone for h in session.exec(select(Household)) if h.phone
    ]
    assert phones and all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in phones)
    assert all(len(p.full_name.split()) >= 3 for p in persons)


def test_campaign_targets_and_visit_history(session):
    campaign = session.exec(select(Campaign)).one()
    assert campaign.starts_on <= DEMO_TODAY <= campaign.ends_on
    assert (
        session.exec(select(func.count()).select_from(Target)).one() == 100
    )  # 99 communes + province
    visits = session.exec(select(func.count()).select_from(Visit)).one()
    assert visits > DEMO_PERSONS  # about two per person
    outcomes = set(session.exec(select(VisitOutcome.outcome).distinct()).all())
    assert outcomes == {o.value for o in Outcome}
    # Visits are within the campaign and never in the future; households know their last visit.
    first, last = session.exec(select(func.min(Visit.visited_at), func.max(Visit.visited_at))).one()
    assert first.date() >= campaign.starts_on and last.date() <= DEMO_TODAY
    visited = session.exec(
        select(func.count()).select_from(Household).where(Household.last_visit_at.is_not(None))
    ).one()
    assert visited == session.exec(select(func.count(func.distinct(Visit.household_id)))).one()


def _fingerprint(url: str) -> str:
    engine = make_engine(url)
    with Session(engine) as s:
        rows = s.exec(
            select(
                Person.full_name, Person.bhxh_number, Person.phone, Person.paid_through
            ).order_by(Person.id)
        ).all()
        visits = s.exec(select(Visit.client_uuid, Visit.visited_at).order_by(Visit.id)).all()
    engine.dispose()
    return hashlib.sha256(repr((rows, visits)).encode()).hexdigest()


def test_same_seed_same_province(databases, db_url):
    other = databases.empty()
    upgrade(other)
    engine = make_engine(other)
    with Session(engine, expire_on_commit=False) as s:
        build_demo(s, persons=DEMO_PERSONS, seed=7, today=DEMO_TODAY)
    engine.dispose()
    assert _fingerprint(other) == _fingerprint(db_url)


def test_demo_refuses_a_database_that_has_data(session):
    with pytest.raises(DemoError, match="đã có dữ liệu"):
        build_demo(session, persons=300, seed=1, today=DEMO_TODAY)


def test_a_second_province_beside_the_first(session):
    """A country-scale demo: Hà Nội beside Bắc Ninh, with its own province-wide accounts; a
    province is built only once."""
    report = build_demo(
        session, persons=300, seed=2, today=DEMO_TODAY, province_code="01", beside_others=True
    )
    hanoi = session.exec(select(GeoUnit).where(GeoUnit.code == "01")).one()
    households = select(func.count()).select_from(Household)
    assert session.exec(households.where(Household.province_id == hanoi.id)).one() > 0
    assert report.persons == 300
    admins = session.exec(select(User).where(User.username.in_(["admin", "admin.01"]))).all()
    assert {u.username: u.scope_unit_id for u in admins}["admin.01"] == hanoi.id
    assert len(admins) == 2  # Bắc Ninh's admin is still there
    with pytest.raises(DemoError, match="01 đã có dữ liệu mẫu"):
        build_demo(
            session, persons=300, seed=3, today=DEMO_TODAY, province_code="01", beside_others=True
        )
    with pytest.raises(DemoError, match="24 đã có dữ liệu mẫu"):
        build_demo(session, persons=300, seed=3, today=DEMO_TODAY, beside_others=True)


def test_the_demo_holds_the_rules_of_a_new_participant(session):
    """No person is new twice in the campaign, nor while paid through the visit's day; no
    receipt number is recorded twice in the province (the rules record_visit enforces)."""
    campaign = session.exec(select(Campaign)).one()
    paid_through = dict(session.exec(select(Person.id, Person.paid_through)).all())
    new: dict[int, int] = {}
    receipts: dict[tuple[int, str], int] = {}
    for o in session.exec(select(VisitOutcome)).all():
        day = (
            (o.visited_at if o.visited_at.tzinfo else o.visited_at.replace(tzinfo=UTC))
            .astimezone(VIETNAM)
            .date()
        )
        if o.outcome == Outcome.ENROLLED_NEW and campaign.starts_on <= day <= campaign.ends_on:
            new[o.person_id] = new.get(o.person_id, 0) + 1
            covered = paid_through[o.person_id]
            assert covered is None or covered < day, (o.person_id, covered, day)
        if o.receipt_number:
            key = (o.province_id, o.receipt_number)
            receipts[key] = receipts.get(key, 0) + 1
    assert new and max(new.values()) == 1
    assert receipts and max(receipts.values()) == 1

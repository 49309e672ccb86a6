"""Syncing offline visits: items checked field by field, replays never stored twice, scope kept."""

import math
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.scope import scope_for
from outreach.models import DailyTally, GeoUnit, Household, Person, User, Visit, VisitOutcome
from outreach.models.codes import UnitKind
from outreach.visits import sync as sync_module
from outreach.visits.contract import OutcomeItem, VisitItem
from outreach.visits.service import record_visit
from outreach.visits.sync import (
    MAX_BATCH,
    ItemStatus,
    SyncItemError,
    parse_item,
    scope_token,
    sync_visits,
    token_allows,
)
from tests.conftest import DEMO_TODAY

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
VISITED_AT = "2026-11-22T09:15:00+07:00"
SECRET = "sync-test-secret"
OUT_OF_SCOPE = "Hộ này không thuộc phạm vi của bạn."


# --- fixtures and helpers -------------------------------------------------------------------------


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


@pytest.fixture
def canvasser(session):
    return _user(session, "canbo.07210.1")


@pytest.fixture
def colleague(session):
    return _user(session, "canbo.07210.2")


def _households_with_members(session, *where, limit: int) -> list[tuple[Household, list[Person]]]:
    found = []
    for h in session.exec(select(Household).where(*where).order_by(Household.id)):
        members = session.exec(
            select(Person).where(Person.household_id == h.id).order_by(Person.id)
        ).all()
        if members:
            found.append((h, list(members)))
        if len(found) == limit:
            break
    assert len(found) == limit, "the demo has too few households for this test"
    return found


@pytest.fixture
def mine(session, canvasser):
    """Households of the canvasser's commune, with their members."""
    return _households_with_members(
        session, Household.commune_id == canvasser.scope_unit_id, limit=3
    )


@pytest.fixture
def foreign(session, canvasser):
    """Households of other communes of the same province (out of the canvasser's scope)."""
    return _households_with_members(
        session, Household.commune_id != canvasser.scope_unit_id, limit=3
    )


def item(household, members, *, key: str | None = None, **fields) -> dict:
    """A well-formed JSON visit (as the phone sends it) to one household."""
    body = {
        "client_uuid": key or str(uuid.uuid4()),
        "household_id": household.id,
        "channel": "home",
        "visited_at": VISITED_AT,
        "outcomes": [{"person_id": members[0].id, "outcome": "not_home"}],
        "note": "Gặp hàng xóm, hẹn quay lại.",
        "latitude": 21.27,
        "longitude": 106.19,
        "accuracy_m": 12,
    }
    body.update(fields)
    return body


def _sync(session, user, items):
    return sync_visits(
        session,
        canvasser=user,
        scope=scope_for(session, user),
        items=items,
        today=DEMO_TODAY,
        now=NOW,
        secret=SECRET,
    )


def _visit_count(session) -> int:
    return session.exec(select(func.count()).select_from(Visit)).one()


def _visits_with(session, keys) -> list[Visit]:
    return list(session.exec(select(Visit).where(Visit.client_uuid.in_(list(keys)))))


# --- parse_item -----------------------------------------------------------------------------------


def test_a_good_item_parses_into_a_visit_input(mine):
    h, members = mine[0]
    key = str(uuid.uuid4())
    raw = item(
        h,
        members,
        key=key.upper(),
        outcomes=[
            {
                "person_id": members[0].id,
                "outcome": "promised",
                "follow_up_on": "2026-11-30",
                "amount": 792_000,
                "receipt_number": None,
            }
        ],
        latitude=21,
        note=None,
    )
    data = parse_item(raw)
    assert data.client_uuid == key  # canonical lowercase, as stored
    assert data.household_id == h.id and data.channel == "home"
    assert data.visited_at == datetime(2026, 11, 22, 2, 15, tzinfo=UTC)
    assert data.note == "" and data.latitude == 21.0 and isinstance(data.latitude, float)
    (outcome,) = data.outcomes
    assert (outcome.person_id, outcome.outcome, outcome.follow_up_on, outcome.amount) == (
        members[0].id,
        "promised",
        date(2026, 11, 30),
        792_000,
    )


def test_a_z_suffix_is_a_time_zone():
    raw = item(Household(id=1), [Person(id=2)], visited_at="2026-11-22T02:15:00Z")
    assert parse_item(raw).visited_at == datetime(2026, 11, 22, 2, 15, tzinfo=UTC)


GOOD = item(Household(id=1), [Person(id=2)])


def _with(**fields) -> dict:
    return {**GOOD, **fields}


def _without(field: str) -> dict:
    return {k: v for k, v in GOOD.items() if k != field}


def _outcome(**fields) -> dict:
    return _with(outcomes=[{"person_id": 2, "outcome": "promised", **fields}])


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        (42, "item", "đối tượng JSON"),
        ([GOOD], "item", "đối tượng JSON"),
        (None, "item", "đối tượng JSON"),
        (_without("client_uuid"), "client_uuid", "Thiếu mã lượt thăm"),
        (_with(client_uuid="1234"), "client_uuid", "phải là UUID"),
        (_with(client_uuid=12345), "client_uuid", "phải là UUID"),
        (_without("household_id"), "household_id", "Thiếu mã hộ"),
        (_with(household_id="1"), "household_id", "số nguyên dương"),
        (_with(household_id=1.0), "household_id", "số nguyên dương"),
        (_with(household_id=True), "household_id", "số nguyên dương"),
        (_with(household_id=0), "household_id", "số nguyên dương"),
        (_with(household_id=2**31), "household_id", "số nguyên dương"),
        (_with(channel=1), "channel", "hình thức"),
        (_without("visited_at"), "visited_at", "Thiếu thời gian thăm"),
        (_with(visited_at="2026-11-22T09:15:00"), "visited_at", "múi giờ"),
        (_with(visited_at="22/11/2026 09:15"), "visited_at", "ISO 8601"),
        (_with(visited_at="2026-11-22"), "visited_at", "múi giờ"),
        (_with(visited_at=1763780100), "visited_at", "ISO 8601"),
        (_with(visited_at="0001-01-01T00:00:00+05:00"), "visited_at", "không hợp lệ"),
        (_with(outcomes={"person_id": 2}), "outcomes", "danh sách"),
        (_with(outcomes=[{}] * 51), "outcomes", "Tối đa 50"),
        (_with(outcomes=[7]), "outcomes[0]", "đối tượng JSON"),
        (_with(outcomes=[{"outcome": "moved"}]), "outcomes[0].person_id", "Thiếu mã người"),
        (_with(outcomes=[{"person_id": "2", "outcome": "moved"}]), "outcomes[0].person_id", "Mã"),
        (_with(outcomes=[{"person_id": 2, "outcome": 3}]), "outcomes[0].outcome", "Kết quả"),
        (_outcome(follow_up_on="30/11/2026"), "outcomes[0].follow_up_on", "YYYY-MM-DD"),
        (_outcome(follow_up_on="2026-02-30"), "outcomes[0].follow_up_on", "YYYY-MM-DD"),
        (_outcome(follow_up_on="20261130"), "outcomes[0].follow_up_on", "YYYY-MM-DD"),
        (_outcome(amount=1.5), "outcomes[0].amount", "Số tiền"),
        (_outcome(amount=-1), "outcomes[0].amount", "Số tiền"),
        (_outcome(amount=10**12), "outcomes[0].amount", "Số tiền"),
        (_outcome(months_paid="3"), "outcomes[0].months_paid", "Số tháng"),
        (_outcome(refusal_reason=["no_money"]), "outcomes[0].refusal_reason", "Lý do"),
        (_outcome(receipt_number="B" * 41), "outcomes[0].receipt_number", "Tối đa 40"),
        (_with(note="x" * 2001), "note", "tối đa 2000"),
        (_with(note="a\x00b"), "note", "hợp lệ"),
        (_with(note="\ud800"), "note", "hợp lệ"),
        (_with(note=["ghi chú"]), "note", "hợp lệ"),
        (_with(latitude=math.nan), "latitude", "Vĩ độ"),
        (_with(latitude=math.inf), "latitude", "Vĩ độ"),
        (_with(latitude=91), "latitude", "Vĩ độ"),
        (_with(latitude="21.2"), "latitude", "Vĩ độ"),
        (_with(latitude=10**400), "latitude", "Vĩ độ"),
        (_with(longitude=False), "longitude", "Kinh độ"),
        (_with(accuracy_m=-1), "accuracy_m", "Độ chính xác"),
        (_with(scope_token=5), "scope_token", "Mã phạm vi"),
        (_with(scope_token="t" * 501), "scope_token", "Mã phạm vi"),
    ],
)
def test_bad_items_name_the_field_in_vietnamese(raw, key, message):
    with pytest.raises(SyncItemError) as caught:
        parse_item(raw)
    assert key in caught.value.errors, caught.value.errors
    assert message in caught.value.errors[key]


def test_every_bad_field_is_reported_at_once():
    raw = _with(client_uuid="x", household_id=-1, channel=None, visited_at="hôm qua", outcomes=3)
    with pytest.raises(SyncItemError) as caught:
        parse_item(raw)
    assert set(caught.value.errors) == {
        "client_uuid",
        "household_id",
        "channel",
        "visited_at",
        "outcomes",
    }


def test_every_field_of_the_contract_has_its_own_message():
    generic = "Giá trị không hợp lệ."
    for name in VisitItem.model_fields:
        with pytest.raises(SyncItemError) as caught:
            parse_item(_with(**{name: {"sai": 1}}))
        assert caught.value.errors[name] != generic, name
    for name in OutcomeItem.model_fields:
        with pytest.raises(SyncItemError) as caught:
            parse_item(_outcome(**{name: {"sai": 1}}))
        assert caught.value.errors[f"outcomes[0].{name}"] != generic, name


def test_an_enum_or_an_empty_list_the_service_would_refuse_is_refused_with_its_message():
    # Checked by the contract (so the document lists the values), with the service's messages.
    cases = [
        (_with(channel="bay"), "channel", "Hãy chọn hình thức: đến nhà, gọi điện hoặc họp."),
        (_with(outcomes=[]), "outcomes", "Hãy ghi kết quả cho ít nhất một người đã gặp."),
        (_outcome(outcome="bogus"), "outcomes[0].outcome", "Kết quả không hợp lệ."),
    ]
    for raw, key, message in cases:
        with pytest.raises(SyncItemError) as caught:
            parse_item(raw)
        assert caught.value.errors == {key: message}
    # A refusal reason is checked against the list only for a refusal (by the service), as before.
    assert parse_item(_outcome(outcome="not_home", refusal_reason="khác")).outcomes


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", "2026-11-22T09:15:00+07:00", "2026-11-30", str(uuid.uuid4())]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
FIELDS = [*GOOD, "scope_token", "outcomes[0]"]


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(
        json_values,
        st.tuples(st.sampled_from(FIELDS), json_values),
        st.tuples(
            st.sampled_from(["person_id", "outcome", "follow_up_on", "amount", "months_paid"]),
            json_values,
        ).map(lambda kv: ("outcome", kv)),
    )
)
def test_parse_item_only_ever_raises_sync_item_error(raw):
    if isinstance(raw, tuple) and raw[0] == "outcome":
        name, value = raw[1]
        raw = _with(outcomes=[{"person_id": 2, "outcome": "not_home", name: value}])
    elif isinstance(raw, tuple):
        name, value = raw
        raw = _with(outcomes=[value]) if name == "outcomes[0]" else _with(**{name: value})
    try:
        data = parse_item(raw)
    except SyncItemError as error:
        assert error.errors and all(isinstance(m, str) and m for m in error.errors.values())
    else:
        assert uuid.UUID(data.client_uuid) and data.visited_at.tzinfo is not None


# --- the scope token ------------------------------------------------------------------------------


def _token_dated(monkeypatch, *, days_ago: int, **ids) -> str:
    then = int(time.time()) - days_ago * 86400
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda _self: then)
        return scope_token(secret=SECRET, **ids)


def test_a_token_proves_this_canvasser_and_this_household_only():
    token = scope_token(secret=SECRET, canvasser_id=3, household_id=40)
    assert token_allows(secret=SECRET, token=token, canvasser_id=3, household_id=40)
    assert not token_allows(secret=SECRET, token=token, canvasser_id=4, household_id=40)
    assert not token_allows(secret=SECRET, token=token, canvasser_id=3, household_id=41)
    assert not token_allows(secret="another key", token=token, canvasser_id=3, household_id=40)
    body, signature = token.rsplit(".", 1)
    forged = f"{body}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    assert not token_allows(secret=SECRET, token=forged, canvasser_id=3, household_id=40)
    for junk in (None, "", 12, "abc.def.ghi", ["x"], "x" * 600):
        assert not token_allows(secret=SECRET, token=junk, canvasser_id=3, household_id=40)


def test_a_token_lasts_thirty_days(monkeypatch):
    ids = {"canvasser_id": 3, "household_id": 40}
    recent = _token_dated(monkeypatch, days_ago=29, **ids)
    old = _token_dated(monkeypatch, days_ago=31, **ids)
    assert token_allows(secret=SECRET, token=recent, **ids)
    assert not token_allows(secret=SECRET, token=old, **ids)
    assert token_allows(secret=SECRET, token=old, max_age_days=40, **ids)


@settings(max_examples=200, deadline=None)
@given(token=st.one_of(st.text(max_size=120), json_values))
def test_a_random_token_allows_nothing_and_never_raises(token):
    real = scope_token(secret=SECRET, canvasser_id=3, household_id=40)
    assert token_allows(secret=SECRET, token=token, canvasser_id=3, household_id=40) is (
        token == real
    )


# --- sync_visits ----------------------------------------------------------------------------------


def test_a_new_batch_is_stored_and_sending_it_again_stores_nothing(session, canvasser, mine):
    batch = [item(h, members) for h, members in mine[:3]]
    before = _visit_count(session)
    first = _sync(session, canvasser, batch)
    assert [r.status for r in first] == [ItemStatus.STORED] * 3
    assert [r.client_uuid for r in first] == [i["client_uuid"] for i in batch]
    assert all(r.visit_id and not r.errors and not r.out_of_scope for r in first)
    assert _visit_count(session) == before + 3
    stored = {v.client_uuid: v for v in _visits_with(session, [i["client_uuid"] for i in batch])}
    assert {stored[i["client_uuid"]].household_id for i in batch} == {h.id for h, _ in mine[:3]}
    assert all(v.canvasser_id == canvasser.id and v.note for v in stored.values())

    again = _sync(session, canvasser, batch)
    assert [r.status for r in again] == [ItemStatus.DUPLICATE] * 3
    assert [r.visit_id for r in again] == [r.visit_id for r in first]
    assert _visit_count(session) == before + 3


def test_the_same_uuid_twice_in_one_batch_is_stored_once(session, canvasser, mine):
    h, members = mine[0]
    one = item(h, members)
    before = _visit_count(session)
    results = _sync(session, canvasser, [one, dict(one)])
    assert [r.status for r in results] == [ItemStatus.STORED, ItemStatus.DUPLICATE]
    assert results[0].visit_id == results[1].visit_id and _visit_count(session) == before + 1


def _renewal(person_id: int) -> dict:
    return {"person_id": person_id, "outcome": "renewed", "months_paid": 3, "amount": 990_000}


def test_the_same_uuid_with_other_content_is_a_conflict_never_a_duplicate(session, canvasser, mine):
    """Issue 19 #17: any other content under a stored UUID (a payment's amount, the time, the
    note…) was answered "duplicate" unless the outcome codes differed, and the phone dropped it."""
    h, members = mine[0]
    first = item(h, members, outcomes=[_renewal(members[0].id)])
    (stored,) = _sync(session, canvasser, [first])
    assert stored.status == ItemStatus.STORED
    others = [
        {**first, "outcomes": [{"person_id": members[0].id, "outcome": "moved"}]},
        {**first, "outcomes": [{**_renewal(members[0].id), "amount": 1_980_000}]},
        {**first, "outcomes": [{**_renewal(members[0].id), "months_paid": 6}]},
        {**first, "outcomes": [{**_renewal(members[0].id), "receipt_number": "BL-1"}]},
        {**first, "visited_at": "2026-11-21T09:15:00+07:00"},
        {**first, "note": "Hộ khác hẳn."},
        {**first, "latitude": 21.5},
        {**first, "channel": "phone"},
    ]
    before = _visit_count(session)
    results = _sync(session, canvasser, others)
    assert [r.status for r in results] == [ItemStatus.CONFLICT] * len(others)
    for result in results:
        assert result.visit_id is None and set(result.errors) == {"client_uuid"}
        assert "vẫn được giữ trên máy" in result.errors["client_uuid"]
    assert sync_module.counts(results) == {
        "stored": 0,
        "duplicates": 0,
        "rejected": len(others),
        "conflicts": len(others),
    }
    assert _visit_count(session) == before
    (visit,) = _visits_with(session, [first["client_uuid"]])
    outcomes = session.exec(select(VisitOutcome).where(VisitOutcome.visit_id == visit.id)).all()
    assert [(o.outcome, o.amount) for o in outcomes] == [("renewed", 990_000)]
    # The same content in another spelling (of the UUID, the time zone) is the same visit.
    same = {**first, "client_uuid": first["client_uuid"].upper()}
    same["visited_at"] = "2026-11-22T02:15:00Z"
    (again,) = _sync(session, canvasser, [same])
    assert again.status == ItemStatus.DUPLICATE and again.visit_id == stored.visit_id


def test_an_honest_resend_is_a_duplicate_whatever_the_outcome_ignored(session, canvasser, mine):
    """A stored outcome keeps a refusal reason, a follow-up date, an amount or a receipt only when
    its code uses them: a resend that carried them anyway is the same visit, not a conflict."""
    h, members = mine[0]
    extras = {
        "refusal_reason": "no_money",
        "follow_up_on": "2026-11-30",
        "amount": 50_000,
        "months_paid": 2,
        "receipt_number": "BL-9",
    }
    sent = item(
        h, members, outcomes=[{"person_id": members[0].id, "outcome": "not_home", **extras}]
    )
    first, again = _sync(session, canvasser, [sent, dict(sent)])
    assert first.status == ItemStatus.STORED
    assert again.status == ItemStatus.DUPLICATE and again.visit_id == first.visit_id
    (outcome,) = session.exec(
        select(VisitOutcome).where(VisitOutcome.visit_id == first.visit_id)
    ).all()
    assert (outcome.refusal_reason, outcome.follow_up_on, outcome.amount) == (None, None, None)


def test_a_bad_item_does_not_stop_the_others(session, canvasser, mine):
    (h, members), (h2, members2) = mine[:2]
    good, good2 = item(h, members), item(h2, members2)
    bad = item(h, members, visited_at="hôm qua")
    past_promise = item(
        h2,
        members2,
        outcomes=[
            {"person_id": members2[0].id, "outcome": "promised", "follow_up_on": "2020-01-01"}
        ],
    )
    before = _visit_count(session)
    results = _sync(session, canvasser, [good, "rác", bad, past_promise, good2])
    assert [r.status for r in results] == [
        ItemStatus.STORED,
        ItemStatus.REJECTED,
        ItemStatus.REJECTED,
        ItemStatus.REJECTED,
        ItemStatus.STORED,
    ]
    assert results[1].client_uuid is None and "item" in results[1].errors
    assert results[2].client_uuid == bad["client_uuid"] and "visited_at" in results[2].errors
    assert "từ hôm nay trở đi" in results[3].errors[f"person_{members2[0].id}"]
    assert _visit_count(session) == before + 2
    assert not _visits_with(session, [bad["client_uuid"], past_promise["client_uuid"]])


def _tallies(session) -> dict:
    return {(t.commune_id, t.day, t.metric): t.count for t in session.exec(select(DailyTally))}


def test_a_visit_older_than_the_offline_window_counts_on_the_day_it_arrived(
    session, canvasser, mine
):
    """Issue 19 #15: a visit dated back to 2000 (a payment too) was counted in 2000. One older than
    the window is stored, counted on the day it arrived and flagged late; none is lost."""
    (h, members), (h2, members2), (h3, members3) = mine[:3]
    arrived = NOW.astimezone(VIETNAM).date()
    in_2000 = item(h, members, visited_at="2000-01-05T09:00:00+07:00")
    paid = item(
        h2,
        members2,
        visited_at=(NOW - timedelta(days=20)).isoformat(),
        outcomes=[
            {"person_id": members2[0].id, "outcome": "renewed", "months_paid": 3, "amount": 990_000}
        ],
    )
    recent = item(h3, members3, visited_at=(NOW - timedelta(days=3)).isoformat())
    before = _tallies(session)
    results = _sync(session, canvasser, [in_2000, paid, recent])
    assert [r.status for r in results] == [ItemStatus.STORED] * 3
    counted = {
        v.client_uuid: v.counted_on
        for v in _visits_with(session, [i["client_uuid"] for i in (in_2000, paid, recent)])
    }
    assert counted == {
        in_2000["client_uuid"]: arrived,
        paid["client_uuid"]: arrived,
        recent["client_uuid"]: None,  # within the window: its own day
    }
    after = _tallies(session)
    changed = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
    changed = {k: n for k, n in changed.items() if n}
    recent_day = (NOW - timedelta(days=3)).astimezone(VIETNAM).date()
    assert {day for _, day, _ in changed} == {arrived, recent_day}
    commune = canvasser.scope_unit_id
    assert changed[(commune, arrived, "visits")] == 2
    assert changed[(commune, arrived, "renewed")] == 1
    assert not session.exec(select(DailyTally).where(DailyTally.day < date(2026, 1, 1))).first()


def test_the_window_is_the_callers(session, canvasser, mine):
    h, members = mine[0]
    sent = item(h, members, visited_at=(NOW - timedelta(days=20)).isoformat())
    (result,) = sync_visits(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        items=[sent],
        today=DEMO_TODAY,
        now=NOW,
        secret=SECRET,
        offline_window_days=30,
    )
    (visit,) = _visits_with(session, [sent["client_uuid"]])
    assert result.status == ItemStatus.STORED and visit.counted_on is None
    assert "outreach.offline_window" not in session.info  # the window ends with the batch


def test_two_canvassers_visiting_the_same_household_both_count(session, canvasser, colleague, mine):
    h, members = mine[0]
    assert colleague.scope_unit_id == canvasser.scope_unit_id
    mine_visit, theirs = item(h, members), item(h, members)
    before = _visit_count(session)
    assert _sync(session, canvasser, [mine_visit])[0].status == ItemStatus.STORED
    assert _sync(session, colleague, [theirs])[0].status == ItemStatus.STORED
    assert _visit_count(session) == before + 2
    stored = _visits_with(session, [mine_visit["client_uuid"], theirs["client_uuid"]])
    assert {(v.household_id, v.canvasser_id) for v in stored} == {
        (h.id, canvasser.id),
        (h.id, colleague.id),
    }
    # One canvasser cannot replay (or overwrite) another's visit by reusing its UUID.
    (stolen,) = _sync(session, colleague, [mine_visit])
    assert stolen.status == ItemStatus.CONFLICT and stolen.visit_id is None
    assert _visit_count(session) == before + 2


def test_a_household_that_left_the_scope_is_kept_and_flagged_with_a_token(
    session, canvasser, foreign
):
    h, members = foreign[0]
    token = scope_token(secret=SECRET, canvasser_id=canvasser.id, household_id=h.id)
    sent = item(h, members, scope_token=token)
    before = _visit_count(session)
    (result,) = _sync(session, canvasser, [sent])
    assert result.status == ItemStatus.STORED and result.out_of_scope and not result.errors
    (visit,) = _visits_with(session, [sent["client_uuid"]])
    assert visit.out_of_scope and visit.commune_id == h.commune_id
    assert visit.canvasser_id == canvasser.id and _visit_count(session) == before + 1
    (again,) = _sync(session, canvasser, [sent])
    assert again.status == ItemStatus.DUPLICATE and again.out_of_scope
    assert _visit_count(session) == before + 1


def test_an_in_scope_visit_is_not_flagged_even_with_a_token(session, canvasser, mine):
    h, members = mine[0]
    token = scope_token(secret=SECRET, canvasser_id=canvasser.id, household_id=h.id)
    (result,) = _sync(session, canvasser, [item(h, members, scope_token=token)])
    assert result.status == ItemStatus.STORED and not result.out_of_scope
    (junk_token,) = _sync(session, canvasser, [item(h, members, scope_token="rác")])
    assert junk_token.status == ItemStatus.STORED and not junk_token.out_of_scope


def _other_province_household(session) -> tuple[Household, Person]:
    province = GeoUnit(kind=UnitKind.PROVINCE, code="98", name="Tỉnh Thử")
    session.add(province)
    session.flush()
    commune = GeoUnit(
        kind=UnitKind.COMMUNE,
        code="99998",
        name="Xã Thử",
        parent_id=province.id,
        province_id=province.id,
    )
    session.add(commune)
    session.flush()
    h = Household(province_id=province.id, commune_id=commune.id, head_name="Hộ thử")
    session.add(h)
    session.flush()
    p = Person(
        household_id=h.id, province_id=province.id, commune_id=commune.id, full_name="Người Thử"
    )
    session.add(p)
    session.commit()
    return h, p


def test_out_of_scope_without_a_valid_token_is_rejected_and_never_stored(
    session, canvasser, colleague, foreign, monkeypatch
):
    (h, members), (h2, _) = foreign[:2]
    far, far_member = _other_province_household(session)
    missing_id = session.exec(select(func.max(Household.id))).one() + 1000

    def token(household_id, canvasser_id=canvasser.id):
        return scope_token(secret=SECRET, canvasser_id=canvasser_id, household_id=household_id)

    expired = _token_dated(monkeypatch, days_ago=31, canvasser_id=canvasser.id, household_id=h.id)
    batch = [
        item(h, members),  # no token
        item(h, members, scope_token=token(h2.id)),  # another household's token
        item(h, members, scope_token=token(h.id, colleague.id)),  # another canvasser's token
        item(h, members, scope_token=expired),
        item(
            h,
            members,
            scope_token=scope_token(secret="x", canvasser_id=canvasser.id, household_id=h.id),
        ),
        item(far, [far_member], scope_token=token(far.id)),  # another province
        item(Household(id=missing_id), members, scope_token=token(missing_id)),  # no such household
    ]
    before = _visit_count(session)
    results = _sync(session, canvasser, batch)
    assert [r.status for r in results] == [ItemStatus.REJECTED] * len(batch)
    assert all(r.errors == {"household": OUT_OF_SCOPE} for r in results)
    assert _visit_count(session) == before
    assert not _visits_with(session, [i["client_uuid"] for i in batch])


def test_a_batch_over_the_limit_is_refused_whole(session, canvasser, mine):
    h, members = mine[0]
    before = _visit_count(session)
    with pytest.raises(ValueError, match=str(MAX_BATCH)):
        _sync(session, canvasser, [item(h, members) for _ in range(MAX_BATCH + 1)])
    assert _visit_count(session) == before


def test_a_uuid_stored_by_a_concurrent_request_comes_back_as_a_duplicate(
    session, canvasser, mine, monkeypatch
):
    h, members = mine[0]
    sent = item(h, members)
    calls = []

    def racing(session_, **kwargs):
        calls.append(kwargs["data"].client_uuid)
        if len(calls) == 1:
            # Another request (another session) stores the same visit between our look-up and
            # our insert; our insert then hits the unique index.
            with Session(session_.get_bind(), expire_on_commit=False) as other:
                record_visit(other, **{**kwargs, "canvasser": other.get(User, canvasser.id)})
                other.commit()
            raise IntegrityError("INSERT INTO visit", {}, Exception("uq_visit_client_uuid"))
        return record_visit(session_, **kwargs)

    monkeypatch.setattr(sync_module, "record_visit", racing)
    before = _visit_count(session)
    (result,) = _sync(session, canvasser, [sent])
    assert len(calls) == 2 and result.status == ItemStatus.DUPLICATE
    assert _visit_count(session) == before + 1


# --- property: random batches ---------------------------------------------------------------------

REPEATS = 4  # a small pool of UUIDs, so batches repeat them
OUTCOME_CYCLE = ["not_home", "considering", "refused", "moved"]


def _content(index: int, households, variant: int = 0) -> tuple[int, dict]:
    """The (household index, outcome) a pooled UUID always carries; variant 1 is a conflict."""
    h_index = index % len(households)
    h, members = households[h_index]
    code = OUTCOME_CYCLE[(index + variant) % len(OUTCOME_CYCLE)]
    outcome = {"person_id": members[0].id, "outcome": code}
    if code == "considering":
        outcome["follow_up_on"] = (DEMO_TODAY + timedelta(days=3)).isoformat()
    if code == "refused":
        outcome["refusal_reason"] = "no_money"
    return h_index, outcome


bad_values = {
    "client_uuid": st.one_of(st.none(), st.integers(), st.text(max_size=12)),
    "household_id": st.one_of(
        st.none(),
        st.text(max_size=5),
        st.floats(),
        st.booleans(),
        st.integers(max_value=0),
        st.integers(min_value=2**31),
    ),
    "channel": st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=8).filter(lambda s: s not in {"home", "phone", "meeting"}),
    ),
    "visited_at": st.one_of(
        st.none(),
        st.integers(),
        st.sampled_from(["2026-11-22T09:15:00", "22/11/2026 09:15", "2026-11-22", "hôm qua"]),
        st.just((NOW + timedelta(days=1)).isoformat()),  # in the future
    ),
    "outcomes": st.one_of(
        st.none(),
        st.just([]),
        st.integers(),
        st.lists(st.integers(), min_size=1, max_size=2),
        st.just([{"person_id": 1, "outcome": "bogus"}]),
        st.just([{"person_id": 2**40, "outcome": "not_home"}]),
    ),
    "note": st.one_of(st.integers(), st.just("x" * 2001), st.just("a\x00b"), st.lists(st.text())),
    "latitude": st.one_of(
        st.just(math.nan), st.floats(min_value=90.5), st.text(max_size=4), st.booleans()
    ),
}

spec = st.one_of(
    st.tuples(st.just("pooled"), st.integers(0, REPEATS - 1), st.sampled_from([0, 0, 0, 1])),
    *(st.tuples(st.just("bad"), st.just(name), values) for name, values in bad_values.items()),
    st.tuples(st.just("fuzz"), st.sampled_from(FIELDS), json_values),
    st.tuples(st.just("junk"), json_values),
    st.tuples(
        st.just("foreign"),
        st.integers(0, 3),  # 3 means a household id that does not exist
        st.sampled_from(["none", "valid", "other_household", "junk"]),
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(spec, min_size=1, max_size=14))
def test_random_batches_never_store_a_duplicate_or_an_unproven_out_of_scope_visit(
    session, canvasser, mine, foreign, specs
):
    # Fresh UUIDs for every example: the database is shared by all examples of this test.
    pool = [str(uuid.uuid4()) for _ in range(REPEATS)]
    missing_id = 2**31 - 7
    batch, expected = [], []  # expected: a status, or None when either is acceptable
    seen: dict[str, tuple] = {}
    flagged: set[str] = set()
    for kind, *args in specs:
        if kind == "pooled":
            index, variant = args
            h_index, outcome = _content(index, mine, variant)
            h, members = mine[h_index]
            key = pool[index]
            batch.append(item(h, members, key=key, outcomes=[outcome]))
            content = (h.id, outcome["outcome"])
            if key not in seen:
                seen[key] = content
                expected.append(ItemStatus.STORED)
            else:
                expected.append(
                    ItemStatus.DUPLICATE if seen[key] == content else ItemStatus.CONFLICT
                )
        elif kind == "bad":
            name, value = args
            h, members = mine[0]
            batch.append(item(h, members, **{name: value}))
            expected.append(ItemStatus.REJECTED)
        elif kind == "fuzz":
            name, value = args
            h, members = mine[1]
            fields = {"outcomes": [value]} if name == "outcomes[0]" else {name: value}
            batch.append(item(h, members, **fields))
            expected.append(None)
        elif kind == "junk":
            batch.append(args[0])
            expected.append(ItemStatus.REJECTED)
        else:
            index, token_kind = args
            h, members = (
                foreign[index]
                if index < len(foreign)
                else (Household(id=missing_id), [Person(id=1)])
            )
            target = {"valid": h.id, "other_household": h.id + 1}.get(token_kind)
            token = (
                scope_token(secret=SECRET, canvasser_id=canvasser.id, household_id=target)
                if target
                else ("rác" if token_kind == "junk" else None)
            )
            sent = item(h, members, scope_token=token)
            batch.append(sent)
            proven = token_kind == "valid" and index < len(foreign)
            expected.append(ItemStatus.STORED if proven else ItemStatus.REJECTED)
            if proven:
                flagged.add(sent["client_uuid"])

    before = _visit_count(session)
    results = _sync(session, canvasser, batch)

    assert len(results) == len(batch)
    for sent, want, got in zip(batch, expected, results, strict=True):
        assert want is None or got.status == want, (sent, got)
        refused = got.status in (ItemStatus.REJECTED, ItemStatus.CONFLICT)
        assert (got.visit_id is None) == refused
        assert bool(got.errors) == refused
    stored = [r for r in results if r.status == ItemStatus.STORED]
    # Every "stored" is one new row, and nothing else was written.
    assert _visit_count(session) == before + len(stored)
    assert len({r.visit_id for r in stored}) == len(stored)
    new = session.exec(select(Visit).where(Visit.id.in_([r.visit_id for r in stored]))).all()
    assert {v.client_uuid for v in new} == {str(uuid.UUID(r.client_uuid)) for r in stored}
    assert {v.client_uuid for v in new if v.out_of_scope} == flagged
    for v in new:
        assert v.canvasser_id == canvasser.id
        assert v.out_of_scope or v.commune_id == canvasser.scope_unit_id
    # The pooled UUIDs are stored once each, with the content of their first appearance.
    pooled = {v.client_uuid: v for v in _visits_with(session, pool)}
    assert set(pooled) == set(seen)
    for key, (household_id, code) in seen.items():
        outcomes = session.exec(
            select(VisitOutcome.outcome).where(VisitOutcome.visit_id == pooled[key].id)
        ).all()
        assert (pooled[key].household_id, list(outcomes)) == (household_id, [code])

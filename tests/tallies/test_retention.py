"""Retention, conversion by list and by path, contact rate and time between doors: each figure
against a recount from the raw rows, written here without the read model, over a generated
history of payments on the demo's visits (SQLite, and PostgreSQL in `make test`)."""

from __future__ import annotations

import calendar
import random
import statistics
from collections import defaultdict
from datetime import UTC, date, timedelta

import pytest
from sqlmodel import select

from outreach.campaigns.service import active_campaign
from outreach.core.clock import VIETNAM
from outreach.core.scope import scope_for
from outreach.models import Payment, Person, User, Visit, VisitOutcome
from outreach.tallies.retention import canvasser_pace, conversion, retention
from outreach.worklist.service import person_categories
from tests.conftest import DEMO_TODAY

LISTS_REACH = date(2027, 5, 31)  # the latest receipt in the generated payments lists
GRACE = {1: 1, 3: 3, 6: 4, 12: 7}  # Law 41/2024 Art. 36: months to pay the next period


def _vn_day(moment) -> date:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).date()


def _month_end_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _generate_payments(session, seed: int) -> None:
    """Receipts for the campaign's enrolled and renewed persons: on time, late, never, or only
    before the visit; and one far-ahead receipt so the lists reach most deadlines."""
    rng = random.Random(seed)
    rows = session.exec(
        select(VisitOutcome).where(VisitOutcome.outcome.in_(["enrolled_new", "renewed"]))
    ).all()
    for outcome in rows:
        day = _vn_day(outcome.visited_at)
        fate = rng.choice(["on_time", "late", "never", "unconfirmed", "before_only", "twice"])
        months = rng.choice([1, 3, 6, 12])

        def pay(on: date, n: int = months, outcome: VisitOutcome = outcome) -> None:
            session.add(
                Payment(
                    person_id=outcome.person_id,
                    province_id=outcome.province_id,
                    commune_id=outcome.commune_id,
                    paid_on=on,
                    amount=330_000 * n,
                    months=n,
                    is_new_enrollment=outcome.outcome == "enrolled_new",
                )
            )

        if fate == "unconfirmed":
            continue
        if fate == "before_only":
            pay(day - timedelta(days=rng.randint(1, 40)))
            continue
        first = day + timedelta(days=rng.randint(0, 12))
        pay(first)
        deadline = _month_end_after(first, months - 1 + GRACE[months])
        # Every receipt falls before the far-ahead one, which sets how far the lists reach.
        if fate in ("on_time", "twice"):
            last = min(deadline, LISTS_REACH - timedelta(days=1))
            pay(first + timedelta(days=rng.randint(1, max((last - first).days, 1))))
        elif fate == "late" and deadline < LISTS_REACH - timedelta(days=2):
            pay(deadline + timedelta(days=rng.randint(1, (LISTS_REACH - deadline).days - 1)))
    anyone = rows[0]
    session.add(
        Payment(
            person_id=anyone.person_id,
            province_id=anyone.province_id,
            commune_id=anyone.commune_id,
            paid_on=LISTS_REACH,
            amount=330_000,
            months=1,
        )
    )
    session.commit()


def _scope_rows(session, scope, campaign):
    """The raw outcome rows of the campaign's days in the scope's communes, oldest first."""
    rows = [
        o
        for o in session.exec(select(VisitOutcome)).all()
        if scope.covers_commune(o.commune_id)
        and campaign.starts_on <= _vn_day(o.visited_at) <= DEMO_TODAY
    ]
    return sorted(rows, key=lambda o: (o.visited_at.replace(tzinfo=None), o.id))


def _recount_retention(session, scope, campaign) -> tuple[int, int, int, int]:
    payments = defaultdict(list)
    for p in session.exec(select(Payment)).all():
        payments[p.person_id].append(p)
    known = max(p.paid_on for ps in payments.values() for p in ps)
    cohort = {}
    for o in _scope_rows(session, scope, campaign):
        if o.outcome in ("enrolled_new", "renewed"):
            cohort.setdefault(o.person_id, _vn_day(o.visited_at))
    paid_up = lapsed = not_due = unconfirmed = 0
    for person_id, day in cohort.items():
        mine = sorted(
            (p for p in payments[person_id] if p.paid_on >= day), key=lambda p: (p.paid_on, p.id)
        )
        if not mine:
            unconfirmed += 1
            continue
        first = mine[0]
        deadline = _month_end_after(first.paid_on, first.months - 1 + GRACE[first.months])
        if any(p.paid_on <= deadline for p in mine[1:]):
            paid_up += 1
        elif known < deadline:
            not_due += 1
        else:
            lapsed += 1
    return paid_up, lapsed, not_due, unconfirmed


def _recount_conversion(session, scope, campaign):
    first, converted = {}, set()
    for o in _scope_rows(session, scope, campaign):
        if o.outcome == "not_home":
            continue
        first.setdefault(o.person_id, (_vn_day(o.visited_at), o.outcome))
        if o.outcome in ("enrolled_new", "renewed"):
            converted.add(o.person_id)
    by_category, by_path = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    for person_id, (day, outcome) in first.items():
        found = {str(c) for c in person_categories(session.get(Person, person_id), day)}
        found -= {"benefit_ending"}
        for name in found or {"none"}:
            by_category[name][0] += 1
            by_category[name][1] += person_id in converted
        path = (
            "converted_first"
            if outcome in ("enrolled_new", "renewed")
            else outcome
            if outcome in ("promised", "considering", "refused")
            else "other"
        )
        by_path[path][0] += 1
        by_path[path][1] += person_id in converted
    return dict(by_category), dict(by_path)


def _recount_pace(session, scope, campaign):
    visits = [
        v
        for v in session.exec(select(Visit)).all()
        if scope.covers_commune(v.commune_id)
        and campaign.starts_on <= _vn_day(v.visited_at) <= DEMO_TODAY
    ]
    met_visits = {
        o.visit_id for o in session.exec(select(VisitOutcome)).all() if o.outcome != "not_home"
    }
    by_canvasser = defaultdict(list)
    for v in visits:
        by_canvasser[v.canvasser_id].append(v)
    out = {}
    for canvasser_id, mine in by_canvasser.items():
        mine.sort(key=lambda v: (v.visited_at.replace(tzinfo=None), v.id))
        gaps = []
        for before, after in zip(mine, mine[1:], strict=False):
            if _vn_day(before.visited_at) != _vn_day(after.visited_at):
                continue
            minutes = (
                after.visited_at.replace(tzinfo=None) - before.visited_at.replace(tzinfo=None)
            ).total_seconds() / 60
            if minutes <= 120:
                gaps.append(minutes)
        out[canvasser_id] = (
            len(mine),
            sum(v.id in met_visits for v in mine),
            statistics.median(gaps) if gaps else None,
        )
    return out


@pytest.mark.parametrize("seed", [3, 11])
def test_each_figure_agrees_with_a_recount_from_the_raw_rows(session, seed):
    _generate_payments(session, seed)
    for username in ("lanhdao.tinh", "lanhdao.cum"):
        scope = scope_for(
            session, session.exec(select(User).where(User.username == username)).one()
        )
        campaign = active_campaign(session, province_id=scope.province_id)

        got = retention(session, scope=scope, campaign=campaign, last=DEMO_TODAY)
        expected = _recount_retention(session, scope, campaign)
        assert (got.paid_up, got.lapsed, got.not_due, got.unconfirmed) == expected
        assert got.known_through == LISTS_REACH
        if username == "lanhdao.tinh":  # the generated history reaches every status
            assert all(expected), expected

        by_category, by_path = conversion(
            session,
            scope=scope,
            campaign=campaign,
            last=DEMO_TODAY,
            categories_of=person_categories,
        )
        want_category, want_path = _recount_conversion(session, scope, campaign)
        assert {k: [v.met, v.converted] for k, v in by_category.items() if v.met} == want_category
        assert {k: [v.met, v.converted] for k, v in by_path.items() if v.met} == want_path

        pace = canvasser_pace(session, scope=scope, first=campaign.starts_on, last=DEMO_TODAY)
        want_pace = _recount_pace(session, scope, campaign)
        got_pace = {r.canvasser_id: (r.visits, r.contacts, r.minutes_between_doors) for r in pace}
        assert got_pace.keys() == want_pace.keys()
        for canvasser_id, (visits, contacts, minutes) in want_pace.items():
            assert got_pace[canvasser_id][:2] == (visits, contacts)
            assert got_pace[canvasser_id][2] == pytest.approx(minutes)


def test_the_leader_page_shows_the_figures(app, login_as, session):
    _generate_payments(session, 5)
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    scope = scope_for(
        session, session.exec(select(User).where(User.username == "lanhdao.cum")).one()
    )
    campaign = active_campaign(session, province_id=scope.province_id)
    got = retention(session, scope=scope, campaign=campaign, last=DEMO_TODAY)
    page = login_as("lanhdao.cum").get("/leader/retention").get_data(as_text=True)
    assert 'id="retention-rate"' in page and 'id="conversion-by-category"' in page
    assert (
        f'<span class="stat-value">{got.paid_up}</span><span class="stat-label">đã đóng kỳ sau'
        in page
    )
    assert 'id="canvasser-pace"' in page and "Phút giữa hai nhà" in page
    assert "Từ ngày 24/10/2026 đến ngày 22/11/2026." in page  # the last 30 days

"""Campaigns as the admin edits them: validated dates and weights, reach recount, targets."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlmodel import func, select

from outreach.campaigns import service as campaigns
from outreach.campaigns.service import CampaignError, CampaignInput
from outreach.core.clock import VIETNAM
from outreach.models import AuditLog, Campaign, CampaignReach, GeoUnit, Target, User, Visit
from outreach.worklist.priority import DEFAULT_WEIGHTS, weights_for


def _admin(session):
    return session.exec(select(User).where(User.username == "admin")).one()


def _province(session):
    return session.exec(select(GeoUnit).where(GeoUnit.kind == "province")).one()


def _count(session, model, *where):
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _reached(session, starts_on, ends_on):
    out = set()
    for household_id, at in session.exec(select(Visit.household_id, Visit.visited_at)).all():
        aware = at if at.tzinfo else at.replace(tzinfo=UTC)
        if starts_on <= aware.astimezone(VIETNAM).date() <= ends_on:
            out.add(household_id)
    return out


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (CampaignInput(name=" ", starts_on=date(2027, 1, 1), ends_on=date(2027, 2, 1)), "tên"),
        (CampaignInput(name="A", starts_on=None, ends_on=date(2027, 2, 1)), "ngày bắt đầu"),
        (CampaignInput(name="A", starts_on=date(2027, 3, 1), ends_on=date(2027, 2, 1)), "trước"),
        (CampaignInput(name="A", starts_on=date(1999, 1, 1), ends_on=date(2027, 2, 1)), "2016"),
        (CampaignInput(name="A", starts_on=date(2027, 1, 1), ends_on=date(2030, 1, 1)), "2 năm"),
        (
            CampaignInput(
                name="A", starts_on=date(2027, 1, 1), ends_on=date(2027, 2, 1), weights={"x": 1}
            ),
            "không có",
        ),
        (
            CampaignInput(
                name="A",
                starts_on=date(2027, 1, 1),
                ends_on=date(2027, 2, 1),
                weights={"lapsed": 9999},
            ),
            "từ 0 đến 5000",
        ),
        (
            CampaignInput(
                name="A",
                starts_on=date(2027, 1, 1),
                ends_on=date(2027, 2, 1),
                weights={"lapsed": -1},
            ),
            "từ 0 đến 5000",
        ),
        (
            CampaignInput(
                name="A",
                starts_on=date(2027, 1, 1),
                ends_on=date(2027, 2, 1),
                weights={"lapsed": "800"},
            ),
            "số nguyên",
        ),
    ],
)
def test_bad_campaigns_are_refused_and_change_nothing(session, data, message):
    before = _count(session, Campaign), _count(session, AuditLog)
    with pytest.raises(CampaignError, match=message):
        campaigns.create_campaign(
            session, province_id=_province(session).id, data=data, by_user=_admin(session)
        )
    session.rollback()
    assert (_count(session, Campaign), _count(session, AuditLog)) == before


def test_create_stores_only_changed_weights_and_counts_reach(session):
    province = _province(session)
    start, end = date(2026, 11, 1), date(2026, 11, 20)
    campaign = campaigns.create_campaign(
        session,
        province_id=province.id,
        data=CampaignInput(
            name="Đợt tháng 11",
            starts_on=start,
            ends_on=end,
            weights={"lapsed": 950, "potential": DEFAULT_WEIGHTS["potential"]},
        ),
        by_user=_admin(session),
    )
    session.commit()
    assert json.loads(campaign.priority_weights) == {"lapsed": 950}
    assert weights_for(campaign.priority_weights)["lapsed"] == 950
    assert campaigns.campaign_weights(campaign)["potential"] == DEFAULT_WEIGHTS["potential"]
    reached = set(
        session.exec(
            select(CampaignReach.household_id).where(CampaignReach.campaign_id == campaign.id)
        ).all()
    )
    expected = _reached(session, start, end)
    assert expected and reached == expected
    assert _count(session, AuditLog, AuditLog.action == "campaign_created") == 1


def test_update_with_new_dates_recounts_reach(session):
    campaign = session.exec(select(Campaign)).first()
    before = _count(session, CampaignReach, CampaignReach.campaign_id == campaign.id)
    new_start = date(2026, 11, 16)
    campaigns.update_campaign(
        session,
        campaign_id=campaign.id,
        province_id=campaign.province_id,
        data=CampaignInput(
            name=campaign.name, starts_on=new_start, ends_on=campaign.ends_on, is_active=True
        ),
        by_user=_admin(session),
    )
    session.commit()
    after = set(
        session.exec(
            select(CampaignReach.household_id).where(CampaignReach.campaign_id == campaign.id)
        ).all()
    )
    assert after == _reached(session, new_start, campaign.ends_on)
    assert len(after) < before
    entry = session.exec(select(AuditLog).where(AuditLog.action == "campaign_updated")).one()
    assert "starts_on" in entry.detail


def test_update_of_an_unknown_campaign_is_refused(session):
    with pytest.raises(CampaignError, match="Không tìm thấy"):
        campaigns.update_campaign(
            session,
            campaign_id=999_999,
            province_id=_province(session).id,
            data=CampaignInput(name="A", starts_on=date(2027, 1, 1), ends_on=date(2027, 1, 2)),
            by_user=_admin(session),
        )


def test_set_targets_all_or_nothing_and_province_sum(session):
    campaign = session.exec(select(Campaign)).first()
    communes = session.exec(
        select(GeoUnit).where(GeoUnit.kind == "commune").order_by(GeoUnit.id).limit(2)
    ).all()
    before = {
        t.unit_id: (t.new_participants, t.renewals)
        for t in session.exec(select(Target).where(Target.campaign_id == campaign.id))
    }
    with pytest.raises(CampaignError, match="từ 0 đến 10.000.000"):
        campaigns.set_targets(
            session,
            campaign_id=campaign.id,
            province_id=campaign.province_id,
            targets={communes[0].id: (5, 5), communes[1].id: (-1, 0)},
            by_user=_admin(session),
        )
    session.rollback()
    with pytest.raises(CampaignError, match="Chỉ tiêu chỉ đặt cho xã"):
        campaigns.set_targets(
            session,
            campaign_id=campaign.id,
            province_id=campaign.province_id,
            targets={campaign.province_id: (5, 5)},
            by_user=_admin(session),
        )
    session.rollback()
    session.expire_all()
    unchanged = {
        t.unit_id: (t.new_participants, t.renewals)
        for t in session.exec(select(Target).where(Target.campaign_id == campaign.id))
    }
    assert unchanged == before
    changed = campaigns.set_targets(
        session,
        campaign_id=campaign.id,
        province_id=campaign.province_id,
        targets={communes[0].id: (77, 88), communes[1].id: before.get(communes[1].id, (0, 0))},
        by_user=_admin(session),
    )
    session.commit()
    assert changed == 1
    session.expire_all()
    rows = session.exec(select(Target).where(Target.campaign_id == campaign.id)).all()
    by_unit = {t.unit_id: t for t in rows}
    assert (by_unit[communes[0].id].new_participants, by_unit[communes[0].id].renewals) == (77, 88)
    commune_ids = set(session.exec(select(GeoUnit.id).where(GeoUnit.kind == "commune")).all())
    province_row = by_unit[campaign.province_id]
    assert province_row.new_participants == sum(
        t.new_participants for t in rows if t.unit_id in commune_ids
    )
    assert province_row.renewals == sum(t.renewals for t in rows if t.unit_id in commune_ids)
    entry = session.exec(select(AuditLog).where(AuditLog.action == "targets_updated")).one()
    assert communes[0].code in entry.detail and communes[1].code not in entry.detail


def test_the_active_campaigns_weights_reorder_the_worklists(session):
    """Raising a reason's weight above every other puts its households first, at once."""
    from outreach.core.scope import scope_for
    from outreach.models import Household, Person
    from outreach.visits.service import OutcomeInput, VisitInput, record_visit
    from outreach.worklist.service import worklist_for
    from tests.conftest import DEMO_TODAY

    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    scope = scope_for(session, canvasser)

    def top_reasons() -> list[str]:
        rows = worklist_for(
            session, scope=scope, canvasser_id=canvasser.id, today=DEMO_TODAY, limit=500
        ).rows
        return [row.household.priority_top for row in rows]

    before = top_reasons()
    boosted = before[-1]
    assert boosted != before[0]
    campaign = session.exec(select(Campaign).where(Campaign.is_active)).first()
    campaigns.update_campaign(
        session,
        campaign_id=campaign.id,
        province_id=campaign.province_id,
        data=CampaignInput(
            name=campaign.name,
            starts_on=campaign.starts_on,
            ends_on=campaign.ends_on,
            is_active=True,
            weights={boosted: 5000},
        ),
        by_user=_admin(session),
    )
    session.commit()
    after = top_reasons()
    n = after.count(boosted)
    assert n and after[:n] == [boosted] * n and sorted(after) == sorted(before)
    # A visit's rescoring of its household uses them too.
    household = session.exec(
        select(Household).where(
            Household.assigned_canvasser_id == canvasser.id, Household.priority_top == boosted
        )
    ).first()
    member = session.exec(select(Person).where(Person.household_id == household.id)).first()
    record_visit(
        session,
        canvasser=canvasser,
        scope=scope,
        data=VisitInput(
            str(uuid.uuid4()), household.id, "phone", (OutcomeInput(member.id, "not_home"),)
        ),
        today=DEMO_TODAY,
        now=datetime(2026, 11, 22, 3, 0, tzinfo=UTC),
    )
    session.commit()
    session.refresh(household)
    assert household.priority_score >= 5000 + DEFAULT_WEIGHTS["recent_visit"]

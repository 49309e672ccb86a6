"""Campaigns: their dates, priority weights and targets per commune, as the admin edits them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.text import place_key
from outreach.models import Campaign, GeoUnit, Target, User
from outreach.models.codes import UnitKind
from outreach.tallies.service import rebuild_reach
from outreach.worklist.priority import DEFAULT_WEIGHTS, weights_for
from outreach.worklist.service import mark_stale

# The weights an admin may tune per campaign: the base score of each reason (brief §5) and the
# bonus for a household nobody has visited yet. The finer knobs stay in priority.DEFAULT_WEIGHTS.
TUNABLE_WEIGHTS: tuple[str, ...] = (
    "follow_up_due",
    "lapsed",
    "benefit_ending",
    "coming_due",
    "benefit",
    "reserved",
    "potential",
    "never_visited",
)
MAX_WEIGHT = 5000
EARLIEST_DATE = date(2016, 1, 1)  # the voluntary scheme under the 2014 law, in force from 2016
LATEST_DATE = date(2100, 12, 31)
MAX_CAMPAIGN_DAYS = 731  # two years: longer drives are several campaigns
MAX_TARGET = 10_000_000


class CampaignError(DomainError):
    """A campaign change was refused; the message is in the user's language and shown as is."""


@dataclass(frozen=True)
class CampaignInput:
    """What the admin's form says about a campaign."""

    name: str
    starts_on: date | None
    ends_on: date | None
    is_active: bool = True
    weights: Mapping[str, int] | None = None


def campaign_weights(campaign: Campaign) -> dict[str, int]:
    """The tunable weights in force for a campaign (its overrides on the defaults)."""
    merged = weights_for(campaign.priority_weights or None)
    return {key: merged[key] for key in TUNABLE_WEIGHTS}


def _validated(data: CampaignInput) -> tuple[str, date, date, str]:
    """Check the form; return the name, the dates and the weights as stored (overrides only)."""
    name = data.name.strip()
    if not name:
        raise CampaignError(_("Hãy nhập tên chiến dịch."))
    if len(name) > 200:
        raise CampaignError(_("Tên chiến dịch tối đa 200 ký tự."))
    if data.starts_on is None or data.ends_on is None:
        raise CampaignError(_("Hãy nhập ngày bắt đầu và ngày kết thúc (dd/mm/yyyy)."))
    for day in (data.starts_on, data.ends_on):
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise CampaignError(_("Ngày phải nằm trong khoảng 01/01/2016 – 31/12/2100."))
    if data.starts_on > data.ends_on:
        raise CampaignError(_("Ngày bắt đầu phải trước hoặc trùng ngày kết thúc."))
    if (data.ends_on - data.starts_on).days >= MAX_CAMPAIGN_DAYS:
        raise CampaignError(_("Một chiến dịch kéo dài tối đa 2 năm."))
    overrides: dict[str, int] = {}
    for key, value in (data.weights or {}).items():
        if key not in TUNABLE_WEIGHTS:
            raise CampaignError(_("Trọng số không có: %(key)s.", key=key))
        if isinstance(value, bool) or not isinstance(value, int):
            raise CampaignError(_("Trọng số phải là số nguyên."))
        if not 0 <= value <= MAX_WEIGHT:
            raise CampaignError(_("Trọng số phải từ 0 đến %(max)s.", max=MAX_WEIGHT))
        # Only what differs from the defaults is stored, so a later change of a default applies.
        if value != DEFAULT_WEIGHTS[key]:
            overrides[key] = value
    return name, data.starts_on, data.ends_on, json.dumps(overrides, sort_keys=True)


def _audit(session: Session, by_user: User, action: str, campaign: Campaign, detail: dict) -> None:
    record_event(
        session,
        action=action,
        user_id=by_user.id,
        username=by_user.username,
        object_type="campaign",
        object_id=campaign.id,
        detail=detail,
    )


def list_campaigns(session: Session, *, province_id: int) -> list[Campaign]:
    """The province's campaigns, latest first."""
    return list(
        session.exec(
            select(Campaign)
            .where(Campaign.province_id == province_id)
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        ).all()
    )


def active_campaign(session: Session, *, province_id: int) -> Campaign | None:
    """The province's active campaign ending last, if any."""
    return session.exec(
        select(Campaign)
        .where(Campaign.province_id == province_id, Campaign.is_active)
        .order_by(Campaign.ends_on.desc())
    ).first()


def active_campaigns(session: Session) -> list[Campaign]:
    """Each province's active campaign ending last (the national dashboard's campaigns)."""
    found: dict[int, Campaign] = {}
    for campaign in session.exec(
        select(Campaign).where(Campaign.is_active).order_by(Campaign.ends_on.desc())
    ):
        found.setdefault(campaign.province_id, campaign)
    return list(found.values())


def chosen_campaign(
    session: Session, *, province_id: int, campaign_id: int | None
) -> Campaign | None:
    """The campaign a page asked for (of the province only), else the active one."""
    if campaign_id is not None:
        return get_campaign(session, campaign_id=campaign_id, province_id=province_id)
    return active_campaign(session, province_id=province_id)


def get_campaign(session: Session, *, campaign_id: int, province_id: int) -> Campaign | None:
    """One campaign of the province, or None."""
    campaign = session.get(Campaign, campaign_id)
    return campaign if campaign is not None and campaign.province_id == province_id else None


def create_campaign(
    session: Session, *, province_id: int, data: CampaignInput, by_user: User
) -> Campaign:
    """Create a campaign after checking its dates and weights; counts the households it reached."""
    name, starts_on, ends_on, weights = _validated(data)
    campaign = Campaign(
        province_id=province_id,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        is_active=bool(data.is_active),
        priority_weights=weights,
    )
    session.add(campaign)
    session.flush()
    # The summaries read the campaign's reach: visits already made in its dates count.
    rebuild_reach(session, campaign=campaign)
    if campaign.is_active:  # it may now be the campaign whose weights are in force
        _rescore_province(session, province_id=province_id)
    _audit(
        session,
        by_user,
        "campaign_created",
        campaign,
        {"name": name, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
    )
    session.flush()
    return campaign


def _rescore_province(session: Session, *, province_id: int) -> None:
    """The weights in force may have changed: every worklist of the province is recomputed."""
    communes = session.exec(
        select(GeoUnit.id).where(
            GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.province_id == province_id
        )
    ).all()
    mark_stale(session, commune_ids=communes)


def update_campaign(
    session: Session, *, campaign_id: int, province_id: int, data: CampaignInput, by_user: User
) -> Campaign:
    """Change a campaign's name, dates, active flag or weights; new dates recount its reach."""
    campaign = get_campaign(session, campaign_id=campaign_id, province_id=province_id)
    if campaign is None:
        raise CampaignError(_("Không tìm thấy chiến dịch."))
    name, starts_on, ends_on, weights = _validated(data)
    new = {
        "name": name,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "is_active": bool(data.is_active),
        "priority_weights": weights,
    }
    changes = {
        k: [str(getattr(campaign, k)), str(v)] for k, v in new.items() if getattr(campaign, k) != v
    }
    if changes:
        dates_changed = "starts_on" in changes or "ends_on" in changes
        for key, value in new.items():
            setattr(campaign, key, value)
        session.add(campaign)
        session.flush()
        if dates_changed:
            rebuild_reach(session, campaign=campaign)
        if changes.keys() & {"priority_weights", "is_active", "ends_on"}:
            _rescore_province(session, province_id=campaign.province_id)
        _audit(session, by_user, "campaign_updated", campaign, changes)
    session.flush()
    return campaign


def commune_targets(session: Session, *, campaign: Campaign) -> list[tuple[GeoUnit, int, int]]:
    """Every commune of the campaign's province with its targets (0, 0 when none is set)."""
    targets = {
        t.unit_id: t
        for t in session.exec(select(Target).where(Target.campaign_id == campaign.id)).all()
    }
    communes = session.exec(
        select(GeoUnit).where(
            GeoUnit.province_id == campaign.province_id, GeoUnit.kind == UnitKind.COMMUNE
        )
    ).all()
    communes = sorted(communes, key=lambda c: place_key(c.name, c.type_name))
    return [
        (
            c,
            targets[c.id].new_participants if c.id in targets else 0,
            targets[c.id].renewals if c.id in targets else 0,
        )
        for c in communes
    ]


def set_targets(
    session: Session,
    *,
    campaign_id: int,
    province_id: int,
    targets: Mapping[int, tuple[int, int]],
    by_user: User,
) -> int:
    """Set communes' targets (new participants, renewals); the province's row is their sum.

    Returns how many communes changed. All or nothing: one bad number changes nothing.
    """
    campaign = get_campaign(session, campaign_id=campaign_id, province_id=province_id)
    if campaign is None:
        raise CampaignError(_("Không tìm thấy chiến dịch."))
    communes = {
        c.id: c
        for c in session.exec(
            select(GeoUnit).where(
                GeoUnit.province_id == province_id, GeoUnit.kind == UnitKind.COMMUNE
            )
        ).all()
    }
    for unit_id, pair in targets.items():
        if unit_id not in communes:
            raise CampaignError(_("Chỉ tiêu chỉ đặt cho xã, phường, đặc khu của tỉnh."))
        for value in pair:
            if isinstance(value, bool) or not isinstance(value, int):
                raise CampaignError(_("Chỉ tiêu phải là số nguyên."))
            if not 0 <= value <= MAX_TARGET:
                raise CampaignError(
                    _(
                        "Chỉ tiêu của %(unit)s phải từ 0 đến 10.000.000.",
                        unit=communes[unit_id].name,
                    )
                )
    existing = {
        t.unit_id: t
        for t in session.exec(select(Target).where(Target.campaign_id == campaign.id)).all()
    }
    changed: dict[str, list[int]] = {}
    for unit_id, (new, renew) in targets.items():
        row = existing.get(unit_id)
        if row is None:
            if new == 0 and renew == 0:
                continue
            row = Target(campaign_id=campaign.id, unit_id=unit_id)
            existing[unit_id] = row
        elif (row.new_participants, row.renewals) == (new, renew):
            continue
        changed[communes[unit_id].code] = [new, renew]
        row.new_participants, row.renewals = new, renew
        session.add(row)
    if changed:
        session.flush()
        _sync_province_total(session, campaign=campaign, existing=existing, communes=communes)
        _audit(session, by_user, "targets_updated", campaign, {"communes": changed})
    session.flush()
    return len(changed)


def _sync_province_total(
    session: Session, *, campaign: Campaign, existing: dict[int, Target], communes: dict
) -> None:
    """Keep the province row equal to the sum of its communes (the summaries' total line)."""
    total_new = sum(t.new_participants for u, t in existing.items() if u in communes)
    total_renew = sum(t.renewals for u, t in existing.items() if u in communes)
    province_row = existing.get(campaign.province_id)
    if province_row is None:
        province_row = Target(campaign_id=campaign.id, unit_id=campaign.province_id)
    province_row.new_participants, province_row.renewals = total_new, total_renew
    session.add(province_row)

"""The national dashboard: every province's progress in its own active campaign, and the country's.

Each province's row is `service.scope_totals` of the province (the dashboard's own sum, through
tallies.figures), so a province reads the same here as on its own dashboard. Provinces run their
own campaigns with their own dates; "behind" is judged against each one's calendar.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlmodel import Session, select

from outreach.core.scope import Scope
from outreach.core.text import place_key
from outreach.dashboard.service import (
    Row,
    add_rows,
    campaign_days,
    campaign_window,
    mark_behind,
    scope_totals,
)
from outreach.models import Campaign, GeoUnit
from outreach.models.codes import UnitKind


@dataclass
class NationalDashboard:
    """The country's totals, one row per province with an active campaign, and those without."""

    unit: GeoUnit
    as_of: date
    totals: Row
    rows: list[Row]
    without_campaign: list[GeoUnit]
    provinces: list[GeoUnit]


def national_dashboard(
    session: Session, *, scope: Scope, campaigns: list[Campaign], today: date
) -> NationalDashboard:
    """Roll the provinces' active campaigns (one per province, `campaigns`) up to the country."""
    nation = session.get(GeoUnit, scope.unit_id)
    provinces = sorted(
        session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).all(),
        key=lambda u: place_key(u.name, u.type_name),
    )
    campaign_of = {c.province_id: c for c in campaigns}
    rows, without = [], []
    for province in provinces:
        campaign = campaign_of.get(province.id)
        if campaign is None:
            without.append(province)
            continue
        first, last = campaign_window(campaign, today)
        province_scope = replace(
            scope,
            unit_id=province.id,
            unit_kind=UnitKind.PROVINCE,
            province_id=province.id,
            commune_ids=None,
        )
        row, _communes, _tallied = scope_totals(
            session, scope=province_scope, campaign=campaign, unit=province, first=first, last=last
        )
        row.kind = "province"
        rows.append(mark_behind(row, campaign_days(campaign, first, last)[2]))
    totals = add_rows(Row("total", nation.id, nation.name), rows)
    return NationalDashboard(nation, today, totals, rows, without, provinces)

"""The national bulletin's figures: every province's bulletin totals for a half-month, summed.

Each province's row is its own bulletin's province line (`service.compute_figures` of its active
campaign), so the country's figures are the sum of what each province publishes, and a province
reads the same in both. Provinces are ranked by the one rule of tallies.figures.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from outreach.core.periods import Period
from outreach.core.text import place_key
from outreach.models import Campaign, GeoUnit
from outreach.models.codes import UnitKind
from outreach.summaries.exports import unit_figures
from outreach.summaries.service import compute_figures, sum_rows, with_target
from outreach.tallies.figures import RANKED, ranks_and_marks


def national_figures(
    session: Session, *, campaigns: list[Campaign], period: Period, cutoff: datetime
) -> dict:
    """The country's figures for a period: a row per province with an active campaign, their
    sum (targets included) and the provinces' ranks and marks."""
    nation = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.NATION)).first()
    provinces = []
    for campaign in campaigns:
        figures = compute_figures(session, campaign=campaign, period=period, cutoff=cutoff)
        provinces.append({**figures["totals"], **figures["province"]})
    provinces.sort(key=lambda p: place_key(p["name"]))
    country = {
        "id": nation.id if nation else None,
        "name": nation.name if nation else "Việt Nam",
        "period": sum_rows([p["period"] for p in provinces]),
        "total": sum_rows([p["total"] for p in provinces]),
    }
    with_target(
        country,
        sum(p["target_new"] for p in provinces),
        sum(p["target_renewals"] for p in provinces),
    )
    marks = ranks_and_marks({p["id"]: p["ratio"] for p in provinces}, ranked=RANKED)
    for p in provinces:
        p["rank"], p["mark"] = marks.get(p["id"], (None, None))
    return {
        "period": {
            "key": period.key,
            "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(),
        },
        "cutoff_at": cutoff.isoformat(),
        "totals": country,
        "provinces": provinces,
    }


def national_machine_figures(figures: dict) -> dict:
    """The national figures as plain JSON, each unit as a province bulletin's JSON has it."""
    return {
        "period": figures["period"],
        "cutoff_at": figures["cutoff_at"],
        "country": unit_figures(figures["totals"]),
        "provinces": [unit_figures(p) for p in figures["provinces"]],
    }

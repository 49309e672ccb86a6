"""The lists behind the dashboard's numbers: the visits, households or outcomes a cell counts.

A cell is a metric of a row of the dashboard's table (a commune, a village or a canvasser of the
scope) over the campaign's days so far. Each list is counted and paged from the raw rows with the
same conditions as the row's figure (`dashboard/service.py`), so a list's length is the number
that linked to it; a test checks every cell of a commune's dashboard that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import distinct, func, or_
from sqlmodel import Session, select

from outreach.core.periods import local_midnight
from outreach.core.scope import Scope, personal_rows
from outreach.models import CampaignReach, GeoUnit, Household, Person, User, Visit, VisitOutcome
from outreach.models.codes import Outcome, UnitKind
from outreach.tallies.figures import visited_between

# Metric → the outcome it counts (None: visits or households, counted from the visits).
METRICS: dict[str, str | None] = {
    "visits": None,
    "households": None,
    "new": Outcome.ENROLLED_NEW.value,
    "renewals": Outcome.RENEWED.value,
    "promises": Outcome.PROMISED.value,
}
OTHER_VILLAGE = "other"  # the table's row for villages elsewhere or unknown


@dataclass(frozen=True)
class Cell:
    """Which number: a metric over [first, last] in a scope, maybe of one village or canvasser."""

    scope: Scope
    campaign_id: int
    first: date
    last: date
    metric: str
    village: int | str | None = None  # a village id, OTHER_VILLAGE, or None for every village
    canvasser_id: int | None = None

    @property
    def from_reach(self) -> bool:
        """Households reached by communes (no village or canvasser): as the figure, from
        `campaign_reach`; grouping a province's visits by household took seconds."""
        return self.metric == "households" and self.village is None and self.canvasser_id is None


@dataclass(frozen=True)
class Entry:
    """One line of a list: when, which household, who was met and with what outcome, by whom."""

    visited_at: datetime
    household_id: int
    household_name: str
    address: str
    canvasser: str
    person: str = ""
    outcome: str = ""
    visits: int | None = 1  # households list: visits in the window (None: first visit only)


def _village_condition(session: Session, model: type, cell: Cell) -> list:
    """The row's village: one village, or those not (or no longer) in the scope's communes."""
    if cell.village is None:
        return []
    if cell.village != OTHER_VILLAGE:
        return [model.village_id == cell.village]
    own = select(GeoUnit.id).where(
        GeoUnit.kind == UnitKind.VILLAGE,
        GeoUnit.parent_id.in_(sorted(cell.scope.commune_ids or ())),
    )
    return [or_(model.village_id.is_(None), model.village_id.not_in(own))]


def _visit_conditions(session: Session, cell: Cell) -> list:
    conditions = [
        *personal_rows(Visit, cell.scope),
        *visited_between(Visit, cell.first, cell.last),
        *_village_condition(session, Visit, cell),
    ]
    if cell.canvasser_id is not None:
        conditions.append(Visit.canvasser_id == cell.canvasser_id)
    return conditions


def _outcome_conditions(session: Session, cell: Cell) -> list:
    conditions = [
        *personal_rows(VisitOutcome, cell.scope),
        VisitOutcome.outcome == METRICS[cell.metric],
        *visited_between(VisitOutcome, cell.first, cell.last),
        *_village_condition(session, VisitOutcome, cell),
    ]
    if cell.canvasser_id is not None:
        conditions.append(
            VisitOutcome.visit_id.in_(
                select(Visit.id).where(
                    Visit.canvasser_id == cell.canvasser_id, *personal_rows(Visit, cell.scope)
                )
            )
        )
    return conditions


def _reach_conditions(cell: Cell) -> list:
    conditions = [
        CampaignReach.campaign_id == cell.campaign_id,
        CampaignReach.first_visit_at < local_midnight(cell.last + timedelta(days=1)),
    ]
    if cell.scope.commune_ids is not None:
        conditions.append(CampaignReach.commune_id.in_(sorted(cell.scope.commune_ids)))
    return conditions


def count_cell(session: Session, *, cell: Cell) -> int:
    """How many visits, households or outcomes the cell counts."""
    if cell.from_reach:
        stmt = select(func.count()).select_from(CampaignReach).where(*_reach_conditions(cell))
    elif cell.metric == "households":
        stmt = select(func.count(distinct(Visit.household_id))).where(
            *_visit_conditions(session, cell)
        )
    elif cell.metric == "visits":
        stmt = select(func.count()).select_from(Visit).where(*_visit_conditions(session, cell))
    else:
        stmt = (
            select(func.count())
            .select_from(VisitOutcome)
            .where(*_outcome_conditions(session, cell))
        )
    return int(session.execute(stmt).scalar_one())


def list_cell(session: Session, *, cell: Cell, offset: int, limit: int) -> list[Entry]:
    """A page of what the cell counts, newest first."""
    canvasser = User.full_name.label("canvasser")
    if cell.from_reach:
        rows = session.execute(
            select(CampaignReach.household_id, CampaignReach.first_visit_at)
            .where(*_reach_conditions(cell))
            .order_by(CampaignReach.first_visit_at.desc(), CampaignReach.household_id)
            .offset(offset)
            .limit(limit)
        ).all()
        homes = _households(session, [hid for hid, _ in rows])
        return [
            Entry(at, hid, homes[hid].head_name or "", homes[hid].address, "", visits=None)
            for hid, at in rows
        ]
    if cell.metric == "households":
        latest = func.max(Visit.visited_at).label("latest")
        rows = session.execute(
            select(Visit.household_id, latest, func.count())
            .where(*_visit_conditions(session, cell))
            .group_by(Visit.household_id)
            .order_by(latest.desc(), Visit.household_id)
            .offset(offset)
            .limit(limit)
        ).all()
        homes = _households(session, [r[0] for r in rows])
        return [
            Entry(at, hid, homes[hid].head_name or "", homes[hid].address, "", visits=int(n))
            for hid, at, n in rows
        ]
    if cell.metric == "visits":
        stmt = (
            select(
                Visit.visited_at, Household.id, Household.head_name, Household.address, canvasser
            )
            .join(Household, Household.id == Visit.household_id)
            .join(User, User.id == Visit.canvasser_id)
            .where(*_visit_conditions(session, cell))
            .order_by(Visit.visited_at.desc(), Visit.id.desc())
        )
        rows = session.execute(stmt.offset(offset).limit(limit)).all()
        return [Entry(at, hid, name or "", address, who) for at, hid, name, address, who in rows]
    stmt = (
        select(
            VisitOutcome.visited_at,
            Household.id,
            Household.head_name,
            Household.address,
            canvasser,
            Person.full_name,
            VisitOutcome.outcome,
        )
        .join(Person, Person.id == VisitOutcome.person_id)
        .join(Visit, Visit.id == VisitOutcome.visit_id)
        .join(Household, Household.id == Visit.household_id)
        .join(User, User.id == Visit.canvasser_id)
        .where(*_outcome_conditions(session, cell))
        .order_by(VisitOutcome.visited_at.desc(), VisitOutcome.id.desc())
    )
    rows = session.execute(stmt.offset(offset).limit(limit)).all()
    return [
        Entry(at, hid, name or "", address, who, person, outcome)
        for at, hid, name, address, who, person, outcome in rows
    ]


def _households(session: Session, ids: list[int]) -> dict[int, Household]:
    return {h.id: h for h in session.exec(select(Household).where(Household.id.in_(ids or [0])))}

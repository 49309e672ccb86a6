"""The 15th / 30th media summaries: figures at a cut-off, drafts, and frozen published versions.

Figures come from the running tallies (`daily_tally`, `campaign_reach`) and, for households
reached in a half-month, from a covering index on visits, so a province of two million visits is
summed in well under a second. They are plain JSON (no personal data: counts by commune only),
stored with every version; publishing adds the PDF bytes and their SHA-256 and never changes
them again. A correction is a new version with a reason.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import distinct, func
from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.clock import VIETNAM, today_local
from outreach.core.errors import DomainError
from outreach.core.formatting import format_day
from outreach.core.i18n import _
from outreach.core.periods import Period, ensure_period, period_containing, previous_period
from outreach.core.scope import province_scope
from outreach.core.text import place_key
from outreach.models import (
    Campaign,
    GeoUnit,
    Payment,
    ReportPeriod,
    ReviewMeeting,
    ReviewMeetingUnit,
    Summary,
)
from outreach.models.base import utcnow
from outreach.models.codes import MeetingDecision, RefusalReason, SummaryStatus, UnitKind
from outreach.summaries.document import render_document_pdf
from outreach.summaries.lead import lead_paragraph
from outreach.tallies import figures
from outreach.tallies.figures import (
    CRITICISM,
    PRAISE,
    commune_targets,
    own_targets,
    ranks_and_marks,
)
from outreach.tallies.service import REFUSED_PREFIX

SOURCE = "Ứng dụng vận động BHXH tự nguyện (outreach), số liệu cán bộ vận động ghi nhận"
RANKED = 3  # communes praised at the top and named at the bottom
METRICS = ("new", "renewals", "visits", "households", "promises", "refusals")


class SummaryError(DomainError):
    """A summary action that cannot be done, with a Vietnamese message for the admin."""


def _empty() -> dict:
    return {**dict.fromkeys(METRICS, 0), "refusal_reasons": dict.fromkeys(RefusalReason, 0)}


def _tallies(session: Session, province_id: int, first: date, last: date) -> dict[int, dict]:
    """Per commune: every figure on days [first, last], read through tallies.figures."""
    counts = figures.commune_counts(
        session, scope=province_scope(province_id), first=first, last=last
    )
    out: dict[int, dict] = defaultdict(_empty)
    for commune_id, counter in counts.items():
        row = out[commune_id]
        for name, n in counter.items():
            if name.startswith(REFUSED_PREFIX):
                row["refusal_reasons"][name.removeprefix(REFUSED_PREFIX)] = n
            elif name in row:
                row[name] += n
    return out


def _confirmed(session: Session, province_id: int, first: date, last: date) -> dict[int, dict]:
    """Per commune: persons whose payment (from imported payment lists) confirms them."""
    rows = session.execute(
        select(
            Payment.commune_id, Payment.is_new_enrollment, func.count(distinct(Payment.person_id))
        )
        .where(
            Payment.province_id == province_id, Payment.paid_on >= first, Payment.paid_on <= last
        )
        .group_by(Payment.commune_id, Payment.is_new_enrollment)
    ).all()
    out: dict[int, dict] = defaultdict(lambda: {"new": 0, "renewals": 0})
    for commune_id, is_new, n in rows:
        out[commune_id]["new" if is_new else "renewals"] += int(n)
    return out


def _add(total: dict, part: dict) -> None:
    for key in METRICS:
        total[key] += part.get(key, 0)
    for reason, n in part.get("refusal_reasons", {}).items():
        total["refusal_reasons"][reason] = total["refusal_reasons"].get(reason, 0) + n


def _ratio(done: int, target: int) -> float | None:
    return done / target if target else None


@dataclass
class _Window:
    """Per-commune counts of one span of days (a period, or the campaign so far)."""

    counts: dict[int, dict]
    confirmed: dict[int, dict]
    households: dict[int, int] = field(default_factory=dict)

    def commune(self, commune_id: int) -> dict:
        row = {**_empty(), **{k: v for k, v in self.counts.get(commune_id, _empty()).items()}}
        row["refusal_reasons"] = dict(row["refusal_reasons"])
        row["households"] = self.households.get(commune_id, 0)
        confirmed = self.confirmed.get(commune_id, {"new": 0, "renewals": 0})
        row["confirmed_new"], row["confirmed_renewals"] = confirmed["new"], confirmed["renewals"]
        return row


def _window(
    session: Session, campaign: Campaign, first: date, period: Period, *, whole_campaign: bool
) -> _Window:
    province_id = campaign.province_id
    window = _Window(
        _tallies(session, province_id, first, period.ends_on),
        _confirmed(session, province_id, first, period.ends_on),
    )
    if whole_campaign:  # distinct across the campaign: not a sum of half-months
        window.households = figures.campaign_households(
            session, scope=province_scope(province_id), campaign=campaign, last=period.ends_on
        )
    else:
        window.households = {c: counts["households"] for c, counts in window.counts.items()}
    return window


def sum_rows(rows: list[dict]) -> dict:
    """The sum of units' figures (a group's, a province's, the country's)."""
    total = {**_empty(), "confirmed_new": 0, "confirmed_renewals": 0}
    total["refusal_reasons"] = dict(total["refusal_reasons"])
    for row in rows:
        _add(total, row)
        total["confirmed_new"] += row["confirmed_new"]
        total["confirmed_renewals"] += row["confirmed_renewals"]
    return total


def _trend(session: Session, campaign: Campaign, period: Period) -> list[dict]:
    """New participants and renewals per half-month from the campaign start to this period."""
    months = figures.half_months(
        session,
        scope=province_scope(campaign.province_id),
        first=campaign.starts_on,
        last=period.ends_on,
    )
    return [
        {
            "starts_on": p.starts_on.isoformat(),
            "ends_on": p.ends_on.isoformat(),
            "label_day": p.label_day,
            "new": counts["new"],
            "renewals": counts["renewals"],
        }
        for p, counts in months
    ]


def _communes(session: Session, province_id: int) -> list[tuple[GeoUnit, GeoUnit | None]]:
    """The province's communes with their old-district group where the province uses one."""
    units = session.exec(select(GeoUnit).where(GeoUnit.province_id == province_id)).all()
    by_id = {u.id: u for u in units}
    communes = sorted(
        (u for u in units if u.kind == UnitKind.COMMUNE),
        key=lambda u: place_key(u.name, u.type_name),
    )
    return [
        (
            c,
            by_id.get(c.parent_id)
            if by_id.get(c.parent_id) and by_id[c.parent_id].kind == UnitKind.GROUP
            else None,
        )
        for c in communes
    ]


def with_target(row: dict, new: int, renewals: int) -> dict:
    """Set a unit's target and the shares of it achieved."""
    total = row["total"]
    row.update(
        target_new=new,
        target_renewals=renewals,
        ratio_new=_ratio(total["new"], new),
        ratio_renewals=_ratio(total["renewals"], renewals),
        ratio=_ratio(total["new"] + total["renewals"], new + renewals),
    )
    return row


def compute_figures(
    session: Session, *, campaign: Campaign, period: Period, cutoff: datetime
) -> dict:
    """Everything a summary shows, for the province of the campaign, as plain JSON-ready data."""
    province = session.get(GeoUnit, campaign.province_id)
    first = campaign.starts_on
    current = _window(session, campaign, period.starts_on, period, whole_campaign=False)
    cumulative = _window(session, campaign, first, period, whole_campaign=True)
    as_of = min(cutoff.astimezone(VIETNAM).date(), period.ends_on)
    days = (as_of - period.starts_on).days + 1
    partial = as_of < period.ends_on
    previous_p = _like_for_like(previous_period(period), days if partial else None)
    previous = (
        _window(session, campaign, previous_p.starts_on, previous_p, whole_campaign=False)
        if previous_p.ends_on >= campaign.starts_on and days > 0
        else None
    )
    targets = own_targets(session, campaign)
    province_communes = _communes(session, province.id)
    # A commune without a target of its own takes its villages' (the one rule: docs/figures.md).
    targets.update(
        commune_targets(
            session, campaign=campaign, commune_ids=[c.id for c, _ in province_communes]
        )
    )
    communes = []
    groups: dict[int, dict] = {}
    for unit, group in province_communes:
        row = {
            "id": unit.id,
            "name": unit.name,
            "group": group.name if group else None,
            "period": current.commune(unit.id),
            "total": cumulative.commune(unit.id),
        }
        communes.append(with_target(row, *targets.get(unit.id, (0, 0))))
        if group:
            groups.setdefault(group.id, {"id": group.id, "name": group.name, "members": []})
            groups[group.id]["members"].append(row)
    group_rows = []
    for g in sorted(groups.values(), key=lambda g: place_key(g["name"])):
        members = g.pop("members")
        row = {**g, "period": sum_rows([m["period"] for m in members])}
        row["total"] = sum_rows([m["total"] for m in members])
        fallback = tuple(sum(m[k] for m in members) for k in ("target_new", "target_renewals"))
        group_rows.append(with_target(row, *targets.get(g["id"], fallback)))
    fallback = tuple(sum(c[k] for c in communes) for k in ("target_new", "target_renewals"))
    province_row = {
        "id": province.id,
        "name": province.name,
        "period": sum_rows([c["period"] for c in communes]),
        "total": sum_rows([c["total"] for c in communes]),
    }
    with_target(province_row, *targets.get(province.id, fallback))
    previous_totals = (
        sum_rows([previous.commune(c["id"]) for c in communes]) if previous is not None else None
    )
    marks = ranks_and_marks({c["id"]: c["ratio"] for c in communes}, ranked=RANKED)
    for c in communes:
        c["rank"], c["mark"] = marks.get(c["id"], (None, None))
    ranked = sorted(
        (c for c in communes if c["ratio"] is not None),
        key=lambda c: (-c["ratio"], place_key(c["name"])),
    )
    has_payments = session.exec(
        select(func.count()).select_from(Payment).where(Payment.province_id == province.id)
    ).one()
    figures = {
        "province": {"id": province.id, "name": province.name, "short_name": _short(province)},
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(),
        },
        "period": {
            "key": period.key,
            "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(),
            "label_day": period.label_day,
        },
        "previous_period": {
            "starts_on": previous_p.starts_on.isoformat(),
            "ends_on": previous_p.ends_on.isoformat(),
        },
        "cutoff_at": cutoff.isoformat(),
        "as_of": as_of.isoformat(),
        # A period drafted before its end is compared with as many days of the previous one.
        "comparison": {
            "partial": partial,
            "days": max(days, 0),
            "days_in_period": (period.ends_on - period.starts_on).days + 1,
        },
        "source": SOURCE,
        "has_payments": bool(has_payments),
        "totals": province_row,
        "previous": previous_totals,
        "communes": communes,
        "groups": group_rows,
        "ranking": {
            # Every unit tied at a boundary is named, as on the rankings page.
            "top": [_rank_entry(c) for c in ranked if c["mark"] == PRAISE],
            "bottom": [_rank_entry(c) for c in ranked if c["mark"] == CRITICISM],
            "ranked": len(ranked),
        },
        "trend": _trend(session, campaign, period),
        "decisions": meeting_decisions(session, campaign=campaign, period=period),
    }
    figures["lead"] = lead_paragraph(figures)
    return figures


def meeting_decisions(session: Session, *, campaign: Campaign, period: Period) -> list[dict]:
    """The praise and criticism review meetings of the province decided in the period, with
    their words and communes, for the bulletin's "Biểu dương / Cần cố gắng" box."""
    meetings = session.exec(
        select(ReviewMeeting)
        .where(
            ReviewMeeting.campaign_id == campaign.id,
            ReviewMeeting.held_on >= period.starts_on,
            ReviewMeeting.held_on <= period.ends_on,
            ReviewMeeting.decision.in_([MeetingDecision.PRAISE, MeetingDecision.CRITICISM]),
            ReviewMeeting.decision_text != "",
        )
        .order_by(ReviewMeeting.held_on, ReviewMeeting.id)
    ).all()
    out = []
    for meeting in meetings:
        units = session.exec(
            select(GeoUnit.name)
            .join(ReviewMeetingUnit, ReviewMeetingUnit.unit_id == GeoUnit.id)
            .where(ReviewMeetingUnit.meeting_id == meeting.id)
        ).all()
        out.append(
            {
                "kind": meeting.decision,
                "held_on": meeting.held_on.isoformat(),
                "units": sorted(units, key=place_key),
                "text": meeting.decision_text,
            }
        )
    return out


def _short(unit: GeoUnit) -> str:
    """ "Bắc Ninh" for "Tỉnh Bắc Ninh": the name without its type word."""
    prefix = f"{unit.type_name} "
    return unit.name.removeprefix(prefix) if unit.type_name else unit.name


def _rank_entry(commune: dict) -> dict:
    return {"name": commune["name"], "ratio": commune["ratio"]}


def _like_for_like(previous: Period, days: int | None) -> Period:
    """The previous period, or only its first `days` days when this one is not over yet."""
    if days is None:
        return previous
    last = previous.starts_on + timedelta(days=max(days, 1) - 1)
    return Period(previous.starts_on, min(last, previous.ends_on))


# --- drafts, publishing, versions ------------------------------------------------------------


def _summaries(session: Session, *, campaign_id: int, period_id: int) -> list[Summary]:
    return list(
        session.exec(
            select(Summary)
            .where(Summary.campaign_id == campaign_id, Summary.period_id == period_id)
            .order_by(Summary.version)
        )
    )


def draft_summary(
    session: Session,
    *,
    campaign: Campaign,
    period: Period,
    user_id: int,
    now: datetime | None = None,
) -> Summary:
    """Compute the period's figures as of now into its draft (created, or refreshed).

    Flushes; the caller commits.
    """
    now = now or utcnow()
    row = ensure_period(session, period=period)
    versions = _summaries(session, campaign_id=campaign.id, period_id=row.id)
    draft = next((s for s in versions if s.status == SummaryStatus.DRAFT), None)
    if draft is None:
        draft = Summary(
            period_id=row.id,
            campaign_id=campaign.id,
            province_id=campaign.province_id,
            version=max((s.version for s in versions), default=0) + 1,
            status=SummaryStatus.DRAFT,
            cutoff_at=now,
            created_by_id=user_id,
        )
    figures = compute_figures(session, campaign=campaign, period=period, cutoff=now)
    draft.figures_json = json.dumps(figures, ensure_ascii=False, sort_keys=True)
    draft.cutoff_at = now
    draft.created_by_id = user_id
    session.add(draft)
    session.flush()
    return draft


def check_publishable(
    session: Session,
    summary: Summary | None,
    *,
    reason: str = "",
    today: date | None = None,
    early: bool = False,
) -> list[Summary]:
    """Refuse (SummaryError) a publication the rules forbid: not a draft, a correction without
    its reason, a period not over without `early`; returns the period's published versions.
    Reads only: the page checks before it queues the job, the job again in its transaction."""
    if summary is None:
        raise SummaryError(_("Không tìm thấy bản tin."))
    if summary.status != SummaryStatus.DRAFT:
        raise SummaryError(_("Bản tin này đã công bố; số liệu đã công bố không thay đổi được."))
    published = [
        s
        for s in _summaries(session, campaign_id=summary.campaign_id, period_id=summary.period_id)
        if s.status == SummaryStatus.PUBLISHED
    ]
    reason = reason.strip()
    if published and not reason:
        raise SummaryError(
            _("Kỳ này đã có bản công bố; hãy ghi lý do đính chính cho phiên bản mới.")
        )
    if len(reason) > 1000:
        raise SummaryError(_("Lý do đính chính tối đa 1.000 ký tự."))
    period = period_of(session, summary)
    if not early and (today or today_local()) <= period.ends_on:
        raise SummaryError(
            _(
                "Kỳ này chưa kết thúc (đến hết ngày %(day)s): số liệu còn thay đổi. Muốn công bố "
                "sớm, hãy đánh dấu xác nhận công bố khi kỳ chưa kết thúc.",
                day=format_day(period.ends_on),
            )
        )
    return published


def publish_summary(
    session: Session,
    *,
    summary_id: int,
    user_id: int | None,
    username: str = "",
    reason: str = "",
    ip: str = "",
    now: datetime | None = None,
    today: date | None = None,
    early: bool = False,
) -> Summary:
    """Freeze a draft: render its PDF from its stored figures (what the admin checked), store the
    bytes and their SHA-256; a later version of the period needs a reason, and a period not over
    by `today` (Vietnam's day) needs `early`, the admin's explicit confirmation. Flushes; the
    caller commits. A PDF that cannot be rendered raises `PdfError` (nothing is changed)."""
    summary = session.get(Summary, summary_id)
    published = check_publishable(session, summary, reason=reason, today=today, early=early)
    reason = reason.strip()
    pdf = render_document_pdf(figures_of(summary))
    summary.pdf = pdf
    summary.content_hash = hashlib.sha256(pdf).hexdigest()
    summary.status = SummaryStatus.PUBLISHED
    summary.published_by_id = user_id
    summary.published_at = now or utcnow()
    summary.correction_reason = reason
    summary.supersedes_id = published[-1].id if published else None
    session.add(summary)
    record_event(
        session,
        action="summary.publish",
        user_id=user_id,
        username=username,
        object_type="summary",
        object_id=summary.id,
        ip=ip,
        detail={"version": summary.version, "sha256": summary.content_hash},
    )
    session.flush()
    return summary


def figures_of(summary: Summary) -> dict:
    """The figures stored with a summary version."""
    return json.loads(summary.figures_json or "{}")


def pdf_filename(period: Period, summary: Summary, extension: str = "pdf") -> str:
    """The file name a version downloads or travels by e-mail under."""
    state = "" if summary.status == SummaryStatus.PUBLISHED else "-ban-nhap"
    return f"ban-tin-bhxh-tu-nguyen-{period.key}-v{summary.version}{state}.{extension}"


def period_of(session: Session, summary: Summary) -> Period:
    """The half-month a summary covers."""
    row = session.get(ReportPeriod, summary.period_id)
    return Period(row.starts_on, row.ends_on)


# --- what the admin home and the archive show -------------------------------------------------


@dataclass(frozen=True)
class PeriodBoard:
    """A period's summary state: due date, the current draft, the published versions."""

    period: Period
    draft: Summary | None
    published: list[Summary]

    @property
    def due_on(self) -> date:
        """The day the summary goes out: the 15th, or the last day of the month."""
        return self.period.ends_on


def summary_board(
    session: Session, *, campaign: Campaign, today: date, count: int = 6
) -> list[PeriodBoard]:
    """The current period and the ones before it (within the campaign), newest first."""
    boards, period = [], period_containing(min(today, campaign.ends_on))
    while len(boards) < count and period.ends_on >= campaign.starts_on:
        row = session.exec(
            select(ReportPeriod).where(ReportPeriod.starts_on == period.starts_on)
        ).first()
        versions = _summaries(session, campaign_id=campaign.id, period_id=row.id) if row else []
        boards.append(
            PeriodBoard(
                period,
                next((s for s in versions if s.status == SummaryStatus.DRAFT), None),
                [s for s in versions if s.status == SummaryStatus.PUBLISHED],
            )
        )
        period = previous_period(period)
    return boards


def published_archive(session: Session, *, province_id: int) -> list[tuple[Period, list[Summary]]]:
    """Published versions by period, newest period first (what media staff may download)."""
    rows = session.exec(
        select(Summary, ReportPeriod)
        .join(ReportPeriod, ReportPeriod.id == Summary.period_id)
        .where(Summary.province_id == province_id, Summary.status == SummaryStatus.PUBLISHED)
        .order_by(ReportPeriod.starts_on.desc(), Summary.version.desc())
    ).all()
    archive: dict[date, tuple[Period, list[Summary]]] = {}
    for summary, period in rows:
        key = period.starts_on
        archive.setdefault(key, (Period(period.starts_on, period.ends_on), []))[1].append(summary)
    return list(archive.values())

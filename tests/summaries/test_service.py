"""Summary figures against an independent recount from raw visits; drafts, freezing, versions."""

import csv
import hashlib
import io
import json
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from outreach.core.clock import VIETNAM
from outreach.core.periods import Period, period_containing, period_from_key
from outreach.core.scope import scope_for
from outreach.models import Campaign, Household, Person, Summary, User, Visit, VisitOutcome
from outreach.summaries.document import render_document_pdf
from outreach.summaries.exports import figures_csv
from outreach.summaries.service import (
    SummaryError,
    compute_figures,
    draft_summary,
    publish_summary,
    summary_board,
)
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from tests.conftest import DEMO_TODAY
from tests.dashboard.test_service import _may_enrol

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
NOW_DAY = NOW.astimezone(VIETNAM).date()


@pytest.fixture
def campaign(session):
    return session.exec(select(Campaign)).one()


def recount(session, campaign, period):
    """Count straight from visit and visit_outcome rows, in Python, with no tally involved."""

    def local(at):
        return at.astimezone(VIETNAM).date()

    def span(day, first):
        return first <= day <= period.ends_on

    out = {"period": defaultdict(Counter), "total": defaultdict(Counter)}
    households = {"period": defaultdict(set), "total": set()}
    for v in session.exec(select(Visit).where(Visit.province_id == campaign.province_id)):
        day = local(v.visited_at)
        if span(day, period.starts_on):
            out["period"][v.commune_id]["visits"] += 1
            households["period"][v.commune_id].add(v.household_id)
        if span(day, campaign.starts_on):
            out["total"][v.commune_id]["visits"] += 1
            households["total"].add(v.household_id)
    names = {
        "enrolled_new": "new",
        "renewed": "renewals",
        "promised": "promises",
        "refused": "refusals",
    }
    for o in session.exec(
        select(VisitOutcome).where(VisitOutcome.province_id == campaign.province_id)
    ):
        day = local(o.visited_at)
        for key, first in (("period", period.starts_on), ("total", campaign.starts_on)):
            if span(day, first) and o.outcome in names:
                out[key][o.commune_id][names[o.outcome]] += 1
                if o.refusal_reason:
                    out[key][o.commune_id]["reason:" + o.refusal_reason] += 1
    return out, households


def test_figures_match_a_recount_from_raw_visits(session, campaign):
    period = period_containing(DEMO_TODAY)
    figures = compute_figures(session, campaign=campaign, period=period, cutoff=NOW)
    counted, households = recount(session, campaign, period)
    assert figures["totals"]["total"]["visits"] > 0 and figures["totals"]["period"]["visits"] > 0
    for row in figures["communes"]:
        for key in ("period", "total"):
            for metric in ("new", "renewals", "visits", "promises", "refusals"):
                assert row[key][metric] == counted[key][row["id"]][metric], (
                    row["name"],
                    key,
                    metric,
                )
            for reason, n in row[key]["refusal_reasons"].items():
                assert n == counted[key][row["id"]]["reason:" + reason]
        assert row["period"]["households"] == len(households["period"][row["id"]])
    assert figures["totals"]["total"]["households"] == len(households["total"])
    assert figures["totals"]["total"]["new"] == sum(c["total"]["new"] for c in figures["communes"])
    previous = period_from_key("2026-11-15")
    # Drafted before the period ends: compared with as many days of the previous one.
    comparison = figures["comparison"]
    assert comparison["partial"] and comparison["days"] == (NOW_DAY - period.starts_on).days + 1
    like = Period(previous.starts_on, previous.starts_on + timedelta(days=comparison["days"] - 1))
    prev_counted, _ = recount(session, campaign, like)
    assert figures["previous"]["new"] == sum(c["new"] for c in prev_counted["period"].values())
    assert figures["previous_period"]["ends_on"] == like.ends_on.isoformat()
    assert (
        f"so với {comparison['days']} ngày đầu kỳ trước" in figures["lead"]
        or not figures["previous"]["new"]
    )
    assert sum(t["new"] for t in figures["trend"]) == figures["totals"]["total"]["new"]


def test_targets_percentages_and_ranking(session, campaign):
    figures = compute_figures(
        session, campaign=campaign, period=period_containing(DEMO_TODAY), cutoff=NOW
    )
    row = figures["communes"][0]
    assert row["target_new"] > 0
    assert row["ratio_new"] == pytest.approx(row["total"]["new"] / row["target_new"])
    ranked = sorted(
        (c for c in figures["communes"] if c["ratio"] is not None), key=lambda c: -c["ratio"]
    )
    assert figures["ranking"]["top"][0]["name"] == ranked[0]["name"]
    assert figures["ranking"]["bottom"][-1]["name"] == ranked[-1]["name"]
    assert len(figures["ranking"]["top"]) == 3
    lead = figures["lead"]
    assert lead.startswith(
        "Tính đến ngày 22/11/2026 (số liệu chốt lúc 10:00 ngày 22/11/2026), toàn tỉnh Bắc Ninh có "
    )
    assert ranked[0]["name"] in lead and ranked[-1]["name"] in lead
    groups = figures["groups"]
    assert (
        groups and sum(g["total"]["visits"] for g in groups) == figures["totals"]["total"]["visits"]
    )


def _visit(session, outcome="enrolled_new"):
    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    # Someone the rules let enrol today (never new in the campaign, not paid up: docs/figures.md).
    person, h = next(
        (p, household)
        for p, household in session.exec(
            select(Person, Household)
            .join(Household, Household.id == Person.household_id)
            .where(Household.commune_id == canvasser.scope_unit_id)
            .order_by(Household.id, Person.id)
        )
        if outcome != "enrolled_new" or _may_enrol(session, p, DEMO_TODAY)
    )
    extra = {"months_paid": 1, "amount": 330_000} if outcome == "enrolled_new" else {}
    record_visit(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        data=VisitInput(
            str(uuid.uuid4()), h.id, "home", (OutcomeInput(person.id, outcome, **extra),)
        ),
        today=DEMO_TODAY,
        now=NOW,
    )
    session.commit()


def test_publishing_freezes_and_a_correction_is_a_new_version(session, campaign):
    admin = session.exec(select(User).where(User.username == "admin")).one()
    period = period_containing(DEMO_TODAY)
    draft = draft_summary(session, campaign=campaign, period=period, user_id=admin.id, now=NOW)
    session.commit()
    frozen = draft.figures_json
    published = publish_summary(session, summary_id=draft.id, user_id=admin.id, now=NOW)
    session.commit()
    assert published.status == "published" and published.version == 1
    pdf = published.pdf  # rendered by the service from the draft's stored figures
    assert pdf.startswith(b"%PDF-") and published.content_hash == hashlib.sha256(pdf).hexdigest()
    assert pdf == render_document_pdf(json.loads(frozen))

    _visit(session)  # new data after publishing
    session.expire_all()
    again = session.get(Summary, published.id)
    assert again.figures_json == frozen and again.pdf == pdf
    with pytest.raises(SummaryError, match="đã công bố"):
        publish_summary(session, summary_id=published.id, user_id=admin.id)

    second = draft_summary(
        session, campaign=campaign, period=period, user_id=admin.id, now=NOW + timedelta(hours=1)
    )
    session.commit()
    assert second.version == 2
    new_total = json.loads(second.figures_json)["totals"]["total"]["new"]
    assert new_total == json.loads(frozen)["totals"]["total"]["new"] + 1
    with pytest.raises(SummaryError, match="lý do"):
        publish_summary(session, summary_id=second.id, user_id=admin.id)
    v2 = publish_summary(
        session,
        summary_id=second.id,
        user_id=admin.id,
        reason="Bổ sung số liệu xã 07210",
    )
    session.commit()
    assert v2.supersedes_id == published.id and v2.correction_reason.startswith("Bổ sung")
    assert v2.content_hash != published.content_hash  # its own figures, its own PDF
    assert session.get(Summary, published.id).pdf == pdf
    board = summary_board(session, campaign=campaign, today=DEMO_TODAY)
    assert board[0].period == period and [s.version for s in board[0].published] == [1, 2]
    assert board[0].draft is None and board[1].due_on == date(2026, 11, 15)


def _excel_rows(body: bytes) -> list[list[str]]:
    """The CSV as Excel set to Vietnamese reads it: UTF-8 after a BOM, ";" between cells."""
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_csv_cells_never_start_a_formula(session, campaign):
    figures = compute_figures(
        session, campaign=campaign, period=period_containing(DEMO_TODAY), cutoff=NOW
    )
    figures["communes"][0]["name"] = '=HYPERLINK("http://x")'
    rows = _excel_rows(figures_csv(figures))
    assert rows[1][0] == '\'=HYPERLINK("http://x")'
    assert rows[0][0] == "Đơn vị" and len(rows) == len(figures["communes"]) + 2
    assert not any(cell[:1] in "=+-@" and cell for row in rows for cell in row)


def test_the_csv_opens_in_excel_set_to_vietnamese(session, campaign):
    """Semicolons between cells and a UTF-8 BOM (docs/decisions.md): Vietnamese names intact,
    every line as wide as the header, counts as plain integers, the share with a decimal comma."""
    figures = compute_figures(
        session, campaign=campaign, period=period_containing(DEMO_TODAY), cutoff=NOW
    )
    body = figures_csv(figures)
    header, *rows = _excel_rows(body)
    assert header[:3] == ["Đơn vị", "Cụm (huyện cũ)", "Tham gia mới trong kỳ"]
    assert header[-1] == "Tỷ lệ hoàn thành (%)"
    assert body.split(b"\r\n")[0].count(b";") == len(header) - 1  # no comma splits a title
    assert all(len(row) == len(header) for row in rows)
    communes = figures["communes"]
    assert [row[0] for row in rows] == [c["name"] for c in communes] + [figures["province"]["name"]]
    assert any("ư" in row[0] or "ơ" in row[0] or "Đ" in row[0] for row in rows)  # not mojibake
    for row, unit in zip(rows, [*communes, figures["totals"]], strict=True):
        counts = [int(cell) for cell in row[2:12]]  # digits only: no thousands mark, no quote
        assert row[2:12] == [str(n) for n in counts]
        assert counts[:2] == [unit["period"]["new"], unit["period"]["renewals"]]
        assert counts[6:8] == [unit["total"]["new"], unit["total"]["renewals"]]
        if unit["ratio"] is None:
            assert row[12] == ""
        else:
            assert row[12] == f"{unit['ratio'] * 100:.2f}".replace(".", ",")


@pytest.mark.parametrize(
    ("key", "starts", "ends", "label"),
    [
        ("2026-11-15", date(2026, 11, 1), date(2026, 11, 15), 15),
        ("2026-11-30", date(2026, 11, 16), date(2026, 11, 30), 30),
        ("2026-12-30", date(2026, 12, 16), date(2026, 12, 31), 30),
        ("2027-02-30", date(2027, 2, 16), date(2027, 2, 28), 30),
        ("2028-02-30", date(2028, 2, 16), date(2028, 2, 29), 30),
        ("2026-02-10", date(2026, 2, 1), date(2026, 2, 15), 15),
    ],
)
def test_periods_are_half_months(key, starts, ends, label):
    period = period_from_key(key)
    assert (period.starts_on, period.ends_on, period.label_day) == (starts, ends, label)
    assert period_from_key(period.key) == period

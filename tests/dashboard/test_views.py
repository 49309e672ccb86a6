"""The leader dashboard over HTTP: roles, scope, sorting, drill-down links and the list pages."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from outreach.core.scope import scope_for
from outreach.dashboard import views as dashboard_views
from outreach.dashboard.service import count_never_visited, count_overdue
from outreach.models import Campaign, GeoUnit, Household, Person, User
from outreach.models.codes import UnitKind
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from tests.conftest import DEMO_TODAY


def _unit(session, code: str) -> GeoUnit:
    return session.exec(select(GeoUnit).where(GeoUnit.code == code)).one()


def _other_commune(session) -> GeoUnit:
    return session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.code != "07210")
    ).first()


@pytest.mark.parametrize("username", ["canbo.07210.1", "baochi"])
def test_canvassers_and_media_are_refused(login_as, username):
    client = login_as(username)
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/list?kind=never_visited").status_code == 403
    assert client.get("/dashboard/cell?metric=visits").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_commune_leader_sees_villages_and_canvassers_of_their_commune(login_as, session):
    client = login_as("lanhdao.07210")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Phường Bắc Giang" in html
    assert "Theo thôn, tổ dân phố" in html  # a commune opens on its villages
    village = session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == _unit(session, "07210").id)
    ).first()
    assert village.name in html
    html = client.get("/dashboard?by=canvasser").get_data(as_text=True)
    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    assert f'href="/worklist?canvasser={canvasser.id}"' in html
    assert "dự kiến đạt" in html and "<svg" in html and 'id="trend-table"' in html


def test_commune_leader_cannot_open_another_commune(login_as, session):
    client = login_as("lanhdao.07210")
    other = _other_commune(session)
    assert client.get(f"/dashboard?unit={other.id}").status_code == 404
    assert client.get(f"/dashboard/list?kind=never_visited&unit={other.id}").status_code == 404
    assert client.get(f"/dashboard/list?kind=overdue&unit={other.id}").status_code == 404
    assert client.get("/dashboard?unit=abc").status_code == 404
    assert client.get("/dashboard?unit=99999999").status_code == 404


def test_province_leader_drills_down_into_a_commune(login_as, session):
    client = login_as("lanhdao.tinh")
    html = client.get("/dashboard").get_data(as_text=True)
    other = _other_commune(session)
    assert f'href="/dashboard?unit={other.id}&amp;campaign=' in html
    assert "Thôn, tổ" not in html  # no village rows for a whole province
    drilled = client.get(f"/dashboard?unit={other.id}").get_data(as_text=True)
    assert f"Tiến độ: {other.name}" in drilled and "Theo thôn, tổ dân phố" in drilled
    assert client.get(f"/dashboard/list?kind=never_visited&unit={other.id}").status_code == 200


def test_group_leader_cannot_open_a_commune_outside_the_group(login_as, session):
    leader = session.exec(select(User).where(User.username == "lanhdao.cum")).one()
    scope = scope_for(session, leader)
    outside = session.exec(
        select(GeoUnit).where(
            GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id.not_in(sorted(scope.commune_ids))
        )
    ).first()
    inside = sorted(scope.commune_ids)[0]
    client = login_as("lanhdao.cum")
    assert client.get(f"/dashboard?unit={outside.id}").status_code == 404
    assert client.get(f"/dashboard?unit={inside}").status_code == 200


def _column(html: str, index: int) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*data-row[^>]*>(.*?)</tr>", body, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[index] for row in rows]
    return [re.sub(r"<[^>]+>", "", cell) for cell in cells]  # a number may be a link


def _n(text: str) -> int:
    return int(text.replace(".", "").strip() or 0)


def test_sorting_by_a_column_and_aria_sort(login_as):
    client = login_as("lanhdao.tinh")
    html = client.get("/dashboard?sort=visits&dir=desc").get_data(as_text=True)
    visits = [_n(v) for v in _column(html, 4)]
    assert visits == sorted(visits, reverse=True) and visits[0] > visits[-1]
    assert re.search(r'aria-sort="descending">\s*<a[^>]*data-sort="visits"', html)
    assert re.search(r'aria-sort="none">\s*<a[^>]*data-sort="new"', html)
    html = client.get("/dashboard?sort=visits&dir=asc").get_data(as_text=True)
    assert [_n(v) for v in _column(html, 4)] == sorted(visits)
    # The header of the sorted column links to the other direction.
    assert "sort=visits&amp;dir=desc" in html


def test_htmx_sorting_returns_only_the_table(login_as):
    client = login_as("lanhdao.tinh")
    response = client.get("/dashboard?sort=new&dir=desc", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="dash-table"')
    assert "<html" not in html


def test_bad_parameters_are_harmless(login_as):
    client = login_as("lanhdao.07210")
    assert client.get("/dashboard?sort=drop&dir=sideways&by=nothing").status_code == 200
    assert client.get("/dashboard?campaign=abc").status_code == 404
    assert client.get("/dashboard?campaign=99999").status_code == 404
    assert client.get("/dashboard/list?kind=everything").status_code == 404


@pytest.mark.parametrize("username", ["lanhdao.07210", "lanhdao.cum", "lanhdao.tinh"])
def test_list_pages_show_the_counted_rows_in_scope(app, login_as, session, username):
    # The page counts as of the app's today: the demo's day here, as the counts below (after
    # 17:00 UTC Vietnam's clock is already on the next day, and a promise falls overdue).
    app.config["OUTREACH_TODAY"] = DEMO_TODAY.isoformat()
    _promise_made_a_week_ago(session)
    client = login_as(username)
    leader = session.exec(select(User).where(User.username == username)).one()
    scope = scope_for(session, leader)
    html = client.get("/dashboard").get_data(as_text=True)
    never = count_never_visited(session, scope=scope)
    overdue = count_overdue(session, scope=scope, today=DEMO_TODAY)
    assert never + overdue > 0
    assert re.search(rf'id="stat-never"[^>]*><span class="stat-value">{never}</span>', html)
    listing = client.get("/dashboard/list?kind=never_visited").get_data(as_text=True)
    ids = {int(i) for i in re.findall(r'href="/households/(\d+)"', listing)}
    assert len(ids) == min(never, 50)
    households = session.exec(select(Household).where(Household.id.in_(ids or {0}))).all()
    assert all(scope.covers_commune(h.commune_id) and h.last_visit_at is None for h in households)
    listing = client.get("/dashboard/list?kind=overdue").get_data(as_text=True)
    assert overdue > 0
    assert re.search(rf'id="stat-overdue"[^>]*><span class="stat-value">{overdue}</span>', html)
    assert listing.count('href="/households/') == min(overdue, 50)


def _promise_made_a_week_ago(session) -> None:
    """A promise in 07210 whose date (three days ago) passed without a visit: one overdue."""
    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    household = session.exec(
        select(Household).where(Household.commune_id == canvasser.scope_unit_id)
    ).first()
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    at = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)
    record_visit(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        data=VisitInput(
            str(uuid.uuid4()),
            household.id,
            "home",
            (OutcomeInput(person.id, "promised", follow_up_on=date(2026, 11, 19)),),
            visited_at=at,
        ),
        today=DEMO_TODAY,
        now=datetime(2026, 11, 22, 3, 0, tzinfo=UTC),
    )
    session.commit()


def test_list_pages_are_paged(login_as, session, monkeypatch):
    monkeypatch.setattr(dashboard_views, "LIST_PAGE", 10)
    client = login_as("lanhdao.tinh")
    leader = session.exec(select(User).where(User.username == "lanhdao.tinh")).one()
    never = count_never_visited(session, scope=scope_for(session, leader))
    assert never > 10
    first = client.get("/dashboard/list?kind=never_visited").get_data(as_text=True)
    second = client.get("/dashboard/list?kind=never_visited&offset=10").get_data(as_text=True)
    ids_1 = set(re.findall(r'href="/households/(\d+)"', first))
    ids_2 = set(re.findall(r'href="/households/(\d+)"', second))
    assert len(ids_1) == 10 and ids_2 and not ids_1 & ids_2
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_campaign_of_another_province_is_not_found(login_as, session):
    campaign = session.exec(select(Campaign)).first()
    client = login_as("lanhdao.07210")
    assert client.get(f"/dashboard?campaign={campaign.id}").status_code == 200
    other = Campaign(
        province_id=_other_commune(session).id,  # not a province of this leader
        name="x",
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
    )
    session.add(other)
    session.commit()
    assert client.get(f"/dashboard?campaign={other.id}").status_code == 404


def test_admin_sees_the_province_and_a_village_is_no_dashboard(login_as, session):
    client = login_as("admin")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Tiến độ: " in html and 'id="dash-table"' in html
    village = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.VILLAGE)).first()
    assert client.get(f"/dashboard?unit={village.id}").status_code == 404
    # …but its never-visited households are a list like any other.
    assert client.get(f"/dashboard/list?kind=never_visited&unit={village.id}").status_code == 200


def test_every_number_in_the_table_opens_its_list(login_as, session):
    """Follow each linked number of a commune's village table: the list says the same count."""
    _promise_made_a_week_ago(session)
    client = login_as("lanhdao.07210")
    for by in ("village", "canvasser"):
        html = client.get(f"/dashboard?by={by}").get_data(as_text=True)
        links = re.findall(
            r'<a href="(/dashboard/cell\?[^"]+)" data-metric="(\w+)">([\d.]+)</a>', html
        )
        assert links, by
        for href, metric, shown in links:
            page = client.get(href.replace("&amp;", "&"))
            assert page.status_code == 200, href
            text = page.get_data(as_text=True)
            total = re.search(r'id="cell-total">([\d.]+) mục', text).group(1)
            assert total == shown, (href, metric)
            if metric != "households":
                assert text.count('href="/households/') == min(int(shown.replace(".", "")), 50)
    html = client.get("/dashboard").get_data(as_text=True)
    for stat in ("stat-visits", "stat-households"):
        href, shown = re.search(
            rf'id="{stat}" href="([^"]+)"><span class="stat-value">([\d.]+)<', html
        ).groups()
        text = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert re.search(r'id="cell-total">([\d.]+) mục', text).group(1) == shown


def test_cell_lists_stay_inside_the_scope(login_as, session):
    client = login_as("lanhdao.07210")
    other = _other_commune(session)
    foreign_village = session.exec(select(GeoUnit).where(GeoUnit.parent_id == other.id)).first()
    assert client.get("/dashboard/cell?metric=visits").status_code == 200
    assert client.get("/dashboard/cell?metric=visits&village=other").status_code == 200
    assert client.get(f"/dashboard/cell?metric=visits&unit={other.id}").status_code == 404
    assert (
        client.get(f"/dashboard/cell?metric=visits&village={foreign_village.id}").status_code == 404
    )
    assert client.get("/dashboard/cell?metric=salaries").status_code == 404
    assert client.get("/dashboard/cell?metric=visits&village=abc").status_code == 404
    assert client.get("/dashboard/cell?metric=visits&canvasser=999999").status_code == 404
    assert client.get("/dashboard/cell?metric=visits&canvasser=x").status_code == 404

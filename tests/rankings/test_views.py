"""The rankings page and its .xlsx: roles, scope, the date, bad input, and the audited export."""

import json
from datetime import date

import pytest
from sqlmodel import select

from outreach.core.scope import scope_for
from outreach.imports.reading import read_table
from outreach.models import AuditLog, Campaign, GeoUnit, User
from outreach.models.codes import UnitKind
from outreach.rankings.service import rank_units


def _scope(session, username):
    return scope_for(session, session.exec(select(User).where(User.username == username)).one())


@pytest.mark.parametrize("username", ["canbo.07210.1", "baochi"])
def test_canvassers_and_media_are_refused(login_as, username):
    client = login_as(username)
    assert client.get("/rankings").status_code == 403
    assert client.get("/rankings.xlsx").status_code == 403


def test_anonymous_users_go_to_the_login(client):
    response = client.get("/rankings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_province_leader_ranks_communes_at_a_chosen_date(login_as, session):
    client = login_as("lanhdao.tinh")
    response = client.get("/rankings?date=15/11/2026")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    campaign = session.exec(select(Campaign)).one()
    rows = rank_units(
        session, scope=_scope(session, "lanhdao.tinh"), campaign=campaign, as_of=date(2026, 11, 15)
    )
    assert "Còn 46 ngày đến hạn 31/12/2026" in html
    assert "tính đến hết ngày 15/11/2026" in html
    assert html.count("chip-praise") == sum(r.mark == "praise" for r in rows) >= 3
    assert html.count("chip-criticism") == sum(r.mark == "criticism" for r in rows) >= 3
    assert html.index(rows[0].name) < html.index(rows[-1].name)
    assert 'value="15/11/2026"' in html  # day first
    # The ISO form a date field sends gives the same page.
    same = client.get("/rankings?date=2026-11-15").get_data(as_text=True)
    assert same.count("chip-praise") == html.count("chip-praise")


def test_the_default_date_is_today(login_as, app):
    app.config["OUTREACH_TODAY"] = date(2026, 11, 22)
    html = login_as("lanhdao.tinh").get("/rankings").get_data(as_text=True)
    assert "Còn 39 ngày đến hạn 31/12/2026" in html


@pytest.mark.parametrize("bad", ["31/02/2026", "hôm qua", "2026-13-01"])
def test_a_bad_date_is_a_vietnamese_error_not_a_500(login_as, bad):
    client = login_as("lanhdao.tinh")
    response = client.get("/rankings", query_string={"date": bad})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "không hợp lệ" in html and "ranking-table" not in html
    assert client.get("/rankings.xlsx", query_string={"date": bad}).status_code == 400


def test_a_bad_level_and_an_unknown_campaign(login_as):
    client = login_as("lanhdao.tinh")
    assert client.get("/rankings?level=district").status_code == 400
    assert client.get("/rankings?campaign=9999").status_code == 404
    assert client.get("/rankings?campaign=abc").status_code == 404


def test_a_commune_leader_sees_the_villages_of_their_commune(login_as, session):
    html = login_as("lanhdao.07210").get("/rankings?date=22/11/2026").get_data(as_text=True)
    leader = session.exec(select(User).where(User.username == "lanhdao.07210")).one()
    villages = session.exec(select(GeoUnit).where(GeoUnit.parent_id == leader.scope_unit_id)).all()
    assert villages and all(v.name in html for v in villages)
    other = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id != leader.scope_unit_id)
    ).first()
    assert f'data-unit="{other.id}"' not in html


def test_a_group_leader_cannot_rank_the_villages_of_another_commune(login_as, session):
    scope = _scope(session, "lanhdao.cum")
    outside = session.exec(
        select(GeoUnit).where(
            GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id.not_in(sorted(scope.commune_ids))
        )
    ).first()
    client = login_as("lanhdao.cum")
    assert client.get(f"/rankings?level=village&commune={outside.id}").status_code == 404
    inside = sorted(scope.commune_ids)[0]
    assert client.get(f"/rankings?level=village&commune={inside}").status_code == 200
    html = client.get("/rankings").get_data(as_text=True)
    assert html.count('data-unit="') == len(scope.commune_ids)


def test_htmx_gets_only_the_table(login_as):
    response = login_as("lanhdao.tinh").get(
        "/rankings?date=15/11/2026", headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert "ranking-table" in html and "<html" not in html


def test_the_sheet_download_is_audited_and_matches_the_page(login_as, session):
    client = login_as("lanhdao.tinh")
    response = client.get("/rankings.xlsx?date=15/11/2026")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="xep-hang-commune-2026-11-15.xlsx"' in response.headers["Content-Disposition"]
    table = read_table(response.data, "x.xlsx")
    header = next(i for i, row in enumerate(table.rows) if row and row[0] == "Hạng")
    names = [row[2] for row in table.rows[header + 1 :]]
    campaign = session.exec(select(Campaign)).one()
    rows = rank_units(
        session, scope=_scope(session, "lanhdao.tinh"), campaign=campaign, as_of=date(2026, 11, 15)
    )
    assert names == [r.name for r in rows]
    entry = session.exec(select(AuditLog).where(AuditLog.action == "export_rankings")).one()
    assert entry.username == "lanhdao.tinh" and entry.object_id == str(campaign.id)
    assert json.loads(entry.detail)["as_of"] == "2026-11-15"


def test_the_admin_may_rank_too(login_as):
    assert login_as("admin").get("/rankings?date=15/11/2026").status_code == 200


def test_ids_beyond_the_database_range_are_not_found(login_as):
    client = login_as("lanhdao.tinh")
    huge = "99999999999999999999"
    assert client.get(f"/rankings?level=village&commune={huge}").status_code == 404
    assert client.get("/rankings?level=village&commune=x").status_code == 404
    assert client.get(f"/rankings?campaign={huge}").status_code == 404


def test_htmx_gets_the_error_in_a_fragment_it_will_swap(login_as):
    response = login_as("lanhdao.tinh").get(
        "/rankings?date=32/11/2026", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200  # htmx leaves 4xx answers unswapped
    html = response.get_data(as_text=True)
    assert 'id="ranking-error"' in html and "không hợp lệ" in html and "<html" not in html

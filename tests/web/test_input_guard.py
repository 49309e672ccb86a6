"""No control, bidi or zero-width character reaches a view (web/guards.py `clean_input`).

A NUL in a query parameter was a 500 on PostgreSQL (it refuses NUL in text); a bidi override or a
zero-width space pasted into a name makes text that reads other than it displays, or that looks
the same as another and does not match it. One before_request hook removes them from every query
argument and form field, names included; line breaks and tabs stay in form fields. These tests run
on both databases (make test runs the suite again on PostgreSQL).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import jsonify, request
from sqlmodel import select
from werkzeug.datastructures import MultiDict

from outreach.core.clock import today_local
from outreach.models import Household, Person, User, Visit
from tests.conftest import csrf_token

NASTY = "a\x00b\x01c\x7fd\x9be\u202ef\u2066g\u200bh\u200di\ufeffj\u200fk"


@pytest.fixture
def echo(app):
    """A route that answers what the view sees: every argument and form field, in order."""

    @app.route("/__echo", methods=["GET", "POST"])
    def _echo():
        return jsonify(
            args=list(request.args.items(multi=True)),
            form=list(request.form.items(multi=True)),
            values=list(request.values.items(multi=True)),
        )

    return app.test_client()


def test_query_arguments_lose_invisible_characters(echo):
    response = echo.get(
        "/__echo", query_string=[("q", NASTY), ("q", "x\ty\nz\r"), ("i\x00d\u202e", "7")]
    )
    assert response.status_code == 200
    assert response.get_json()["args"] == [
        ["q", "abcdefghijk"],
        ["q", "x y z "],  # spacing controls are spaces in a query string
        ["id", "7"],
    ]


def test_plain_arguments_are_left_alone(echo):
    text = "Nguyễn Thị Ánh — 0912 345 678 ✓ «Thôn Đông» 100%"
    response = echo.get("/__echo", query_string={"q": text, "offset": "30"})
    assert response.get_json()["args"] == [["q", text], ["offset", "30"]]


def test_form_fields_keep_line_breaks_and_tabs_and_passwords_stay_as_typed(app, echo):
    token = csrf_token(echo)
    response = echo.post(
        "/__echo?x=1\x00",
        data=MultiDict(
            [
                ("csrf_token", token),
                ("note", "Dòng 1\r\n\tDòng 2\x00\x0b\u202eđã hẹn"),
                ("note", "\u200b"),
                ("new_password", "Mật\x00khẩu\u202e"),
            ]
        ),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["form"] == [
        ["csrf_token", token],
        ["note", "Dòng 1\r\n\tDòng 2 đã hẹn"],
        ["note", ""],
        ["new_password", "Mật\x00khẩu\u202e"],
    ]
    assert ["x", "1"] in body["values"] and ["note", ""] in body["values"]


def test_a_nul_in_the_worklist_search_is_a_page_not_a_500(login_as):
    client = login_as("canbo.07210.1")
    for query in ("Nguy\x00ễn", "\x00", "\u202eabc", "a\u200bb"):
        response = client.get("/worklist", query_string={"q": query})
        assert response.status_code == 200, query
        html = response.get_data(as_text=True)
        assert "\x00" not in html and "\u202e" not in html and "\u200b" not in html


def test_a_visit_note_is_stored_without_them(login_as, session):
    client = login_as("canbo.07210.1")
    me = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    household = session.exec(
        select(Household).where(Household.assigned_canvasser_id == me.id)
    ).first()
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    html = client.get(f"/households/{household.id}/visits/new").get_data(as_text=True)
    uid = re.search(r'name="client_uuid" value="([^"]+)"', html).group(1)
    response = client.post(
        f"/households/{household.id}/visits",
        data={
            "csrf_token": csrf_token(client, "/worklist"),
            "client_uuid": uid,
            "channel": "home\x00",
            f"outcome_{person.id}": "promised",
            f"date_{person.id}": (today_local() + timedelta(days=1)).isoformat(),
            "note": "Hẹn\x00 cuối\u202e tháng\r\nGọi lại\u200b",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    visit = session.exec(select(Visit).where(Visit.client_uuid == uid)).one()
    assert visit.note == "Hẹn cuối tháng\r\nGọi lại" and visit.channel == "home"

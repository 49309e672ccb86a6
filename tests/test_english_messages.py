"""A user who chose English gets the services' messages in English (core.i18n + the catalog).

The messages are raised by services that import no Flask (`outreach.core.i18n._`); within a
request they are read in the request's language, which the session's choice decides.
"""

import re
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from outreach.core.clock import today_local
from outreach.models import Household, Person, User
from tests.conftest import csrf_token

CANVASSER = "canbo.07210.1"


def _looks_vietnamese(text: str) -> bool:
    """Whether the text has a Vietnamese letter (đ, or a letter with a diacritic)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "đ" in text.lower() or any(unicodedata.combining(c) for c in decomposed)


@pytest.fixture
def english(login_as):
    """A canvasser's client that has switched the interface to English."""
    client = login_as(CANVASSER)
    response = client.post(
        "/language",
        data={"lang": "en", "next": "/worklist", "csrf_token": csrf_token(client, "/worklist")},
    )
    assert response.status_code == 302
    return client


@pytest.fixture
def household(session):
    """One of the canvasser's households and its members."""
    me = session.exec(select(User).where(User.username == CANVASSER)).one()
    for h in session.exec(
        select(Household).where(Household.assigned_canvasser_id == me.id).order_by(Household.id)
    ):
        members = session.exec(
            select(Person).where(Person.household_id == h.id).order_by(Person.id)
        ).all()
        if members:
            return h, list(members)
    raise AssertionError("the demo canvasser has no household with members")


def test_the_check_itself_tells_vietnamese_from_english():
    assert _looks_vietnamese("Hãy chọn ngày hẹn.") and _looks_vietnamese("Thiếu mã hộ")
    assert not _looks_vietnamese("Please choose a follow-up date (“x” – 1,000).")


def test_the_visit_form_shows_a_promise_without_a_date_in_english(english, household):
    h, members = household
    html = english.get(f"/households/{h.id}/visits/new").get_data(as_text=True)
    client_uuid = re.search(r'name="client_uuid" value="([^"]+)"', html).group(1)
    response = english.post(
        f"/households/{h.id}/visits",
        data={
            "csrf_token": csrf_token(english, "/worklist"),
            "client_uuid": client_uuid,
            "channel": "home",
            f"outcome_{members[0].id}": "promised",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please choose a follow-up date." in page
    assert "Hãy chọn ngày hẹn." not in page


def _visit(household, members, **fields) -> dict:
    body = {
        "client_uuid": str(uuid.uuid4()),
        "household_id": household.id,
        "channel": "phone",
        "visited_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "outcomes": [
            {
                "person_id": members[0].id,
                "outcome": "promised",
                "follow_up_on": (today_local() + timedelta(days=2)).isoformat(),
                "amount": 792_000,
            }
        ],
    }
    body.update(fields)
    return body


def _sync(client, *visits) -> list[dict]:
    response = client.post(
        "/api/visits/sync",
        json={"visits": list(visits)},
        headers={"X-CSRFToken": csrf_token(client, "/worklist")},
    )
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()["results"]


def test_the_sync_api_answers_a_refused_visit_in_english(english, household):
    h, members = household
    # A well-formed item that breaks a rule of the visit (visits/service.py): a promise, no date.
    outcome = {"person_id": members[0].id, "outcome": "promised"}
    (result,) = _sync(english, _visit(h, members, outcomes=[outcome]))
    assert result["status"] == "rejected"
    assert result["errors"] == {f"person_{members[0].id}": "Please choose a follow-up date."}


def test_the_sync_api_answers_a_malformed_item_in_english(english, household):
    h, members = household
    # Fields missing or of the wrong type: refused while the JSON item is read (visits/sync.py).
    item = _visit(h, members, channel=7)
    del item["household_id"]
    (result,) = _sync(english, item)
    assert result["status"] == "rejected"
    assert {"household_id", "channel"} <= set(result["errors"])
    vietnamese = {field: m for field, m in result["errors"].items() if _looks_vietnamese(m)}
    assert not vietnamese, f"not in English: {vietnamese}"

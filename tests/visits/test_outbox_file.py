"""An exported outbox imported by an admin: each visit as its canvasser would have sent it."""

import json
import uuid

import pytest
from sqlmodel import select

from outreach.models import Household, Person, User, Visit
from outreach.visits.outbox_file import OutboxFileError, import_outbox
from tests.conftest import DEMO_TODAY
from tests.visits.test_sync import NOW, SECRET, VISITED_AT


def _export(entries) -> bytes:
    return json.dumps({"format": "outreach-outbox", "version": 1, "visits": entries}).encode()


def _first_household(session, commune_id):
    household = session.exec(
        select(Household).where(Household.commune_id == commune_id).order_by(Household.id)
    ).first()
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    return household, person


def test_the_file_is_stored_once_as_its_canvasser(session):
    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    household, person = _first_household(session, canvasser.scope_unit_id)
    visit = {
        "client_uuid": str(uuid.uuid4()),
        "household_id": household.id,
        "channel": "home",
        "visited_at": VISITED_AT,
        "outcomes": [{"person_id": person.id, "outcome": "not_home"}],
    }
    bad = {**visit, "client_uuid": str(uuid.uuid4()), "channel": "by pigeon"}
    data = _export(
        [
            {"user_id": canvasser.id, "state": "pending", "visit": visit},
            {"user_id": canvasser.id, "state": "rejected", "visit": bad},
            {"user_id": 999_999, "state": "pending", "visit": visit},
        ]
    )
    first = import_outbox(session, data=data, today=DEMO_TODAY, secret=SECRET, now=NOW)
    assert (first.counts["stored"], first.counts["rejected"]) == (1, 2)
    assert any("hình thức" in p for p in first.problems)
    stored = session.exec(select(Visit).where(Visit.client_uuid == visit["client_uuid"])).one()
    assert stored.canvasser_id == canvasser.id

    again = import_outbox(session, data=data, today=DEMO_TODAY, secret=SECRET, now=NOW)
    assert (again.counts["stored"], again.counts["duplicates"]) == (0, 1)


@pytest.mark.parametrize(
    "data", [b"", b"\xff\xfe", b"[]", b'{"format": "other"}', b'{"format": "outreach-outbox"}']
)
def test_anything_else_is_refused_in_vietnamese(session, data):
    with pytest.raises(OutboxFileError, match="[Tt]ệp"):
        import_outbox(session, data=data, today=DEMO_TODAY, secret=SECRET, now=NOW)

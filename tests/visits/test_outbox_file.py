"""An exported outbox imported by an admin: each visit as its canvasser would have sent it, only
when the server signed it for that canvasser, and every import audited."""

import hashlib
import json
import uuid

import pytest
from sqlmodel import select

from outreach.models import AuditLog, Household, Person, User, Visit
from outreach.visits.outbox_file import (
    OutboxFileError,
    import_outbox,
    outbox_token,
    token_user,
)
from tests.conftest import DEMO_TODAY
from tests.visits.test_sync import NOW, SECRET, VISITED_AT


def _export(entries) -> bytes:
    return json.dumps({"format": "outreach-outbox", "version": 2, "visits": entries}).encode()


def _signed(user_id: int, visit: dict, **more) -> dict:
    token = outbox_token(secret=SECRET, user_id=user_id)
    return {"user_id": user_id, "state": "pending", "visit": visit, "signature": token, **more}


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _first_household(session, commune_id):
    household = session.exec(
        select(Household).where(Household.commune_id == commune_id).order_by(Household.id)
    ).first()
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    return household, person


def _visit(household, person) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "household_id": household.id,
        "channel": "home",
        "visited_at": VISITED_AT,
        "outcomes": [{"person_id": person.id, "outcome": "not_home"}],
    }


def _audit(session, action: str) -> list[AuditLog]:
    session.expire_all()
    return list(session.exec(select(AuditLog).where(AuditLog.action == action)))


def test_the_file_is_stored_once_as_its_canvasser(session):
    canvasser = _user(session, "canbo.07210.1")
    household, person = _first_household(session, canvasser.scope_unit_id)
    visit = _visit(household, person)
    bad = {**visit, "client_uuid": str(uuid.uuid4()), "channel": "by pigeon"}
    data = _export(
        [
            _signed(canvasser.id, visit),
            _signed(canvasser.id, bad, state="rejected"),
            _signed(999_999, visit),  # signed once, for a user since removed
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


# ---- issue 19 #14: a file cannot speak for another canvasser -----------------------------------


def _forgeries(mine: int, theirs: int, visit: dict) -> dict[str, dict]:
    """A canvasser's attempts to pass a visit off as another canvasser's."""
    return {
        "no signature": {"user_id": theirs, "visit": visit},
        "their id, my signature": {**_signed(mine, visit), "user_id": theirs},
        "signed with another secret": {
            "user_id": theirs,
            "visit": visit,
            "signature": outbox_token(secret="not-the-app-secret", user_id=theirs),
        },
        "garbage": {"user_id": theirs, "visit": visit, "signature": "x" * 5000},
    }


@pytest.mark.parametrize(
    "forgery",
    ["no signature", "their id, my signature", "signed with another secret", "garbage"],
)
def test_a_forged_file_is_refused_whole_and_the_refusal_audited(session, forgery):
    me = _user(session, "canbo.07210.1")
    other = session.exec(
        select(User).where(User.role == "canvasser", User.scope_unit_id != me.scope_unit_id)
    ).first()
    household, person = _first_household(session, other.scope_unit_id)
    theirs = _visit(household, person)
    mine = _visit(*_first_household(session, me.scope_unit_id))
    data = _export([_signed(me.id, mine), _forgeries(me.id, other.id, theirs)[forgery]])
    with pytest.raises(OutboxFileError, match="chữ ký"):
        import_outbox(session, data=data, today=DEMO_TODAY, secret=SECRET, now=NOW)
    session.commit()  # as the command does: the refusal's entry is kept
    uuids = [mine["client_uuid"], theirs["client_uuid"]]
    assert session.exec(select(Visit).where(Visit.client_uuid.in_(uuids))).all() == []
    (entry,) = _audit(session, "outbox.import_refused")
    detail = json.loads(entry.detail)
    assert detail["sha256"] == hashlib.sha256(data).hexdigest()
    assert str(other.id) in detail["reason"]
    assert (entry.object_type, entry.object_id) == ("outbox_file", detail["sha256"][:40])


def test_tokens_are_for_one_user_and_this_secret_only():
    token = outbox_token(secret=SECRET, user_id=7)
    assert token_user(secret=SECRET, token=token) == 7
    assert token_user(secret="other", token=token) is None
    assert token_user(secret=SECRET, token=token, max_age_days=-1) is None  # expired
    for junk in (None, 7, "", "x" * 5000, token[:-2]):
        assert token_user(secret=SECRET, token=junk) is None


def test_the_import_is_audited_with_who_the_hash_and_the_counts(session):
    admin = _user(session, "admin")
    canvasser = _user(session, "canbo.07210.1")
    visit = _visit(*_first_household(session, canvasser.scope_unit_id))
    data = _export([_signed(canvasser.id, visit), _signed(canvasser.id, visit)])
    import_outbox(
        session, data=data, today=DEMO_TODAY, secret=SECRET, now=NOW, run_by=admin, run_as="ops"
    )
    session.commit()
    (entry,) = _audit(session, "outbox.import")
    assert (entry.user_id, entry.username, entry.ip) == (admin.id, "admin", "cli")
    assert json.loads(entry.detail) == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "run_as": "ops",
        "canvassers": [canvasser.id],
        "visits": 2,
        "stored": 1,
        "duplicates": 1,
        "rejected": 0,
    }


def test_the_command_names_the_admin_and_keeps_a_refusal(app, session, tmp_path):
    canvasser = _user(session, "canbo.07210.1")
    visit = _visit(*_first_household(session, canvasser.scope_unit_id))
    secret = app.secret_key
    good = tmp_path / "good.json"
    good.write_bytes(
        _export(
            [
                {
                    "user_id": canvasser.id,
                    "visit": visit,
                    "signature": outbox_token(secret=secret, user_id=canvasser.id),
                }
            ]
        )
    )
    forged = tmp_path / "forged.json"
    forged.write_bytes(_export([{"user_id": canvasser.id, "visit": visit}]))
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["import-outbox", str(forged), "--user", "admin"])
    assert refused.exit_code != 0 and "chữ ký" in refused.output
    assert runner.invoke(args=["import-outbox", str(good), "--user", "canbo.07210.1"]).exit_code
    result = runner.invoke(args=["import-outbox", str(good), "--user", "admin"])
    assert result.exit_code == 0, result.output
    assert "Đã lưu 1 lượt thăm mới" in result.output
    assert [e.username for e in _audit(session, "outbox.import_refused")] == ["admin"]
    assert [e.username for e in _audit(session, "outbox.import")] == ["admin"]


def test_the_phone_gets_its_canvassers_token_with_the_session(login_as):
    me = login_as("canbo.07210.1").get("/session.json").get_json()
    assert token_user(secret="test-secret", token=me["outbox_token"]) == me["user_id"]


def test_only_canvassers_get_a_token(login_as):
    assert login_as("lanhdao.07210").get("/session.json").get_json()["outbox_token"] is None

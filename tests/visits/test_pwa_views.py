"""The installable app's routes: who may see what, and what the service worker needs."""

import re

from sqlmodel import select

from outreach.models import Household, User
from tests.conftest import login


def test_session_json_says_who_is_in_or_answers_401(client, login_as):
    assert client.get("/session.json").status_code == 401
    logged = login_as("canbo.07210.1")
    answer = logged.get("/session.json")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.json["user_id"] and len(answer.json["csrf_token"]) > 20


def test_offline_pages_are_the_canvassers_own_households(app, session, login_as):
    leader = app.test_client()
    login(leader, "lanhdao.07210")
    assert leader.get("/offline/pages.json").status_code == 403
    me = session.exec(select(User).where(User.username == "canbo.09370.1")).one()
    plan = login_as("canbo.09370.1").get("/offline/pages.json").json
    ids = {int(m.group(1)) for p in plan["pages"] if (m := re.fullmatch(r"/households/(\d+)", p))}
    assert ids and plan["households"] == len(ids)
    owners = {session.get(Household, i).assigned_canvasser_id for i in ids}
    assert owners == {me.id}
    assert all(f"/households/{i}/visits/new" in plan["pages"] for i in ids)


def test_the_worker_and_manifest_are_served_for_the_whole_app(client):
    worker = client.get("/sw.js")
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert worker.headers["Cache-Control"] == "no-cache"
    assert "{{VERSION}}" not in worker.get_data(as_text=True)
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.json["start_url"] == "/"

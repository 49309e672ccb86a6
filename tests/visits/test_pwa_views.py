"""The installable app's routes: who may see what, and what the service worker needs."""

import re
from datetime import timedelta

from sqlmodel import select

from outreach.core.scope import scope_for
from outreach.models import Household, User
from outreach.visits.views import PAGE_CACHE_COOKIE, PAGE_CACHE_HEADER, page_cache_key
from outreach.worklist.service import worklist_for
from tests.conftest import DEMO_TODAY, csrf_token, login


def test_session_json_says_who_is_in_or_answers_401(client, login_as):
    assert client.get("/session.json").status_code == 401
    logged = login_as("canbo.07210.1")
    answer = logged.get("/session.json")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "private, no-store"
    assert answer.json["user_id"] and len(answer.json["csrf_token"]) > 20


def test_offline_pages_are_the_canvassers_own_households(app, session, login_as):
    leader = app.test_client()
    login(leader, "lanhdao.07210")
    assert leader.get("/offline/pages.json").status_code == 403
    me = session.exec(select(User).where(User.username == "canbo.09370.1")).one()
    answer = login_as("canbo.09370.1").get("/offline/pages.json")
    assert answer.headers["Cache-Control"] == "private, no-store"
    plan = answer.json
    ids = {int(m.group(1)) for p in plan["pages"] if (m := re.fullmatch(r"/households/(\d+)", p))}
    assert ids and plan["households"] == len(ids)
    owners = {session.get(Household, i).assigned_canvasser_id for i in ids}
    assert owners == {me.id}
    assert all(f"/households/{i}/visits/new" in plan["pages"] for i in ids)


def test_the_worker_and_manifest_are_served_for_the_whole_app(client):
    worker = client.get("/sw.js")
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert worker.headers["Cache-Control"] == "no-cache"
    source = worker.get_data(as_text=True)
    assert "{{" not in source  # every placeholder filled in
    assert f'var KEY_HEADER = "{PAGE_CACHE_HEADER}";' in source
    assert f'var KEY_COOKIE = "{PAGE_CACHE_COOKIE}";' in source
    assert "var SESSION_MS = 7200 * 1000;" in source  # the session's idle timeout, 2 hours
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.json["start_url"] == "/"


# ---- whose pages: the service worker's per-user page caches (static/js/sw.js) -------------------


def _page_cache_cookie(response) -> str | None:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("page_cache=")]
    return cookies[-1] if cookies else None


def test_each_users_pages_name_an_opaque_key_of_their_own(app, session):
    users = {
        name: session.exec(select(User).where(User.username == name)).one()
        for name in ("canbo.07210.1", "canbo.09370.1")
    }
    keys = {}
    for name, user in users.items():
        client = app.test_client()
        login(client, name)
        page = client.get("/worklist")
        key = page.headers[PAGE_CACHE_HEADER]
        with app.app_context():
            assert key == page_cache_key(user.id)
        assert re.fullmatch(r"[0-9a-f]{32}", key) and str(user.id) != key
        cookie = _page_cache_cookie(page)
        # Readable by the service worker (not HttpOnly), gone with the session (same lifetime).
        assert cookie.startswith(f"page_cache={key};") and "HttpOnly" not in cookie
        assert f"Max-Age={int(timedelta(hours=2).total_seconds())}" in cookie
        assert "SameSite=Lax" in cookie and "Path=/" in cookie
        # Every answer renews it, as it renews the session cookie; only pages name the key.
        static = client.get("/static/css/app.css")
        assert _page_cache_cookie(static) and PAGE_CACHE_HEADER not in static.headers
        keys[name] = key
    assert len(set(keys.values())) == 2
    # Another secret, another key: nobody can work out a user's key from the id.
    app.secret_key = "another-secret"
    with app.app_context():
        assert page_cache_key(users["canbo.07210.1"].id) != keys["canbo.07210.1"]


def test_nobodys_pages_name_no_key_and_logging_out_drops_the_cookie(client, login_as):
    anonymous = client.get("/login")
    assert PAGE_CACHE_HEADER not in anonymous.headers and _page_cache_cookie(anonymous) is None
    login_as("canbo.07210.1")
    assert client.get_cookie(PAGE_CACHE_COOKIE) is not None
    out = client.post("/logout", data={"csrf_token": csrf_token(client, "/worklist")})
    assert out.status_code == 302
    assert _page_cache_cookie(out).startswith("page_cache=;")  # deleted
    assert client.get_cookie(PAGE_CACHE_COOKIE) is None
    after = client.get("/login")
    assert PAGE_CACHE_HEADER not in after.headers and _page_cache_cookie(after) is None


def test_an_expired_session_drops_the_cookie(app, client, login_as):
    login_as("canbo.07210.1")
    client.set_cookie("session", "expired-or-forged")  # the server no longer knows this session
    answer = client.get("/worklist")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert _page_cache_cookie(answer).startswith("page_cache=;")
    assert PAGE_CACHE_HEADER not in answer.headers


def test_todays_appointments_go_offline_with_the_list(app, session, login_as):
    """The list leaves today's appointments out (they head it apart): the day's download must
    still hold them."""
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    me = session.exec(select(User).where(User.username == "canbo.09529.2")).one()
    worklist = worklist_for(
        session, scope=scope_for(session, me), canvasser_id=me.id, today=DEMO_TODAY, limit=200
    )
    assert worklist.due_today, "the demo gives this canvasser an appointment today"
    plan = login_as("canbo.09529.2").get("/offline/pages.json").json
    for row in worklist.due_today + worklist.rows:
        assert f"/households/{row.household.id}" in plan["pages"]

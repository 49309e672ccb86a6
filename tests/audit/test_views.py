"""The audit log: every category of event is written with who, what, object and address; admins
browse, filter and export it; nothing in the app can change or delete it."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from outreach.core.audit import record_event
from outreach.models import (
    AuditLog,
    Campaign,
    GeoUnit,
    Household,
    ImportBatch,
    Person,
    Summary,
    User,
)
from outreach.models.codes import Role, UnitKind
from tests.conftest import DEMO_TODAY, csrf_token, login
from tests.imports.test_views import _batch_id, _settled, _upload
from tests.imports.test_writer import ROWS, _csv
from tests.workers import jobs_settled

IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def _setup(app, tmp_path):
    app.config["OUTREACH_TODAY"] = DEMO_TODAY


@pytest.fixture
def from_ip(app):
    """A fresh browser whose requests come from IP."""

    def _client(username: str | None = None):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = IP
        if username:
            assert login(client, username).status_code == 302
        return client

    return _client


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _entries(session, action: str) -> list[AuditLog]:
    session.expire_all()
    return list(
        session.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
    )


def _only(session, action: str, *, username: str, object_type: str = "", object_id="") -> AuditLog:
    """The single entry of this action, checked for who, what object and from where."""
    entries = _entries(session, action)
    assert len(entries) == 1, [(e.action, e.username) for e in entries]
    entry = entries[0]
    assert entry.username == username and entry.ip == IP
    if entry.user_id is not None:
        assert entry.user_id == _user(session, username).id
    assert (entry.object_type, entry.object_id) == (object_type, str(object_id))
    assert entry.at is not None
    return entry


# ---- every category is audited ----------------------------------------------------------------


def test_logins_ok_and_failed_and_logouts(from_ip, session):
    client = from_ip()
    assert login(client, "canbo.07210.1", "sai-mat-khau").status_code == 401
    assert login(client, "khong.co.ai", "sai-mat-khau").status_code == 401
    assert login(client, "canbo.07210.1").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/worklist")})
    failed = _entries(session, "login_failed")
    assert [(e.username, e.ip) for e in failed] == [("canbo.07210.1", IP), ("khong.co.ai", IP)]
    assert failed[0].user_id == _user(session, "canbo.07210.1").id and failed[1].user_id is None
    _only(session, "login", username="canbo.07210.1")
    _only(session, "logout", username="canbo.07210.1")


def test_import_upload_check_commit_and_error_sheet(app, from_ip, session, worker):
    client = from_ip("admin")
    batch_id = _batch_id(_upload(client, _csv(ROWS)))
    assert _settled(app, batch_id).status == "previewed"
    _only(
        session, "import.upload", username="admin", object_type="import_batch", object_id=batch_id
    )
    assert client.get(f"/imports/{batch_id}/errors.xlsx").status_code == 200
    _only(
        session,
        "import.errors_download",
        username="admin",
        object_type="import_batch",
        object_id=batch_id,
    )
    done = client.post(
        f"/imports/{batch_id}/import",
        data={
            "csrf_token": csrf_token(client, "/imports"),
            "skip_rejected": "1",
            "create_villages": "1",
        },
    )
    assert done.status_code == 302 and _settled(app, batch_id).status == "done"
    commit = _only(
        session, "import.commit", username="admin", object_type="import_batch", object_id=batch_id
    )
    assert json.loads(commit.detail) == {"skip": True}

    # Checking again (a failed batch retried) is audited too.
    session.expire_all()
    session.get(ImportBatch, batch_id).status = "failed"
    session.commit()
    client.post(f"/imports/{batch_id}/retry", data={"csrf_token": csrf_token(client, "/imports")})
    _settled(app, batch_id)
    _only(session, "import.check", username="admin", object_type="import_batch", object_id=batch_id)


def test_rankings_export(from_ip, session):
    client = from_ip("lanhdao.tinh")
    assert client.get("/rankings.xlsx?date=15/11/2026").status_code == 200
    campaign = session.exec(select(Campaign).where(Campaign.is_active)).first()
    entry = _only(
        session,
        "export_rankings",
        username="lanhdao.tinh",
        object_type="campaign",
        object_id=campaign.id,
    )
    assert json.loads(entry.detail)["as_of"] == "2026-11-15"


def test_publishing_and_downloads_by_admin_and_media(from_ip, session, worker):
    admin = from_ip("admin")
    key = "2026-11-30"
    token = csrf_token(admin, f"/summaries/{key}")
    assert admin.post(f"/summaries/{key}/draft", data={"csrf_token": token}).status_code == 302
    page = admin.get(f"/summaries/{key}").get_data(as_text=True)
    summary_id = re.search(r'name="summary_id" value="(\d+)"', page).group(1)
    # The period is not over on the demo's day: publishing it needs the admin's confirmation.
    published = admin.post(
        f"/summaries/{key}/publish",
        data={"csrf_token": token, "summary_id": summary_id, "early": "1"},
    )
    assert published.status_code == 302
    jobs_settled(admin.application)  # a worker publishes, with the admin's name and address
    _only(session, "summary.publish", username="admin", object_type="summary", object_id=summary_id)
    media = from_ip("baochi")
    assert media.get(f"/summaries/versions/{summary_id}.pdf").status_code == 200
    assert media.get(f"/summaries/versions/{summary_id}.csv").status_code == 200
    downloads = _entries(session, "summary.download")
    assert [(e.username, e.ip, e.object_id) for e in downloads] == [
        ("baochi", IP, summary_id),
        ("baochi", IP, summary_id),
    ]
    assert {json.loads(e.detail)["format"] for e in downloads} == {"pdf", "csv"}
    assert session.get(Summary, int(summary_id)).status == "published"


def test_assignments(from_ip, session):
    leader = _user(session, "lanhdao.07210")
    two = _user(session, "canbo.07210.2")
    village_id = session.exec(
        select(Household.village_id).where(Household.commune_id == leader.scope_unit_id)
    ).first()
    client = from_ip("lanhdao.07210")
    response = client.post(
        "/leader/assign/village",
        data={
            "csrf_token": csrf_token(client, "/leader/assign"),
            "village_id": village_id,
            "canvasser_id": two.id,
        },
    )
    assert response.status_code in (302, 303)
    entry = _only(
        session, "assign", username="lanhdao.07210", object_type="village", object_id=village_id
    )
    assert json.loads(entry.detail)["to_canvasser_id"] == two.id


def test_views_of_a_persons_record(from_ip, session):
    canvasser = _user(session, "canbo.07210.1")
    household = session.exec(
        select(Household).where(Household.commune_id == canvasser.scope_unit_id)
    ).first()
    client = from_ip("canbo.07210.1")
    assert client.get(f"/households/{household.id}").status_code == 200
    # The htmx fragment of the same page is a view too.
    client.get(f"/households/{household.id}", headers={"HX-Request": "true"})
    views = _entries(session, "view_household")
    assert len(views) == 2
    assert {(e.username, e.ip, e.object_type, e.object_id) for e in views} == {
        ("canbo.07210.1", IP, "household", str(household.id))
    }
    person_ids = json.loads(views[0].detail)["persons"]
    assert person_ids
    assert client.get(f"/calculator?person={person_ids[0]}").status_code == 200
    _only(
        session,
        "view_person_calculator",
        username="canbo.07210.1",
        object_type="person",
        object_id=person_ids[0],
    )
    # Out of scope: a 404, and nothing was read, so nothing is logged.
    other = session.exec(
        select(Household).where(Household.commune_id != canvasser.scope_unit_id)
    ).first()
    assert client.get(f"/households/{other.id}").status_code == 404
    assert len(_entries(session, "view_household")) == 2


def test_the_visit_form_and_a_recalculation_for_a_person_are_views_too(from_ip, session):
    """Issue 19 #12: both showed a person's data (every member's name; a name and income) and
    left no trace."""
    canvasser = _user(session, "canbo.07210.1")
    household = session.exec(
        select(Household).where(Household.commune_id == canvasser.scope_unit_id)
    ).first()
    members = session.exec(
        select(Person).where(Person.household_id == household.id).order_by(Person.id)
    ).all()
    client = from_ip("canbo.07210.1")
    html = client.get(f"/households/{household.id}/visits/new").get_data(as_text=True)
    assert members[0].full_name in html
    form = _only(
        session,
        "view_visit_form",
        username="canbo.07210.1",
        object_type="household",
        object_id=household.id,
    )
    assert json.loads(form.detail) == {"persons": [p.id for p in members]}
    query = "income=2000000&group=other&day=22/11/2026"
    html = client.get(f"/calculator?person={members[0].id}&{query}").get_data(as_text=True)
    assert members[0].full_name in html
    entry = _only(
        session,
        "view_person_calculator",
        username="canbo.07210.1",
        object_type="person",
        object_id=members[0].id,
    )
    assert json.loads(entry.detail) == {"recalculated": True}
    # Another commune's household: a 404, nothing read, nothing logged.
    other = session.exec(
        select(Household).where(Household.commune_id != canvasser.scope_unit_id)
    ).first()
    assert client.get(f"/households/{other.id}/visits/new").status_code == 404
    assert len(_entries(session, "view_visit_form")) == 1


def test_every_audited_action_has_a_label_to_filter_by(app, login_as):
    from outreach.audit.views import ACTION_LABELS

    for action in ("view_visit_form", "outbox.import", "outbox.import_refused"):
        assert action in ACTION_LABELS
    html = login_as("admin").get("/admin/audit?action=view_visit_form").get_data(as_text=True)
    assert "Mở phiếu ghi lượt thăm" in html


# ---- the admins' page -------------------------------------------------------------------------


def _ids(html: str) -> list[str]:
    return re.findall(r'<li data-action="([^"]+)"', html)


def test_only_admins_see_the_log(app, login_as, client):
    assert client.get("/admin/audit").status_code == 302  # anonymous: to the login page
    for username in ("lanhdao.tinh", "lanhdao.07210", "canbo.07210.1", "baochi"):
        other = app.test_client()
        login(other, username)
        assert other.get("/admin/audit").status_code == 403
        token = csrf_token(other, "/account/password")
        exported = other.post("/exports/audit-log", data={"csrf_token": token})
        assert exported.status_code == 403
    admin = login_as("admin")
    page = admin.get("/admin/audit")
    assert page.status_code == 200 and "Nhật ký truy cập" in page.get_data(as_text=True)
    assert 'href="/admin/audit"' in admin.get("/admin/users").get_data(as_text=True)


def test_filters_by_user_action_object_ip_and_dates(app, from_ip, login_as, session):
    from_ip("canbo.07210.1")
    failed = from_ip()
    login(failed, "lanhdao.tinh", "sai-mat-khau")
    admin = login_as("admin")  # from the test client's own address, 127.0.0.1
    html = admin.get("/admin/audit?user=canbo.07210.1").get_data(as_text=True)
    assert _ids(html) == ["login"] and "Đăng nhập" in html and IP in html
    html = admin.get("/admin/audit?action=login_failed").get_data(as_text=True)
    assert _ids(html) == ["login_failed"] and "lanhdao.tinh" in html and "Đăng nhập sai" in html
    html = admin.get(f"/admin/audit?ip={IP}").get_data(as_text=True)
    assert sorted(_ids(html)) == ["login", "login_failed"]
    html = admin.get("/admin/audit?ip=127.0.0.1&action=login").get_data(as_text=True)
    assert _ids(html) == ["login"] and "admin" in html
    # Newest first.
    html = admin.get("/admin/audit").get_data(as_text=True)
    assert _ids(html)[:3] == ["login", "login_failed", "login"]

    # Dates are Vietnamese calendar days: 00:30 on the 21st in Vietnam is 17:30 UTC on the 20th.
    record_event(
        session,
        action="review",
        username="lanhdao.07210",
        user_id=_user(session, "lanhdao.07210").id,
        object_type="visit",
        object_id=42,
        ip="198.51.100.1",
    ).at = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    session.commit()
    for query, found in [
        ("from=21/11/2026&to=21/11/2026", True),
        ("from=20/11/2026&to=20/11/2026", False),
        ("to=20/11/2026", False),
        ("from=21/11/2026", True),
        ("object_type=visit&object_id=42", True),
        ("object_type=visit&object_id=43", False),
    ]:
        html = admin.get(f"/admin/audit?{query}&action=review").get_data(as_text=True)
        assert (_ids(html) == ["review"]) is found, query


BAD_DATES = [
    ("from=31/02/2026", "dd/mm/yyyy"),
    ("to=hôm qua", "dd/mm/yyyy"),
    ("from=2026-13-01", "dd/mm/yyyy"),
    ("from=22/11/2026&to=01/11/2026", "trước hoặc bằng"),
]


def test_bad_dates_are_vietnamese_errors_and_htmx_gets_the_table_alone(login_as):
    admin = login_as("admin")
    for query, message in BAD_DATES:
        for headers in ({}, {"HX-Request": "true"}):
            response = admin.get(f"/admin/audit?{query}", headers=headers)
            html = response.get_data(as_text=True)
            assert response.status_code == 400 and message in html, query
            assert "data-swap-errors" in html
        token = csrf_token(admin, "/admin/audit")
        refused = admin.post(f"/exports/audit-log?{query}", data={"csrf_token": token})
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    # htmx gets the table alone; unknown actions, object types and cursors are ignored.
    fragment = admin.get(
        "/admin/audit?action=drop_table&object_type=x&before=abc", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and 'id="audit-list"' in fragment
    assert _ids(fragment) == ["login"]


def test_keyset_pages_cover_every_entry_once(login_as, session):
    admin_user = _user(session, "admin")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(120):
        # Pairs share a timestamp: the cursor must break ties by id, not skip or repeat.
        record_event(
            session,
            action="view_household",
            user_id=admin_user.id,
            username="admin",
            object_type="household",
            object_id=n,
        ).at = start + timedelta(minutes=n // 2)
    session.commit()
    admin = login_as("admin")
    seen, url = [], "/admin/audit?action=view_household"
    while url:
        html = admin.get(url).get_data(as_text=True)
        seen += re.findall(r"Hộ (\d+)</span>", html)
        match = re.search(r'href="([^"]+)" rel="next"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == [str(n) for n in reversed(range(120))]


def test_other_provinces_entries_are_not_shown(login_as, session):
    province = GeoUnit(kind=UnitKind.PROVINCE, code="99", name="Tỉnh Khác")
    session.add(province)
    session.flush()
    stranger = User(
        username="quantri.khac",
        full_name="Quản Trị Khác",
        password_hash="x",
        role=Role.ADMIN,
        scope_unit_id=province.id,
    )
    session.add(stranger)
    session.flush()
    record_event(session, action="logout", user_id=stranger.id, username=stranger.username)
    session.commit()
    html = login_as("admin").get("/admin/audit?action=logout").get_data(as_text=True)
    assert "quantri.khac" not in html and _ids(html) == []


def test_the_export_is_audited_filtered_and_formula_safe(app, login_as, session, worker):
    for name, object_id in [('=HYPERLINK("http://x")', "+1"), ("@SUM(A1)", "-2")]:
        record_event(session, action="login_failed", username=name, object_id=object_id, ip=IP)
    session.commit()
    admin = login_as("admin")
    # A worker writes the file (outreach/exports/): the click queues it, its page offers it.
    queued = admin.post(
        "/exports/audit-log?action=login_failed",
        data={"csrf_token": csrf_token(admin, "/admin/audit")},
    )
    assert queued.status_code == 303
    (job,) = jobs_settled(app)
    assert job.status == "done", job.message
    page = admin.get(queued.headers["Location"]).get_data(as_text=True)
    assert 'id="export-download"' in page
    response = admin.get(f"/exports/{job.id}/file")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    response.close()  # a streamed answer: closing it ends the request, as a WSGI server does
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0].startswith("Thời điểm") and len(rows) == 3
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://x")' in cells and "'@SUM(A1)" in cells
    assert "'+1" in cells and "'-2" in cells
    assert not any(cell[:1] in "=+-@" for cell in cells if cell)
    assert {row[3] for row in rows[1:]} == {"Đăng nhập sai"}
    export = _only_export(session)
    assert json.loads(export.detail) == {"action": "login_failed"}


def _only_export(session) -> AuditLog:
    entries = _entries(session, "audit.export")
    assert len(entries) == 1 and entries[0].username == "admin" and entries[0].ip == "127.0.0.1"
    return entries[0]


# ---- it cannot be edited or deleted -----------------------------------------------------------


def test_the_log_has_only_read_routes_and_writes_are_refused(app, login_as, session):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
    assert {r.endpoint for r in rules} == {"audit.index"}  # the export is outreach/exports/
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    admin = login_as("admin")
    token = csrf_token(admin, "/admin/audit")
    count = len(session.exec(select(AuditLog)).all())
    for method in ("post", "put", "patch", "delete"):
        for path in ("/admin/audit", "/admin/audit/export.csv", "/admin/audit/1"):
            response = getattr(admin, method)(path, data={"csrf_token": token})
            assert response.status_code in (404, 405), (method, path)
    session.expire_all()
    assert len(session.exec(select(AuditLog)).all()) == count


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/list?kind=never_visited",
        "/dashboard/list?kind=overdue",
        "/dashboard/cell?metric=visits",
        "/leader/review",
    ],
)
def test_every_list_of_households_a_leader_opens_is_audited(login_as, session, path):
    from outreach.models import AuditLog

    client = login_as("lanhdao.07210")
    before = session.exec(select(AuditLog).where(AuditLog.action == "view_list")).all()
    assert client.get(path).status_code == 200
    session.expire_all()
    after = session.exec(select(AuditLog).where(AuditLog.action == "view_list")).all()
    assert len(after) == len(before) + 1
    assert after[-1].username == "lanhdao.07210" and after[-1].object_type == "households"

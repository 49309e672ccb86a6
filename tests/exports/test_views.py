"""The audit log's export is written by a worker into the shared file store: the page waits for
a worker, follows the job and offers the file; only its admin opens it; it is deleted after the
retention period, audited."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from outreach.exports import service
from outreach.models import AuditLog, BackgroundJob, StoredFile, User
from outreach.models.base import utcnow
from outreach.models.codes import Role
from tests.conftest import csrf_token, login
from tests.workers import jobs_settled, worker_threads


def _queue(admin) -> str:
    token = csrf_token(admin, "/admin/audit")
    response = admin.post("/exports/audit-log?action=login", data={"csrf_token": token})
    assert response.status_code == 303
    return response.headers["Location"]


def test_the_export_waits_for_a_worker_then_offers_its_file(app, login_as, session):
    admin = login_as("admin")
    page_url = _queue(admin)
    _queue(admin)  # a double click: the same export
    page = admin.get(page_url).get_data(as_text=True)
    assert 'id="export-queued"' in page and 'hx-trigger="every 1s"' in page
    assert "export-download" not in page
    with worker_threads(app):
        (job,) = jobs_settled(app)
    assert job.status == "done" and job.message.startswith("Tệp đã sẵn sàng")
    page = admin.get(page_url).get_data(as_text=True)
    assert 'id="export-download"' in page and "hx-trigger" not in page
    body = admin.get(f"/exports/{job.id}/file").get_data(as_text=True)
    assert body.startswith("\ufeff") and body.count("\n") >= 2  # the header and the logins
    downloads = session.exec(select(AuditLog).where(AuditLog.action == "export.download")).all()
    assert [(d.username, d.object_id) for d in downloads] == [("admin", str(job.id))]


def test_only_the_admin_who_asked_opens_an_export(app, login_as, session, client):
    admin = login_as("admin")
    page_url = _queue(admin)
    with worker_threads(app):
        (job,) = jobs_settled(app)
    other = User(
        username="quantri.hai",
        full_name="Quản Trị Hai",
        password_hash=session.exec(select(User).where(User.username == "admin"))
        .one()
        .password_hash,
        role=Role.ADMIN,
        scope_unit_id=session.exec(select(User).where(User.username == "admin"))
        .one()
        .scope_unit_id,
    )
    session.add(other)
    session.commit()
    second = app.test_client()
    assert login(second, "quantri.hai").status_code == 302
    assert second.get(page_url).status_code == 404
    assert second.get(f"/exports/{job.id}/file").status_code == 404


def test_exports_are_deleted_after_the_retention_period_audited(app, login_as, session):
    admin = login_as("admin")
    _queue(admin)
    with worker_threads(app):
        (job,) = jobs_settled(app)
    assert service.purge_expired(session, days=7) == []  # too young
    stored = session.get(BackgroundJob, job.id)
    stored.finished_at = utcnow() - timedelta(days=8)
    session.add(stored)
    session.commit()
    assert service.purge_expired(session, days=7) == [job.id]
    session.commit()
    pieces = session.exec(
        select(func.count()).select_from(StoredFile).where(StoredFile.owner_id == job.id)
    ).one()
    assert pieces == 0
    page = admin.get(f"/exports/{job.id}").get_data(as_text=True)
    assert 'id="export-deleted"' in page
    assert admin.get(f"/exports/{job.id}/file").status_code == 404
    (entry,) = session.exec(select(AuditLog).where(AuditLog.action == "export.files_deleted"))
    assert entry.object_id == str(job.id) and entry.username == "system"

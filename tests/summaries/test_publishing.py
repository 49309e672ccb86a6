"""Publishing runs in a worker: the admin's click queues one job, the page follows it, and a
double click or a job run twice publishes one version."""

import re

import pytest
from sqlmodel import func, select

from outreach.core import background
from outreach.models import AuditLog, BackgroundJob, Summary
from outreach.summaries.publishing import PUBLISH, bulletin_subject, publish_params
from tests.conftest import DEMO_TODAY, csrf_token
from tests.workers import jobs_settled, worker_threads

KEY = "2026-11-30"


@pytest.fixture(autouse=True)
def fixed_today(app):
    app.config["OUTREACH_TODAY"] = DEMO_TODAY


def _draft(client) -> tuple[str, int]:
    token = csrf_token(client, f"/summaries/{KEY}")
    assert client.post(f"/summaries/{KEY}/draft", data={"csrf_token": token}).status_code == 302
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    return token, int(re.search(r'name="summary_id" value="(\d+)"', page).group(1))


def _published(session) -> list[Summary]:
    session.expire_all()
    return session.exec(select(Summary).where(Summary.status == "published")).all()


def test_the_page_waits_for_a_worker_then_follows_the_publication(app, login_as, session):
    client = login_as("admin")
    token, summary_id = _draft(client)
    form = {"csrf_token": token, "summary_id": summary_id, "early": "1"}
    for _click in range(2):  # a double click
        assert client.post(f"/summaries/{KEY}/publish", data=form).status_code == 302
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert "Đang công bố…" in page and 'id="job-queued"' in page  # no worker runs yet
    assert 'hx-trigger="every 1s"' in page and 'name="summary_id"' not in page
    assert not _published(session)  # nothing published in the request
    fragment = client.get(f"/summaries/{KEY}", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).startswith('<div id="summary-period"')

    with worker_threads(app):
        (job,) = jobs_settled(app)  # the double click queued one job
    assert job.status == "done" and job.message.startswith("Đã công bố phiên bản 1.")
    (version,) = _published(session)
    assert version.id == summary_id and version.pdf.startswith(b"%PDF")
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert "Đã công bố phiên bản 1." in page and 'id="published-versions"' in page
    assert "hx-trigger" not in page  # nothing left to follow


def test_a_job_run_again_publishes_no_second_version(app, login_as, session):
    client = login_as("admin")
    _token, summary_id = _draft(client)
    params = publish_params(
        summary_id=summary_id, username="admin", reason="", ip="", today=DEMO_TODAY, early=True
    )
    jobs = []
    for _run in range(2):  # the same request queued twice (a retry after the commit)
        job, new = background.request_job(
            session,
            kind=PUBLISH,
            subject=bulletin_subject(_summary(session, summary_id).campaign_id, KEY),
            province_id=None,
            user_id=None,
            params=params,
        )
        session.commit()
        assert new
        jobs.append(job.id)
        with worker_threads(app):
            app.extensions["jobs"].user_jobs[PUBLISH](job.id)
            jobs_settled(app)
    session.expire_all()
    done = [session.get(BackgroundJob, job_id) for job_id in jobs]
    assert [j.status for j in done] == ["done", "done"]
    assert [j.message.split(".")[0] for j in done] == ["Đã công bố phiên bản 1"] * 2
    assert [s.id for s in _published(session)] == [summary_id]
    events = session.exec(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "summary.publish")
    ).one()
    assert events == 1


def test_a_refused_publication_is_refused_at_once_and_queues_nothing(app, login_as, session):
    client = login_as("admin")
    token, summary_id = _draft(client)
    refused = client.post(
        f"/summaries/{KEY}/publish", data={"csrf_token": token, "summary_id": summary_id}
    )
    assert refused.status_code == 303  # the period is not over and the admin did not confirm
    assert "chưa kết thúc" in client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert session.exec(select(func.count()).select_from(BackgroundJob)).one() == 0


def _summary(session, summary_id: int) -> Summary:
    return session.get(Summary, summary_id)

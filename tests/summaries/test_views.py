"""Admins draft and publish the 15th/30th summaries; media staff reach only what is published."""

import re
import subprocess
from collections import deque
from urllib.parse import urljoin, urlparse

import pytest
from sqlmodel import select

from outreach.core.formatting import format_phone
from outreach.models import Campaign, Household, Person, Summary, User
from outreach.summaries.document import render_document_html
from outreach.summaries.service import figures_of
from tests.conftest import DEMO_TODAY, csrf_token, login
from tests.workers import jobs_settled

KEY = "2026-11-30"  # the period containing DEMO_TODAY (16–30/11/2026)


@pytest.fixture(autouse=True)
def fixed_today(app):
    app.config["OUTREACH_TODAY"] = DEMO_TODAY


@pytest.fixture(autouse=True)
def _worker(worker):
    """Publishing runs in a worker: huey's consumer, here in threads of the test."""


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, f"/summaries/{KEY}"), **data})


def _draft_and_publish(client, **form):
    assert _post(client, f"/summaries/{KEY}/draft").status_code == 302
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    summary_id = re.search(r'name="summary_id" value="(\d+)"', page).group(1)
    form = {"early": "1", **form}  # the 22nd: the period is not over, the admin confirms
    response = _post(client, f"/summaries/{KEY}/publish", summary_id=summary_id, **form)
    jobs_settled(client.application)
    return response, summary_id


def test_a_period_not_over_is_published_only_with_an_explicit_confirmation(login_as, session):
    client = login_as("admin")
    assert _post(client, f"/summaries/{KEY}/draft").status_code == 302
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert 'id="period-open"' in page and 'name="early"' in page
    summary_id = re.search(r'name="summary_id" value="(\d+)"', page).group(1)
    refused = _post(client, f"/summaries/{KEY}/publish", summary_id=summary_id)
    assert refused.status_code == 303
    assert session.get(Summary, int(summary_id)).status == "draft"
    assert "chưa kết thúc" in client.get(f"/summaries/{KEY}").get_data(as_text=True)
    published, _ = _draft_and_publish(client)
    session.expire_all()
    assert session.get(Summary, int(summary_id)).status == "published"
    figures = figures_of(session.get(Summary, int(summary_id)))
    # (The draft's cut-off is the real clock's, after the period here: the like-for-like
    # comparison of a partial period is tested in tests/summaries/test_service.py.)
    assert "comparison" in figures


def test_admin_drafts_checks_and_publishes(login_as, session):
    client = login_as("admin")
    board = client.get("/summaries").get_data(as_text=True)
    assert "Bản tin ngày 30/11/2026" in board and "Bản tin ngày 15/11/2026" in board
    assert "Chưa lập" in board
    response, summary_id = _draft_and_publish(client)
    assert response.status_code == 302
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert "Đã công bố phiên bản 1." in page and "Phiên bản 1" in page
    stored = session.get(Summary, int(summary_id))
    session.refresh(stored)
    assert stored.status == "published" and stored.pdf.startswith(b"%PDF")
    pdf = client.get(f"/summaries/versions/{summary_id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data == stored.pdf
    assert "ban-tin-bhxh-tu-nguyen-2026-11-30-v1.pdf" in pdf.headers["Content-Disposition"]
    home = client.get("/").get_data(as_text=True)
    assert "Đã công bố 1 phiên bản" in home


def _document_in(page: str) -> str:
    """The summary document a browser page shows (inside its frame)."""
    match = re.search(r'<div class="doc-frame">(.*?</article>)</div>', page, re.DOTALL)
    assert match, "no summary document on the page"
    return match.group(1)


def test_pages_show_the_html_the_pdf_is_made_of(login_as, client, session):
    """The draft and version pages insert the very fragment `render_document_html` gives (the
    one summaries/pdf.html wraps for the PDF), also when the admin reads the app in English."""
    admin = login_as("admin")
    _, summary_id = _draft_and_publish(admin)
    assert _post(admin, f"/summaries/{KEY}/draft").status_code == 302
    draft = session.exec(select(Summary).where(Summary.status == "draft")).one()
    with client.session_transaction() as flask_session:
        flask_session["lang"] = "en"
    published = session.get(Summary, int(summary_id))
    for path, summary in (
        (f"/summaries/{KEY}", draft),
        (f"/summaries/versions/{summary_id}", published),
    ):
        page = admin.get(path).get_data(as_text=True)
        assert page.count('<html lang="en">') == 1, path  # the page around it is English
        expected = render_document_html(figures_of(summary), heading_level=2)
        assert _document_in(page) == expected, path
        assert page.count('<article class="summary-doc"') == 1, path


def test_a_correction_needs_a_reason_and_keeps_the_old_version(login_as, session):
    client = login_as("admin")
    _, first_id = _draft_and_publish(client)
    first_pdf = client.get(f"/summaries/versions/{first_id}.pdf").data
    response, second_id = _draft_and_publish(client)
    assert response.status_code == 303
    assert "hãy ghi lý do đính chính" in client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert session.get(Summary, int(second_id)).status == "draft"
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    summary_id = re.search(r'name="summary_id" value="(\d+)"', page).group(1)
    response = _post(
        client,
        f"/summaries/{KEY}/publish",
        summary_id=summary_id,
        reason="Bổ sung lượt thăm gửi muộn",
        early="1",
    )
    assert response.status_code == 302
    jobs_settled(client.application)
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert "Phiên bản 2" in page and "Bổ sung lượt thăm gửi muộn" in page
    assert client.get(f"/summaries/versions/{first_id}.pdf").data == first_pdf


def test_media_cannot_reach_drafts_or_personal_pages(login_as, client, session):
    admin = login_as("admin")
    _draft_and_publish(admin)
    _post(admin, f"/summaries/{KEY}/draft")  # a newer draft exists, unpublished
    draft = session.exec(select(Summary).where(Summary.status == "draft")).one()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert login(client, "baochi").status_code == 302
    household = session.exec(select(Household)).first()
    for path, allowed in (
        (f"/summaries/versions/{draft.id}.pdf", (404,)),
        (f"/summaries/versions/{draft.id}.csv", (404,)),
        (f"/summaries/versions/{draft.id}", (404,)),
        (f"/summaries/{KEY}", (403,)),
        (f"/households/{household.id}", (403,)),
        ("/worklist", (403,)),
        ("/calculator", (403,)),
    ):
        assert client.get(path).status_code in allowed, path
    for path in (f"/summaries/{KEY}/draft", f"/summaries/{KEY}/publish"):
        assert _post_as_media(client, path).status_code == 403


def _post_as_media(client, path):
    return client.post(path, data={"csrf_token": csrf_token(client, "/")})


def _personal_data(session) -> set[str]:
    """Every demo person's name, phone (both formats), BHXH and CCCD number."""
    values = set()
    for p in session.exec(select(Person)):
        values.add(p.full_name)
        for v in (p.phone, format_phone(p.phone) if p.phone else None, p.bhxh_number, p.citizen_id):
            if v:
                values.add(v)
    for h in session.exec(select(Household)):
        if h.phone:
            values.update({h.phone, format_phone(h.phone)})
    values.update(u.full_name for u in session.exec(select(User).where(User.role == "canvasser")))
    return {v for v in values if len(v) >= 6}


def _text_of(response) -> str:
    if response.mimetype == "application/pdf":
        return subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
        ).stdout.decode("utf-8")
    return response.get_data(as_text=True)


def test_media_sees_no_personal_data_anywhere_they_can_reach(login_as, client, session):
    admin = login_as("admin")
    _draft_and_publish(admin)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert login(client, "baochi").status_code == 302
    secrets = _personal_data(session)
    assert len(secrets) > 1000
    seen, queue, reached = set(), deque(["/"]), []
    while queue:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200:
            continue
        text = _text_of(response)
        reached.append((path, response.mimetype))
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{path} shows personal data: {leaked[:5]}"
        if response.mimetype == "text/html":
            for href in re.findall(r'href="([^"#]+)"', text):
                url = urlparse(urljoin(path, href))
                if (
                    not url.netloc
                    and url.path.startswith("/")
                    and not url.path.startswith("/static")
                ):
                    queue.append(url.path + (f"?{url.query}" if url.query else ""))
    kinds = {mimetype for _, mimetype in reached}
    assert {"text/html", "application/pdf", "text/csv"} <= kinds, reached


def test_a_province_without_a_running_campaign_says_so_and_offers_to_start_one(login_as, session):
    for campaign in session.exec(select(Campaign)):
        campaign.is_active = False
    session.commit()
    client = login_as("admin")
    page = client.get("/summaries")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "chưa có chiến dịch đang chạy" in html
    assert 'href="/admin/campaigns/new"' in html

"""A published bulletin's PDF reaches subscribed media staff and leaders through a real SMTP
server on loopback; failures are recorded, retried, and never undo the publication."""

from __future__ import annotations

import re

from sqlmodel import select

from outreach.core.periods import period_from_key
from outreach.models import BulletinDelivery, Campaign, Summary, User
from outreach.summaries.delivery import deliver_summary
from outreach.summaries.service import draft_summary, publish_summary
from tests.conftest import DEMO_TODAY, csrf_token
from tests.smtp_server import free_port, pdf_text
from tests.workers import jobs_settled

KEY = "2026-11-30"


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _subscribe(session, username: str, email: str, *, wants: bool = True) -> User:
    user = _user(session, username)
    user.email, user.gets_bulletins = email, wants
    session.add(user)
    session.commit()
    return user


def _published(session) -> Summary:
    campaign = session.exec(select(Campaign).where(Campaign.is_active)).first()
    draft = draft_summary(
        session, campaign=campaign, period=period_from_key(KEY), user_id=_user(session, "admin").id
    )
    summary = publish_summary(
        session, summary_id=draft.id, user_id=None, today=DEMO_TODAY, early=True
    )
    session.commit()
    return summary


def _deliveries(session, summary_id: int) -> dict[str, BulletinDelivery]:
    session.expire_all()
    rows = session.exec(
        select(BulletinDelivery).where(BulletinDelivery.summary_id == summary_id)
    ).all()
    return {row.address: row for row in rows}


def test_the_pdf_reaches_subscribed_media_and_leaders_with_a_vietnamese_subject(
    session, smtp_server
):
    _subscribe(session, "baochi", "phongvien@baobacninh.vn")
    _subscribe(session, "lanhdao.tinh", "thang.lv@bacninh.gov.vn")
    _subscribe(session, "lanhdao.cum", "huy.pq@bacninh.gov.vn", wants=False)
    _subscribe(session, "admin", "admin@bhxh.bacninh.vn")  # admins publish; they are not sent it
    summary = _published(session)

    report = deliver_summary(session, summary_id=summary.id, smtp_url=smtp_server.url)
    session.commit()

    assert (report.sent, report.failed) == (2, 0)
    assert sorted(r for m in smtp_server.inbox for r in m.recipients) == [
        "phongvien@baobacninh.vn",
        "thang.lv@bacninh.gov.vn",
    ]
    (mail,) = smtp_server.to("phongvien@baobacninh.vn")
    assert mail.subject == (
        "Bản tin kết quả vận động BHXH tự nguyện ngày 30/11/2026 – Tỉnh Bắc Ninh"
    )
    assert b"Subject: =?utf-8?" in mail.raw  # encoded on the wire, read back with diacritics
    assert mail.message.get_content_type() == "multipart/mixed"
    assert "Kính gửi Trần Minh Đức," in mail.body()
    ((filename, data),) = mail.attachments()
    assert filename == f"ban-tin-bhxh-tu-nguyen-{KEY}-v{summary.version}.pdf"
    assert data == summary.pdf
    assert "BẢN TIN KẾT QUẢ VẬN ĐỘNG" in pdf_text(data)
    rows = _deliveries(session, summary.id)
    assert {a: r.status for a, r in rows.items()} == {
        "phongvien@baobacninh.vn": "sent",
        "thang.lv@bacninh.gov.vn": "sent",
    }

    # Sending again sends nobody a second copy.
    again = deliver_summary(session, summary_id=summary.id, smtp_url=smtp_server.url)
    assert (again.sent, again.failed) == (0, 0)
    assert len(smtp_server.inbox) == 2


def test_a_refused_recipient_is_recorded_and_retried_alone(session, smtp_server):
    _subscribe(session, "baochi", "phongvien@baobacninh.vn")
    _subscribe(session, "lanhdao.tinh", "bounce@bacninh.gov.vn")
    summary = _published(session)

    report = deliver_summary(session, summary_id=summary.id, smtp_url=smtp_server.url)
    session.commit()
    assert (report.sent, report.failed) == (1, 1)
    failed = _deliveries(session, summary.id)["bounce@bacninh.gov.vn"]
    assert failed.status == "failed" and "550" in failed.error and failed.attempts == 1

    _subscribe(session, "lanhdao.tinh", "thang.lv@bacninh.gov.vn")  # the admin fixes the address
    retry = deliver_summary(session, summary_id=summary.id, smtp_url=smtp_server.url)
    session.commit()
    assert (retry.sent, retry.failed) == (1, 0)
    assert [m.recipients for m in smtp_server.inbox] == [
        ["phongvien@baobacninh.vn"],
        ["thang.lv@bacninh.gov.vn"],
    ]
    row = _deliveries(session, summary.id)["thang.lv@bacninh.gov.vn"]
    assert row.status == "sent" and row.attempts == 2 and row.error == ""


def test_no_server_or_a_wrong_url_records_failures(session):
    _subscribe(session, "baochi", "phongvien@baobacninh.vn")
    summary = _published(session)
    down = deliver_summary(
        session, summary_id=summary.id, smtp_url=f"smtp://127.0.0.1:{free_port()}"
    )
    assert (down.sent, down.failed) == (0, 1)
    assert "127.0.0.1" in _deliveries(session, summary.id)["phongvien@baobacninh.vn"].error
    for url, words in (("", "OUTREACH_SMTP_URL"), ("http://x", "không hợp lệ")):
        deliver_summary(session, summary_id=summary.id, smtp_url=url)
        assert words in _deliveries(session, summary.id)["phongvien@baobacninh.vn"].error


def _publish_through_the_page(client):
    token = csrf_token(client, f"/summaries/{KEY}")
    client.post(f"/summaries/{KEY}/draft", data={"csrf_token": token})
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    summary_id = re.search(r'name="summary_id" value="(\d+)"', page).group(1)
    response = client.post(
        f"/summaries/{KEY}/publish",
        data={"csrf_token": token, "summary_id": summary_id, "early": "1"},
    )
    jobs_settled(client.application)  # a worker publishes, then sends
    return response, int(summary_id)


def test_publishing_with_the_mail_server_down_publishes_and_offers_a_retry(
    app, login_as, session, smtp_server, worker
):
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    _subscribe(session, "baochi", "phongvien@baobacninh.vn")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens there
    client = login_as("admin")
    response, summary_id = _publish_through_the_page(client)
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Summary, summary_id).status == "published"
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert "1 thư chưa gửi được" in page
    assert f'id="deliveries-{summary_id}"' in page and "chưa gửi được:" in page

    app.config["SMTP_URL"] = smtp_server.url  # the server is back: the admin presses the button
    retry = client.post(
        f"/summaries/versions/{summary_id}/deliver",
        data={"csrf_token": csrf_token(client, f"/summaries/{KEY}")},
    )
    assert retry.status_code == 303
    jobs_settled(app)
    assert [m.recipients for m in smtp_server.inbox] == [["phongvien@baobacninh.vn"]]
    page = client.get(f"/summaries/{KEY}").get_data(as_text=True)
    assert "Đã gửi bản tin qua thư điện tử cho 1 người." in page
    assert "1 đã gửi, 0 chưa gửi được" in page


def test_the_retry_button_is_for_admins_only(app, login_as, session, smtp_server):
    summary = _published(session)
    client = login_as("baochi")
    response = client.post(
        f"/summaries/versions/{summary.id}/deliver", data={"csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code in (403, 404)

"""`outreach create-user --email`, `bulletins draft-due`, `bulletins deliver`, `milestones add`."""

from __future__ import annotations

from sqlmodel import Session, select

from outreach import create_app
from outreach.models import BulletinDelivery, Milestone, Notice, Summary, User
from tests.smtp_server import free_port, smtp_server  # noqa: F401


def _runner(url, **config):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "cli", **config})
    return app, app.test_cli_runner()


def _create(runner, username: str, *extra: str):
    return runner.invoke(
        args=[
            "create-user",
            "--username",
            username,
            "--full-name",
            "Đỗ Thu Trang",
            "--role",
            "media",
            "--scope",
            "24",
            "--password",
            "mat-khau-moi-dai",
            *extra,
        ]
    )


def test_create_user_with_an_email_and_the_bulletins(db_url):
    app, runner = _runner(db_url)
    result = _create(runner, "phongvien", "--email", " Trang.DT@BaoBacNinh.vn ", "--bulletins")
    assert result.exit_code == 0, result.output
    bad = _create(runner, "phongvien2", "--email", "trang at bao")
    assert bad.exit_code != 0 and "không hợp lệ" in bad.output
    with Session(app.extensions["engine"]) as s:
        user = s.exec(select(User).where(User.username == "phongvien")).one()
        assert (user.email, user.gets_bulletins) == ("trang.dt@baobacninh.vn", True)
        assert s.exec(select(User).where(User.username == "phongvien2")).first() is None


def test_draft_due_then_publish_then_deliver_from_the_command_line(db_url, smtp_server):  # noqa: F811
    app, runner = _runner(db_url, SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    assert (
        _create(runner, "phongvien", "--email", "trang@baobacninh.vn", "--bulletins").exit_code == 0
    )

    early = runner.invoke(args=["bulletins", "draft-due", "--now", "2026-11-15T16:00"])
    assert early.exit_code == 0 and "Chưa đến giờ" in early.output
    due = runner.invoke(args=["bulletins", "draft-due", "--now", "2026-11-15T17:10"])
    assert due.exit_code == 0, due.output
    assert (
        "kỳ 2026-11-15: đã lập bản nháp" in due.output and "báo cho 1 quản trị viên" in due.output
    )
    again = runner.invoke(args=["bulletins", "draft-due", "--now", "2026-11-15T18:10"])
    assert "đã có bản nháp hoặc bản công bố" in again.output

    # Published while the mail server is unreachable: the publication stands, the mail waits.
    published = runner.invoke(args=["summary", "--period", "2026-11-15", "--publish"])
    assert published.exit_code == 0, published.output
    assert "đã gửi 0 thư, 1 chưa gửi được" in published.output
    with Session(app.extensions["engine"]) as s:
        summary = s.exec(select(Summary).where(Summary.status == "published")).one()
        assert s.exec(select(Notice)).one().link == "/summaries/2026-11-15"
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    failed = runner.invoke(args=["bulletins", "deliver", "--summary", str(summary.id)])
    assert "đã gửi 0 thư, 1 chưa gửi được" in failed.output

    app.config["SMTP_URL"] = smtp_server.url
    retried = runner.invoke(args=["bulletins", "deliver"])
    assert retried.exit_code == 0, retried.output
    assert f"Bản tin {summary.id}: đã gửi 1 thư, 0 chưa gửi được." in retried.output
    (mail,) = smtp_server.inbox
    assert mail.recipients == ["trang@baobacninh.vn"]
    assert mail.subject.startswith("Bản tin kết quả vận động BHXH tự nguyện ngày 15/11/2026")
    nothing = runner.invoke(args=["bulletins", "deliver"])
    assert "Không có thư nào chờ gửi lại." in nothing.output
    with Session(app.extensions["engine"]) as s:
        (row,) = s.exec(select(BulletinDelivery)).all()
        assert (row.status, row.attempts) == ("sent", 3)  # publish, retry, retry


def test_milestones_add(db_url):
    app, runner = _runner(db_url)
    ok = runner.invoke(
        args=[
            "milestones",
            "add",
            "--kind",
            "target_share",
            "--date",
            "2026-10-31",
            "--share",
            "50",
        ]
    )
    assert ok.exit_code == 0, ok.output
    assert "Đã thêm mốc target_share ngày 31/10/2026." in ok.output
    missing = runner.invoke(
        args=["milestones", "add", "--kind", "target_share", "--date", "2026-11-01"]
    )
    assert missing.exit_code != 0 and "cần tỷ lệ" in missing.output
    with Session(app.extensions["engine"]) as s:
        (milestone,) = s.exec(select(Milestone)).all()
        assert (milestone.share, milestone.level) == (0.5, "commune")

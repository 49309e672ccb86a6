"""The `outreach` command: db upgrade, create-user, demo, demo-logins."""

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from outreach import create_app
from outreach.models import Person, User


def _runner(url):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "cli"})
    return app, app.test_cli_runner()


def test_upgrade_then_demo_then_logins_on_an_empty_database(databases):
    app, runner = _runner(databases.empty())
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "Đã cập nhật" in result.output
    result = runner.invoke(
        args=["demo", "--persons", "300", "--seed", "3", "--today", "2026-11-22"]
    )
    assert result.exit_code == 0, result.output
    assert "Đã tạo dữ liệu mẫu: 300 người" in result.output and "Demo@2026" in result.output
    again = runner.invoke(args=["demo", "--persons", "300", "--if-empty"])
    assert again.exit_code == 0 and "bỏ qua" in again.output
    refused = runner.invoke(args=["demo", "--persons", "300"])
    assert refused.exit_code != 0 and "đã có dữ liệu" in refused.output
    logins = runner.invoke(args=["demo-logins"])
    assert "canbo.07210.1" in logins.output and "baochi" in logins.output
    with Session(app.extensions["engine"]) as s:
        assert s.exec(select(func.count()).select_from(Person)).one() == 300
    app.extensions["engine"].dispose()


def test_create_user_with_a_scope_code(db_url):
    app, runner = _runner(db_url)
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            "canbo.moi",
            "--full-name",
            "Nguyễn Văn Mới",
            "--role",
            "canvasser",
            "--scope",
            "07210",
            "--password",
            "mat-khau-moi",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Đã tạo người dùng canbo.moi" in result.output
    with Session(app.extensions["engine"]) as s:
        user = s.exec(select(User).where(User.username == "canbo.moi")).one()
        assert user.role == "canvasser" and user.password_hash.startswith("scrypt:")
    bad = runner.invoke(
        args=[
            "create-user",
            "--username",
            "x.y",
            "--full-name",
            "X",
            "--role",
            "leader",
            "--scope",
            "99999",
            "--password",
            "mat-khau-moi",
        ]
    )
    assert bad.exit_code != 0 and "Không có đơn vị mã 99999" in bad.output
    app.extensions["engine"].dispose()


def test_refresh_priorities_stamps_every_household(db_url):
    from outreach.models import Household

    app, runner = _runner(db_url)
    result = runner.invoke(args=["refresh-priorities", "--today", "2026-11-22"])
    assert result.exit_code == 0 and "Đã tính lại điểm ưu tiên" in result.output
    with Session(app.extensions["engine"]) as s:
        days = set(s.exec(select(Household.priority_on).distinct()).all())
    assert days == {date(2026, 11, 22)}
    app.extensions["engine"].dispose()

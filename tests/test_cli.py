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


def test_demo_of_another_province(databases):
    from outreach.models import GeoUnit, Household
    from outreach.models.codes import UnitKind

    app, runner = _runner(databases.empty())
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    refused = runner.invoke(args=["demo", "--persons", "300", "--province", "99"])
    assert refused.exit_code != 0 and "Không có tỉnh mã 99" in refused.output
    result = runner.invoke(
        args=["demo", "--persons", "300", "--today", "2026-11-22", "--province", "01"]
    )
    assert result.exit_code == 0, result.output
    assert "Đã tạo dữ liệu mẫu: 300 người" in result.output
    with Session(app.extensions["engine"]) as s:
        province = s.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
        assert (province.code, province.name) == ("01", "Thành phố Hà Nội")
        communes = s.exec(
            select(func.count()).select_from(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE)
        ).one()
        assert communes == 126
        # Every household and person is in Hà Nội; identity numbers carry its code.
        assert {h.province_id for h in s.exec(select(Household))} == {province.id}
        people = s.exec(select(Person).where(Person.citizen_id_is_legacy.is_(False))).all()
        assert people and all(p.citizen_id.startswith("001") for p in people)
    logins = runner.invoke(args=["demo-logins"]).output
    assert "lanhdao.tinh" in logins and "Hà Nội" in logins
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
        assert user.role == "canvasser" and user.password_hash.startswith("$argon2id$")
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
    # The admin page's role/scope rules hold here too: a canvasser works in one commune.
    wide = runner.invoke(
        args=[
            "create-user",
            *("--username", "canbo.tinh", "--full-name", "Cán Bộ Tỉnh", "--role", "canvasser"),
            *("--scope", "24", "--password", "mat-khau-moi"),
        ]
    )
    assert wide.exit_code != 0 and "phạm vi là một xã" in wide.output
    with Session(app.extensions["engine"]) as s:
        assert s.exec(select(User).where(User.username == "canbo.tinh")).first() is None
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


def test_summary_drafts_publishes_and_corrects_from_the_command_line(db_url, tmp_path):
    import hashlib
    import subprocess

    from outreach.models import Summary

    app, runner = _runner(db_url)
    draft_pdf = tmp_path / "draft.pdf"
    result = runner.invoke(args=["summary", "--period", "2026-11-15", "--out", str(draft_pdf)])
    assert result.exit_code == 0, result.output
    assert "phiên bản 1 (bản nháp)" in result.output
    text = subprocess.run(
        ["pdftotext", str(draft_pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "01/11/2026" in text and "15/11/2026" in text

    published = tmp_path / "v1.pdf"
    result = runner.invoke(
        args=[
            "summary",
            "--period",
            "2026-11-15",
            "--publish",
            "--user",
            "admin",
            "--out",
            str(published),
        ]
    )
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    assert f"SHA-256 của PDF: {digest}" in result.output

    refused = runner.invoke(args=["summary", "--period", "2026-11-15", "--publish"])
    assert refused.exit_code != 0 and "lý do đính chính" in refused.output
    corrected = runner.invoke(
        args=["summary", "--period", "2026-11-15", "--publish", "--reason", "Bổ sung số liệu"]
    )
    # The refused attempt left draft 2 behind; the correction refreshes and publishes it.
    assert corrected.exit_code == 0 and "phiên bản 2 (đã công bố)" in corrected.output
    bad = runner.invoke(args=["summary", "--period", "2026-13-40"])
    assert bad.exit_code != 0 and "Kỳ không hợp lệ" in bad.output
    with Session(app.extensions["engine"]) as s:
        versions = s.exec(select(Summary).order_by(Summary.version)).all()
        assert [(v.version, v.status) for v in versions] == [(1, "published"), (2, "published")]
        assert versions[1].supersedes_id == versions[0].id
        assert versions[0].content_hash == digest and versions[0].pdf == published.read_bytes()
    app.extensions["engine"].dispose()


def test_import_checks_then_imports_in_one_go(db_url, tmp_path):
    from outreach.models import ImportBatch
    from tests.imports.test_writer import ROWS, _csv

    app, runner = _runner(db_url)
    path = tmp_path / "ds.csv"
    path.write_bytes(_csv(ROWS))
    with Session(app.extensions["engine"]) as s:
        before = s.exec(select(func.count()).select_from(Person)).one()
    dry = runner.invoke(args=["import", str(path), "--kind", "participants", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 người mới" in dry.output and "2 lỗi" in dry.output and "Dòng 7" in dry.output
    refused = runner.invoke(args=["import", str(path), "--kind", "participants"])
    assert refused.exit_code != 0 and "không ghi gì" in refused.output
    unconfirmed = runner.invoke(
        args=["import", str(path), "--kind", "participants", "--skip-rejected"]
    )
    assert unconfirmed.exit_code != 0 and "--create-villages" in unconfirmed.output
    assert "Thôn Mới Lập (Phường Bắc Giang)" in unconfirmed.output
    done = runner.invoke(
        args=[
            "import", str(path), "--kind", "participants", "--skip-rejected", "--create-villages"
        ]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with Session(app.extensions["engine"]) as s:
        assert s.exec(select(func.count()).select_from(Person)).one() == before + 3
        statuses = [b.status for b in s.exec(select(ImportBatch).order_by(ImportBatch.id))]
    assert statuses == ["previewed", "previewed", "previewed", "done"]  # refused: only checked
    app.extensions["engine"].dispose()


def test_summary_json_is_what_the_bulletin_shows_and_changes_nothing(db_url, tmp_path):
    import json
    import subprocess

    from outreach.core.formatting import format_number
    from outreach.models import Summary
    from outreach.summaries.service import figures_of

    app, runner = _runner(db_url)
    result = runner.invoke(args=["summary", "--period", "2026-11-15", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    with Session(app.extensions["engine"]) as s:
        assert s.exec(select(Summary)).first() is None  # nothing drafted, nothing published
    province = data["province"]["total"]
    assert province["new"] == sum(c["total"]["new"] for c in data["communes"]) > 0
    assert all({"rank", "mark", "target", "achieved"} <= set(c) for c in data["communes"])
    assert set(data["communes"][0]["total"]["refusals_by_reason"]) >= {"no_money", "distrust"}

    pdf = tmp_path / "v1.pdf"
    published = runner.invoke(
        args=["summary", "--period", "2026-11-15", "--publish", "--out", str(pdf)]
    )
    assert published.exit_code == 0, published.output
    with Session(app.extensions["engine"]) as s:
        stored = figures_of(s.exec(select(Summary)).one())
    # The same figures went into the PDF: every commune's numbers, and the province's in its text.
    for printed, frozen in zip(data["communes"], stored["communes"], strict=True):
        assert printed["total"]["new"] == frozen["total"]["new"]
        assert printed["period"]["visits"] == frozen["period"]["visits"]
        assert (printed["rank"], printed["mark"]) == (frozen["rank"], frozen["mark"])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert format_number(province["new"]) in text and format_number(province["renewals"]) in text
    app.extensions["engine"].dispose()


def test_publishing_a_period_before_it_ends_needs_an_explicit_confirmation(db_url):
    from outreach.core.clock import today_local
    from outreach.core.periods import period_containing
    from outreach.models import Summary

    app, runner = _runner(db_url)
    current = period_containing(today_local()).key  # never over today
    refused = runner.invoke(args=["summary", "--period", current, "--publish"])
    assert refused.exit_code != 0 and "chưa kết thúc" in refused.output
    with Session(app.extensions["engine"]) as s:
        assert s.exec(select(Summary).where(Summary.status == "published")).first() is None
    early = runner.invoke(args=["summary", "--period", current, "--publish", "--early"])
    assert early.exit_code == 0, early.output
    app.extensions["engine"].dispose()


def test_import_into_one_of_several_provinces_needs_its_code(db_url, tmp_path):
    from outreach.geography.service import load_province
    from outreach.models import GeoUnit, ImportBatch
    from outreach.models.codes import UnitKind
    from tests.imports.test_writer import ROWS, _csv

    app, runner = _runner(db_url)
    path = tmp_path / "ds.csv"
    path.write_bytes(_csv(ROWS))
    with Session(app.extensions["engine"]) as s:
        bac_ninh = s.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
        code, province_id = bac_ninh.code, bac_ninh.id
        only = runner.invoke(args=["import", str(path), "--kind", "participants", "--dry-run"])
        assert only.exit_code == 0, only.output  # one province: no code needed
        load_province(s, province_code="01")
        s.commit()
    args = ["import", str(path), "--kind", "participants", "--dry-run"]
    ambiguous = runner.invoke(args=args)
    assert ambiguous.exit_code != 0 and "--province" in ambiguous.output
    assert "01 (Thành phố Hà Nội)" in ambiguous.output and f"{code} (" in ambiguous.output
    unknown = runner.invoke(args=[*args, "--province", "99"])
    assert unknown.exit_code != 0 and "Không có tỉnh mã 99" in unknown.output
    chosen = runner.invoke(args=[*args, "--province", code])
    assert chosen.exit_code == 0 and "3 người mới" in chosen.output, chosen.output
    with Session(app.extensions["engine"]) as s:
        provinces = [b.province_id for b in s.exec(select(ImportBatch).order_by(ImportBatch.id))]
    assert provinces == [province_id, province_id]  # refusals store nothing
    app.extensions["engine"].dispose()

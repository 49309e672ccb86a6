"""The `outreach` command: database upgrade, users and the demo province."""

from __future__ import annotations

import json
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlmodel import Session, select

from outreach import migrate
from outreach.accounts.service import AccountError, check_role_scope, create_user
from outreach.cli_campaign import (
    bulletins_group,
    deliver_bulletin,
    digest_group,
    milestones_group,
)
from outreach.core.clock import today_local
from outreach.core.formatting import format_number
from outreach.core.periods import period_from_key
from outreach.imports.reading import ImportFileError
from outreach.models import Campaign, GeoUnit, ImportBatch, User
from outreach.models.base import utcnow
from outreach.models.codes import ImportKind, Role, UnitKind
from outreach.operations.demo import (
    DEMO_PASSWORD,
    DemoError,
    build_demo,
    database_is_empty,
    demo_logins,
)
from outreach.operations.demo import (
    PROVINCE_CODE as DEMO_PROVINCE,
)
from outreach.summaries.exports import machine_figures
from outreach.summaries.service import (
    SummaryError,
    compute_figures,
    draft_summary,
    figures_of,
    publish_summary,
)


def _session() -> Session:
    return Session(current_app.extensions["job_engine"], expire_on_commit=False)


@click.group("db")
def db_group():
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str):
    """Apply the Alembic migrations up to a revision."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Đã cập nhật cấu trúc cơ sở dữ liệu ({revision}).")


@click.group("geography")
def geography_group():
    """The geography tree: provinces and communes of the official list."""


@geography_group.command("load")
@click.option("--province", "codes", multiple=True, help="Mã tỉnh (01 Hà Nội, 24 Bắc Ninh…)")
@click.option("--all", "load_all", is_flag=True, help="Cả 34 tỉnh, thành phố")
@click.option(
    "--old-districts", is_flag=True, help="Nhóm các xã theo huyện cũ (cho tỉnh còn báo cáo như vậy)"
)
@with_appcontext
def geography_load_command(codes, load_all, old_districts):
    """Load (or refresh) provinces and their communes from the official 2025 list; idempotent."""
    from outreach.geography.service import GeographyError, load_provinces, official_provinces

    if load_all:
        codes = [code for code, _name in official_provinces()]
    if not codes:
        raise click.ClickException("Cần --province MÃ (có thể lặp lại) hoặc --all.")
    with _session() as session:
        try:
            loaded = load_provinces(
                session, province_codes=list(codes), with_old_districts=old_districts
            )
        except GeographyError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()  # the command is the unit of work: every province, or none
    for province in loaded:
        click.echo(
            f"{province.code} {province.name}: {format_number(province.communes)} xã, phường, "
            f"đặc khu; {format_number(province.created)} đơn vị mới."
        )


@click.command("create-user")
@click.option("--username", required=True, help="Tên đăng nhập")
@click.option("--full-name", required=True, help="Họ và tên")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--scope",
    "scope_code",
    required=True,
    help="Mã đơn vị phạm vi: mã tỉnh (24), mã xã (07210) hoặc mã nhóm",
)
@click.option("--organization", default="", help="Đơn vị công tác")
@click.option("--email", default="", help="Thư điện tử (nhận bản tin, bản tổng hợp tuần)")
@click.option(
    "--bulletins/--no-bulletins",
    default=False,
    help="Nhận bản tin ngày 15 và 30 qua thư điện tử (báo chí, lãnh đạo; cần --email)",
)
@click.password_option("--password", help="Mật khẩu (ít nhất 10 ký tự)")
@with_appcontext
def create_user_command(
    username, full_name, role, scope_code, organization, email, bulletins, password
):
    """Create a user with a role and a scope in the geography tree."""
    with _session() as session:
        unit = session.exec(select(GeoUnit).where(GeoUnit.code == scope_code)).first()
        if unit is None:
            raise click.ClickException(f"Không có đơn vị mã {scope_code}.")
        try:
            # The same role/scope rules as the admin's page (a canvasser works in one commune…).
            check_role_scope(
                session,
                role=role,
                scope_unit_id=unit.id,
                province_id=unit.province_id or unit.id,
            )
            user = create_user(
                session,
                username=username,
                full_name=full_name,
                password=password,
                role=role,
                scope_unit_id=unit.id,
                organization=organization,
                email=email,
                gets_bulletins=bulletins,
            )
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(f"Đã tạo người dùng {user.username} ({role}, phạm vi {unit.name}).")


@click.command("demo")
@click.option("--persons", default=5000, show_default=True, type=click.IntRange(200, 1_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--visits-per-person", default=2.0, show_default=True, type=float)
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Ngày coi là hôm nay (mặc định: hôm nay theo giờ Việt Nam)",
)
@click.option("--if-empty", is_flag=True, help="Không làm gì nếu cơ sở dữ liệu đã có dữ liệu")
@click.option(
    "--province",
    "province_code",
    default=DEMO_PROVINCE,
    show_default=True,
    help="Mã tỉnh của dữ liệu mẫu (01 Hà Nội, 79 TP Hồ Chí Minh…)",
)
@with_appcontext
def demo_command(persons, seed, visits_per_person, today, if_empty, province_code):
    """Build a demo province (new Bắc Ninh unless --province) into an empty database."""
    from outreach.geography.service import official_provinces

    if province_code not in dict(official_provinces()):
        raise click.ClickException(f"Không có tỉnh mã {province_code} trong danh mục 2025.")
    day: date = today.date() if today else today_local()
    with _session() as session:
        if if_empty and not database_is_empty(session):
            click.echo("Cơ sở dữ liệu đã có dữ liệu; bỏ qua dữ liệu mẫu.")
            print_logins(demo_logins(session))
            return
        try:
            report = build_demo(
                session,
                persons=persons,
                seed=seed,
                today=day,
                visits_per_person=visits_per_person,
                progress=lambda m: click.echo(f"  … {m}", err=True),
                province_code=province_code,
            )
        except DemoError as exc:
            raise click.ClickException(str(exc)) from exc
    n = format_number
    click.echo(
        f"Đã tạo dữ liệu mẫu: {n(report.persons)} người, {n(report.households)} hộ, "
        f"{n(report.villages)} thôn, {n(report.visits)} lượt thăm, {n(report.users)} người dùng "
        f"trong {report.seconds:.1f} giây."
    )
    print_logins(report.logins)


@click.command("demo-logins")
@with_appcontext
def demo_logins_command():
    """Print the demo accounts to try, if the demo province is loaded."""
    with _session() as session:
        logins = demo_logins(session)
    if logins:
        print_logins(logins)
    else:
        click.echo("Chưa có tài khoản mẫu (chạy: outreach demo).")


@click.command("refresh-priorities")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Ngày tính điểm (mặc định: hôm nay theo giờ Việt Nam)",
)
@click.option(
    "--processes",
    "--threads",
    "processes",
    type=click.IntRange(1, 64),
    default=None,
    help="Số tiến trình tính điểm cùng lúc trên PostgreSQL (mặc định OUTREACH_REFRESH_PROCESSES)",
)
@with_appcontext
def refresh_priorities_command(today, processes):
    """Recompute every household's priority for the day (the worker does it nightly at 00:05)."""
    from outreach.jobs import refresh_every_commune

    day: date = today.date() if today else today_local()
    total = refresh_every_commune(
        current_app.extensions["job_engine"],
        today=day,
        processes=processes or current_app.config["OUTREACH_REFRESH_PROCESSES"],
    )
    click.echo(f"Đã tính lại điểm ưu tiên của {format_number(total)} hộ cho ngày {day:%d/%m/%Y}.")


@click.command("purge-uploads")
@click.option(
    "--days",
    type=click.IntRange(0, 3650),
    default=None,
    help="Xóa tệp tải lên cũ hơn số ngày này (mặc định OUTREACH_UPLOAD_RETENTION_DAYS)",
)
@with_appcontext
def purge_uploads_command(days):
    """Delete uploaded lists and their error lists past the retention period (each audited)."""
    from outreach.jobs import purge_expired_uploads

    days = current_app.config["OUTREACH_UPLOAD_RETENTION_DAYS"] if days is None else days
    deleted = purge_expired_uploads(current_app.extensions["job_engine"], days=days)
    click.echo(f"Đã xóa tệp của {len(deleted)} lô nhập tải lên hơn {days} ngày trước.")


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--kind",
    type=click.Choice(["process", "thread"]),
    default="process",
    show_default=True,
    help="Tiến trình (mỗi việc một lõi CPU) hay luồng (ít bộ nhớ hơn)",
)
@click.option("--no-schedule", is_flag=True, help="Không chạy việc định kỳ ở worker này")
@with_appcontext
def worker_command(workers, kind, no_schedule):
    """Run queued jobs (checks, imports) and the scheduled ones, until Ctrl+C or SIGTERM."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    jobs = current_app.extensions["jobs"]
    consumer = jobs.huey.create_consumer(
        workers=workers,
        worker_type=kind,
        periodic=not no_schedule,
        max_delay=1.0,  # an idle worker looks at a SQLite queue every second at most
        graceful_signal="TERM",  # SIGTERM (make run, systemd) lets the running jobs finish
    )
    click.echo(f"Worker: {workers} {kind}, hàng đợi {jobs.huey.name}.")
    consumer.run()


@click.command("summary")
@click.option(
    "--period", "period_key", required=True, help="Kỳ bản tin: 2026-11-15 hoặc 2026-11-30"
)
@click.option("--publish", is_flag=True, help="Công bố (đóng băng số liệu và PDF)")
@click.option("--reason", default="", help="Lý do đính chính, khi kỳ đã có bản công bố")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), help="Ghi PDF ra tệp")
@click.option(
    "--user", "username", default="", help="Tên đăng nhập của người công bố (ghi nhật ký)"
)
@click.option(
    "--early", is_flag=True, help="Xác nhận công bố khi kỳ chưa kết thúc (so sánh cùng số ngày)"
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="In số liệu của kỳ dạng JSON như bản tin sẽ hiển thị; không lưu, không công bố",
)
@click.option(
    "--province",
    "province_code",
    default="",
    help="Mã tỉnh của bản tin (cần khi cơ sở dữ liệu có nhiều tỉnh)",
)
@click.option(
    "--national",
    is_flag=True,
    help="Số liệu cả nước (cộng các tỉnh theo chiến dịch đang chạy): JSON, hoặc PDF với --out; "
    "không lưu gì",
)
@with_appcontext
def summary_command(
    period_key, publish, reason, out, username, early, as_json, national, province_code
):
    """Draft (and with --publish, publish) a period's media summary; write its PDF. With --json,
    print the figures the bulletin would show and change nothing; with --national, the country's."""
    from outreach.summaries.document import render_document_pdf

    try:
        period = period_from_key(period_key)
    except ValueError as exc:
        raise click.ClickException(f"Kỳ không hợp lệ: {period_key} (ví dụ 2026-11-15).") from exc
    if national:
        from outreach.campaigns.service import active_campaigns
        from outreach.summaries.national import national_figures, national_machine_figures

        with _session() as session:
            figures = national_figures(
                session, campaigns=active_campaigns(session), period=period, cutoff=utcnow()
            )
        if out:
            from outreach.summaries.document import render_national_pdf

            pdf = render_national_pdf(figures)
            with open(out, "wb") as handle:
                handle.write(pdf)
            click.echo(f"Đã ghi {out} ({format_number(len(pdf))} byte).")
            return
        click.echo(json.dumps(national_machine_figures(figures), ensure_ascii=False, indent=2))
        return
    with _session() as session:
        user = (
            session.exec(select(User).where(User.username == username)).first()
            if username
            else None
        )
        if username and (user is None or user.role != Role.ADMIN):
            raise click.ClickException(f"Không có quản trị viên {username}.")
        campaign = _active_campaign(session, province_code)
        if as_json:
            figures = compute_figures(session, campaign=campaign, period=period, cutoff=utcnow())
            click.echo(json.dumps(machine_figures(figures), ensure_ascii=False, indent=2))
            return
        summary = draft_summary(
            session, campaign=campaign, period=period, user_id=user.id if user else None
        )
        if publish:
            try:
                summary = publish_summary(
                    session,
                    summary_id=summary.id,
                    user_id=user.id if user else None,
                    username=username or "cli",
                    reason=reason,
                    ip="cli",
                    early=early,
                )
            except SummaryError as exc:
                raise click.ClickException(str(exc)) from exc
            pdf = summary.pdf  # the frozen bytes, rendered and hashed by the service
        else:
            pdf = render_document_pdf(figures_of(summary)) if out else b""
        session.commit()  # the command is the unit of work (docs/architecture.md)
        totals = figures_of(summary)["totals"]["total"]
        state = "đã công bố" if publish else "bản nháp"
        click.echo(
            f"Bản tin kỳ {period.key}, phiên bản {summary.version} ({state}): "
            f"{format_number(totals['new'])} người tham gia mới, "
            f"{format_number(totals['renewals'])} người đóng tiếp lũy kế."
        )
        if publish:
            click.echo(f"SHA-256 của PDF: {summary.content_hash}")
            deliver_bulletin(session, summary.id)
    if out:
        with open(out, "wb") as handle:
            handle.write(pdf)
        click.echo(f"Đã ghi {out} ({format_number(len(pdf))} byte).")


def _active_campaign(session: Session, province_code: str) -> Campaign:
    """The active campaign of the province given, or of the only province with one."""
    stmt = select(Campaign).where(Campaign.is_active).order_by(Campaign.ends_on.desc())
    if province_code:
        province = session.exec(
            select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE, GeoUnit.code == province_code)
        ).first()
        if province is None:
            raise click.ClickException(f"Không có tỉnh mã {province_code}.")
        stmt = stmt.where(Campaign.province_id == province.id)
    campaigns = session.exec(stmt).all()
    if not campaigns:
        raise click.ClickException("Chưa có chiến dịch nào đang chạy.")
    if len({c.province_id for c in campaigns}) > 1:
        raise click.ClickException(
            "Nhiều tỉnh có chiến dịch đang chạy: chọn một tỉnh bằng --province MÃ "
            "(hoặc --national cho số liệu cả nước)."
        )
    return campaigns[0]


def _import_province(session: Session, province_code: str) -> GeoUnit:
    """The province a list goes into: the one given by --province, or the only one loaded."""
    provinces = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE).order_by(GeoUnit.code)
    ).all()
    if not provinces:
        raise click.ClickException("Chưa có tỉnh nào trong cơ sở dữ liệu.")
    listed = ", ".join(f"{p.code} ({p.name})" for p in provinces)
    if province_code:
        chosen = [p for p in provinces if p.code == province_code]
        if not chosen:
            raise click.ClickException(
                f"Không có tỉnh mã {province_code}. Các tỉnh đã nạp: {listed}."
            )
        return chosen[0]
    if len(provinces) > 1:
        raise click.ClickException(
            f"Đã nạp nhiều tỉnh: chọn tỉnh nhận danh sách bằng --province MÃ ({listed})."
        )
    return provinces[0]


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", required=True, type=click.Choice([k.value for k in ImportKind]))
@click.option("--office", default="", help="Đơn vị gửi danh sách (để dùng lại cách chọn cột)")
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không ghi gì")
@click.option("--skip-rejected", is_flag=True, help="Nhập các dòng hợp lệ, bỏ qua dòng lỗi")
@click.option(
    "--create-villages", is_flag=True, help="Tạo các thôn, tổ dân phố mới mà danh sách nêu"
)
@click.option(
    "--province",
    "province_code",
    default="",
    help="Mã tỉnh nhận danh sách (bắt buộc khi đã nạp nhiều tỉnh)",
)
@with_appcontext
def import_command(path, kind, office, dry_run, skip_rejected, create_villages, province_code):
    """Check a BHXH list and (unless --dry-run) import it in one transaction."""
    from pathlib import Path

    from outreach.imports import batches

    engine = current_app.extensions["job_engine"]
    board = current_app.extensions["jobs"].board  # its progress, for the pages to follow
    with _session() as session:
        province = _import_province(session, province_code)
        try:
            batch = batches.store_upload(
                session,
                data=Path(path).read_bytes(),
                filename=Path(path).name,
                kind=kind,
                office=office,
                user_id=None,
                username="cli",
                province_id=province.id,
                ip="cli",
            )
            batches.begin_job(session, board=board, batch=batch, write=False)
            outcome = batches.check_batch(engine, board, batch.id)
        except (batches.BatchError, ImportFileError) as exc:
            raise click.ClickException(str(exc)) from exc
    if outcome.report is None:
        raise click.ClickException(
            "Chưa nhận ra cột: " + ", ".join(outcome.missing) + ". Hãy chọn cột trên trang Nhập "
            "danh sách (lựa chọn được nhớ cho đơn vị này), rồi chạy lại với --office."
        )
    report = outcome.report
    n = format_number
    click.echo(
        f"Đã kiểm tra {n(report.read)} dòng: {n(report.inserted)} người mới, "
        f"{n(report.updated)} cập nhật, {n(report.unchanged)} không đổi, {n(report.rejected)} lỗi."
    )
    for error in report.errors[:20]:
        click.echo(f"  Dòng {error.row_number}, cột {error.column_header}: {error.message}")
    if dry_run:
        click.echo("Chạy thử (--dry-run): không ghi gì.")
        return
    if report.new_villages:
        names = ", ".join(f"{v} ({c})" for c, v in report.new_village_names[:20])
        click.echo(f"Thôn, tổ dân phố mới ({n(report.new_villages)}): {names}")
    if report.rejected and not skip_rejected:
        raise click.ClickException(
            "Có dòng lỗi; không ghi gì. Sửa tệp rồi chạy lại, hoặc thêm --skip-rejected."
        )
    if report.new_villages and not create_villages:
        raise click.ClickException(
            "Danh sách có thôn, tổ dân phố chưa có; không ghi gì. Kiểm tra tên rồi chạy lại "
            "với --create-villages."
        )
    with _session() as session:
        batch = session.get(ImportBatch, batch.id)
        batch.skip_rejected = skip_rejected
        batch.create_villages = create_villages
        batches.begin_job(session, board=board, batch=batch, write=True)
    try:
        batches.run_import(engine, board, batch.id)
    except (batches.BatchError, ImportFileError) as exc:
        raise click.ClickException(str(exc)) from exc
    with _session() as session:
        batch = session.get(ImportBatch, batch.id)
        click.echo(f"Đã nhập lô {batch.id}: {batch.message}.")


@click.command("import-outbox")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--user", "username", default="", help="Tên đăng nhập của quản trị viên nhập tệp (ghi nhật ký)"
)
@with_appcontext
def import_outbox_command(path, username):
    """Store the visits of a phone's exported outbox ("Xuất dữ liệu chưa gửi").

    Only visits signed for their canvasser by this server are stored; the import, refused or not,
    is audited (who ran it, the file's SHA-256, the counts).
    """
    import getpass
    from pathlib import Path

    from outreach.visits.outbox_file import OutboxFileError, import_outbox

    with _session() as session:
        user = (
            session.exec(select(User).where(User.username == username)).first()
            if username
            else None
        )
        if username and (user is None or user.role != Role.ADMIN):
            raise click.ClickException(f"Không có quản trị viên {username}.")
        try:
            outcome = import_outbox(
                session,
                data=Path(path).read_bytes(),
                today=today_local(),
                secret=current_app.secret_key,
                run_by=user,
                run_as=getpass.getuser(),
            )
        except OutboxFileError as exc:
            session.commit()  # the refusal's audit entry is kept, as a failed login's is
            raise click.ClickException(str(exc)) from exc
        session.commit()  # the import's audit entry (each visit was committed as it was stored)
    c = outcome.counts
    click.echo(
        f"Đã lưu {c['stored']} lượt thăm mới; {c['duplicates']} đã có từ trước; "
        f"{c['rejected']} bị từ chối."
    )
    for problem in outcome.problems[:50]:
        click.echo(f"  {problem}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(path):
    """Back up the whole database to a file (safe while the app serves)."""
    from pathlib import Path

    from outreach.operations.backup import BackupError, backup_database

    try:
        info = backup_database(current_app.config["DATABASE_URL"], target=Path(path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    kind = "SQLite" if info.backend == "sqlite" else "PostgreSQL (pg_dump -Fc)"
    click.echo(
        f"Đã sao lưu vào {path}: {format_number(info.size)} byte, {kind}, "
        f"cấu trúc phiên bản {info.revision}."
    )


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Không hỏi lại trước khi thay toàn bộ dữ liệu")
@with_appcontext
def restore_command(path, yes):
    """Replace the whole database with a backup (stop the app servers first)."""
    from pathlib import Path

    from outreach.operations.backup import BackupError, inspect_backup, restore_database

    url = current_app.config["DATABASE_URL"]
    current_app.extensions["job_engine"].dispose()
    current_app.extensions["engine"].dispose()  # this command's own connections must not linger
    try:
        info = inspect_backup(url, source=Path(path))
        click.echo(
            f"Bản sao lưu {path} hợp lệ: {format_number(info.size)} byte, "
            f"cấu trúc phiên bản {info.revision}."
        )
        if not yes and not click.confirm(
            "Toàn bộ dữ liệu hiện có sẽ bị thay bằng bản sao lưu này. Tiếp tục?", default=False
        ):
            raise click.ClickException("Đã hủy; chưa có gì thay đổi.")
        info = restore_database(url, source=Path(path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Đã phục hồi cơ sở dữ liệu từ {path}.")
    if info.upgraded:
        click.echo("Bản sao lưu cũ hơn phần mềm: đã cập nhật cấu trúc lên phiên bản mới nhất.")


def print_logins(logins) -> None:
    """Print the demo accounts and their shared password."""
    if not logins:
        return
    click.echo(f"\nTài khoản mẫu (mật khẩu chung: {DEMO_PASSWORD}):")
    for login in logins:
        click.echo(f"  {login.username:<18} {login.role:<10} {login.description}")


def register_commands(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(db_group)
    app.cli.add_command(geography_group)
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(demo_logins_command)
    app.cli.add_command(import_outbox_command)
    app.cli.add_command(refresh_priorities_command)
    app.cli.add_command(summary_command)
    app.cli.add_command(bulletins_group)
    app.cli.add_command(digest_group)
    app.cli.add_command(milestones_group)
    app.cli.add_command(import_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(purge_uploads_command)


def _create_app():
    from flask.cli import NoAppException

    from outreach import create_app
    from outreach.config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as error:  # the operator reads what to set, not a traceback
        raise NoAppException(str(error)) from None


class _OutreachGroup(FlaskGroup):
    """Flask's command group, except that a command asked for on a wrongly configured machine
    stops with the configuration's message (Flask would go on to say "No such command")."""

    def get_command(self, ctx, name):
        """Load the app first, so that its refusal is the error the operator reads."""
        from flask.cli import ScriptInfo

        ctx.ensure_object(ScriptInfo).load_app()
        return super().get_command(ctx, name)


@click.group(cls=_OutreachGroup, create_app=_create_app, add_default_commands=False)
def main():
    """outreach: vận động tham gia BHXH tự nguyện."""


if __name__ == "__main__":  # `python -m outreach.cli`, as the tests start a worker
    main()

"""Admins import BHXH lists: upload, see what would change and what is wrong, map, then import."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from outreach.db import committing, get_session
from outreach.imports import batches
from outreach.models import ImportBatch
from outreach.models.codes import RUNNING_STATUSES, BatchStatus
from outreach.web.guards import audit, current_scope, render_page_or_fragment, roles_required

bp = Blueprint("imports", __name__, url_prefix="/imports")
log = logging.getLogger(__name__)


def _jobs():
    return current_app.extensions["jobs"]


def _start(job, batch: ImportBatch) -> None:
    """Queue a job for a worker (`outreach worker`): it survives the admin closing the browser,
    and any server's pages follow it."""
    batches.begin_job(get_session(), board=_jobs().board, batch=batch, write=job == "import")
    task = _jobs().run_import if job == "import" else _jobs().check_import
    try:
        task(batch.id)
    except Exception:  # the queue cannot be reached: say so on the batch, never leave it waiting
        log.exception("could not queue import batch %s", batch.id)
        batch.status = BatchStatus.FAILED
        batch.message = str.__str__(batches.NOT_QUEUED)
        get_session().commit()


def _fail_interrupted() -> None:
    batches.fail_interrupted(
        get_session(),
        board=_jobs().board,
        stale_after=current_app.config["OUTREACH_JOB_STALE_SECONDS"],
    )


def _batch(batch_id: int) -> ImportBatch:
    batch = get_session().get(ImportBatch, batch_id)
    if batch is None or batch.province_id != current_scope().province_id:
        abort(404)
    return batch


def _refused(batch: ImportBatch, message: str):
    """Back to the batch's page with the reason a step cannot be taken (nothing changed)."""
    flash(message, "error")
    return redirect(url_for(".show", batch_id=batch.id)), 303


@bp.get("")
@roles_required("admin")
def index():
    """The upload form and the latest batches."""
    session = get_session()
    _fail_interrupted()
    recent = session.exec(
        select(ImportBatch)
        .where(ImportBatch.province_id == current_scope().province_id)
        .order_by(ImportBatch.id.desc())
        .limit(20)
    ).all()
    return render_template("imports/index.html", recent=recent, kinds=batches.KIND_LABELS)


@bp.post("")
@roles_required("admin")
def upload():
    """Store the file, then check it in the background and show its page."""
    upload = request.files.get("file")
    try:
        with committing(get_session()):
            batch = batches.store_upload(
                get_session(),
                data=upload.read() if upload else b"",
                filename=(upload.filename or "") if upload else "",
                kind=request.form.get("kind", ""),
                office=request.form.get("office", ""),
                user_id=current_user.id,
                username=current_user.username,
                province_id=current_scope().province_id,
                ip=request.remote_addr or "",
            )
    except batches.BatchError as error:
        flash(str(error), "error")
        return redirect(url_for(".index")), 303
    _start("check", batch)
    return redirect(url_for(".show", batch_id=batch.id))


@bp.get("/<int:batch_id>")
@roles_required("admin")
def show(batch_id: int):
    """The batch: progress while a job runs (htmx polls the status part), then its results."""
    _fail_interrupted()
    batch = _batch(batch_id)
    progress = batches.read_progress(_jobs().board, batch)
    errors = batches.saved_errors(get_session(), batch)
    context = {
        "batch": batch,
        "preview": batches.saved_preview(get_session(), batch),
        "progress": progress,
        "running": batch.status in RUNNING_STATUSES,
        "errors": errors[: batches.ERRORS_SHOWN],
        "error_count": len(errors),
        "kinds": batches.KIND_LABELS,
        "choices": batches.field_choices(batch.kind) if batch.status == BatchStatus.MAPPING else [],
        "headers": _headers(batch) if batch.status == BatchStatus.MAPPING else [],
    }
    return render_page_or_fragment("imports/show.html", "imports/_status.html", **context)


def _headers(batch: ImportBatch) -> list[str]:
    """The file's headers, for the mapping form (any of them may hold the missing field), as
    the check kept them: the file is not read again."""
    return batches.mapping_headers(get_session(), batch)


@bp.post("/<int:batch_id>/mapping")
@roles_required("admin")
def mapping(batch_id: int):
    """Remember which column holds which field, for this office, then check the file again."""
    batch = _batch(batch_id)
    if batch.status != BatchStatus.MAPPING:
        return _refused(batch, _("Tệp này không còn chờ chọn cột (đã kiểm tra hoặc đã nhập)."))
    choices = {
        request.form.get(f"header_{i}", ""): request.form.get(f"field_{i}", "")
        for i in range(50)
        if request.form.get(f"field_{i}")
    }
    allowed = {name for name, _label in batches.field_choices(batch.kind)}
    if not choices or not set(choices.values()) <= allowed:
        return _refused(batch, _("Hãy chọn cột cho từng thông tin còn thiếu."))
    batches.save_mapping(get_session(), office=batch.office, kind=batch.kind, choices=choices)
    audit("import.check", object_type="import_batch", object_id=batch.id)
    _start("check", batch)
    return redirect(url_for(".show", batch_id=batch.id))


@bp.post("/<int:batch_id>/import")
@roles_required("admin")
def commit(batch_id: int):
    """Import the checked file: every valid row in one transaction (rejected rows if chosen)."""
    batch = _batch(batch_id)
    if batch.status != BatchStatus.PREVIEWED:
        return _refused(batch, _("Tệp này chưa được kiểm tra xong hoặc đã được nhập."))
    if batch.files_deleted_at is not None:
        return _refused(batch, str(batches.FILE_DELETED))
    skip = request.form.get("skip_rejected") == "1"
    if batch.rejected and not skip:
        return _refused(
            batch, _("Có dòng lỗi: hãy sửa tệp rồi tải lên lại, hoặc chọn bỏ qua các dòng lỗi.")
        )
    villages = request.form.get("create_villages") == "1"
    new_villages = batches.saved_preview(get_session(), batch).new_village_count
    if new_villages and not villages:
        return _refused(
            batch,
            _(
                "Tệp sẽ tạo %(count)s thôn, tổ dân phố mới: hãy xem lại tên của chúng và đánh "
                "dấu xác nhận trước khi nhập.",
                count=new_villages,
            ),
        )
    batch.skip_rejected = skip
    batch.create_villages = villages
    audit("import.commit", object_type="import_batch", object_id=batch.id, detail={"skip": skip})
    _start("import", batch)
    return redirect(url_for(".show", batch_id=batch.id))


@bp.post("/<int:batch_id>/retry")
@roles_required("admin")
def retry(batch_id: int):
    """Check a failed batch's file again from the start."""
    batch = _batch(batch_id)
    if batch.status != BatchStatus.FAILED:
        return _refused(batch, _("Chỉ kiểm tra lại được một tệp đã thất bại."))
    if batch.files_deleted_at is not None:
        return _refused(batch, str(batches.FILE_DELETED))
    audit("import.check", object_type="import_batch", object_id=batch.id)
    _start("check", batch)
    return redirect(url_for(".show", batch_id=batch.id))


@bp.get("/<int:batch_id>/errors.xlsx")
@roles_required("admin")
def errors(batch_id: int):
    """Every rejected row with its column and reason, as a spreadsheet."""
    batch = _batch(batch_id)
    session = get_session()
    body = batches.errors_workbook(
        batch, batches.saved_errors(session, batch), batches.saved_preview(session, batch)
    )
    audit("import.errors_download", object_type="import_batch", object_id=batch.id)
    response = Response(
        body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="loi-nhap-{batch.id}.xlsx"'
    return response

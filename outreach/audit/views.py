"""Nhật ký truy cập: admins browse and filter the audit log. Read-only: GET routes only; its
export is written by a worker (outreach/exports/)."""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from outreach.core import audit as service
from outreach.core.audit import AuditFilter
from outreach.core.formatting import parse_day
from outreach.db import get_session
from outreach.models.codes import Role
from outreach.web.guards import (
    bounded_day,
    current_scope,
    render_page_or_fragment,
    roles_required,
)

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

# Every action the app writes, as the admins read it. Unknown ones are shown as stored.
ACTION_LABELS = {
    "login": _l("Đăng nhập"),
    "login_failed": _l("Đăng nhập sai"),
    "login_locked": _l("Đăng nhập khi tạm khóa"),
    "login_inactive": _l("Đăng nhập tài khoản khóa"),
    "logout": _l("Đăng xuất"),
    "password_changed": _l("Đổi mật khẩu"),
    "password_reset": _l("Cấp lại mật khẩu"),
    "user_created": _l("Tạo người dùng"),
    "user_updated": _l("Sửa người dùng"),
    "user_deactivated": _l("Khóa người dùng"),
    "campaign_created": _l("Tạo chiến dịch"),
    "campaign_updated": _l("Sửa chiến dịch"),
    "targets_updated": _l("Sửa chỉ tiêu chiến dịch"),
    "set_target": _l("Đặt chỉ tiêu"),
    "import_targets": _l("Nhập chỉ tiêu từ tệp"),
    "village_renamed": _l("Đổi tên thôn"),
    "village_moved": _l("Chuyển thôn"),
    "villages_merged": _l("Gộp thôn"),
    "import.upload": _l("Tải lên danh sách"),
    "import.check": _l("Kiểm tra lại danh sách"),
    "import.commit": _l("Nhập danh sách"),
    "import.errors_download": _l("Tải bảng lỗi nhập"),
    "assign": _l("Giao việc"),
    "review": _l("Rà soát lượt thăm"),
    "summary.publish": _l("Công bố bản tin"),
    "summary.download": _l("Tải bản tin"),
    "export_rankings": _l("Tải bảng xếp hạng"),
    "view_household": _l("Xem hồ sơ hộ"),
    "view_person_calculator": _l("Tính mức đóng cho người"),
    "view_visit_form": _l("Mở phiếu ghi lượt thăm"),
    "view_list": _l("Xem danh sách hộ"),
    "login_lock_storm": _l("Nhiều lần đăng nhập sai vào một tài khoản"),
    "user_unlocked": _l("Gỡ tạm khóa đăng nhập"),
    "password_failed": _l("Nhập sai mật khẩu hiện tại"),
    "password_locked": _l("Tạm khóa đổi mật khẩu"),
    "outbox.import": _l("Nhập tệp lượt thăm chưa gửi"),
    "outbox.import_refused": _l("Từ chối tệp lượt thăm chưa gửi"),
    "audit.export": _l("Xuất nhật ký truy cập"),
    "correction.report": _l("Ghi sửa đổi tại hộ"),
    "correction.approve": _l("Duyệt sửa đổi tại hộ"),
    "correction.reject": _l("Không duyệt sửa đổi tại hộ"),
    "correction.lift": _l("Gỡ yêu cầu không liên hệ"),
    "correction.export": _l("Tải bảng sửa đổi tại hộ"),
}
# The kinds of object the entries point at (a fixed list: a DISTINCT over the log would scan it).
OBJECT_LABELS = {
    "household": _l("Hộ"),
    "households": _l("Nhóm hộ (số hộ)"),
    "person": _l("Người"),
    "user": _l("Người dùng"),
    "canvasser": _l("Cán bộ vận động"),
    "village": _l("Thôn"),
    "geo_unit": _l("Đơn vị hành chính"),
    "campaign": _l("Chiến dịch"),
    "import_batch": _l("Lần nhập danh sách"),
    "summary": _l("Bản tin"),
    "visit": _l("Lượt thăm"),
    "audit_log": _l("Nhật ký truy cập"),
    "outbox_file": _l("Tệp lượt thăm chưa gửi"),
    "correction": _l("Sửa đổi tại hộ"),
    "corrections": _l("Bảng sửa đổi tại hộ"),
}


@bp.before_app_request
def _remember_address():
    # Services that audit without a request at hand (assignments, publishing) record this address.
    service.request_ip.set(request.remote_addr or "")


@bp.teardown_app_request
def _forget_address(_error=None):
    service.request_ip.set("")


@bp.before_request
@roles_required(Role.ADMIN)
def _admins_only():
    """The log is for the province's admins; others get the Vietnamese 403 page."""
    return None


def audit_filters() -> tuple[AuditFilter, str | None]:
    """The filters from the query string, and a Vietnamese error if a date cannot be read."""
    args = request.args
    days = {}
    for name in ("from", "to"):
        text = args.get(name, "").strip()
        try:
            days[name] = bounded_day(parse_day(text)) if text else None
        except ValueError:
            return AuditFilter(), _("Ngày phải có dạng dd/mm/yyyy, ví dụ 15/11/2026.")
    if days["from"] and days["to"] and days["from"] > days["to"]:
        return AuditFilter(), _("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")
    action = args.get("action", "")
    object_type = args.get("object_type", "")
    return (
        AuditFilter(
            username=args.get("user", "")[:80],
            action=action if action in ACTION_LABELS else "",
            object_type=object_type if object_type in OBJECT_LABELS else "",
            object_id=args.get("object_id", "")[:40],
            ip=args.get("ip", "")[:64],
            date_from=days["from"],
            date_to=days["to"],
        ),
        None,
    )


def _int(value: str | None) -> int | None:
    # ASCII digits only: "²" is a digit to isdigit() and not to int().
    ok = value and value.isascii() and value.isdigit() and len(value) < 19
    return int(value) if ok else None


@bp.get("")
def index():
    """The log, newest first, filtered; the table alone when htmx asks for it."""
    session = get_session()
    filters, error = audit_filters()
    result = (
        service.AuditPage()
        if error
        else service.search_events(
            session,
            filters=filters,
            province_id=current_scope().province_id,
            before=_int(request.args.get("before")),
        )
    )
    body = render_page_or_fragment(
        "audit/index.html",
        "audit/_table.html",
        result=result,
        filters=filters,
        raw=request.args,
        error=error,
        labels=ACTION_LABELS,
        object_labels=OBJECT_LABELS,
        vietnam_time=service.vietnam_time,
        first_page=_int(request.args.get("before")) is None,
    )
    return body, (400 if error else 200)

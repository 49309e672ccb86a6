"""Logging in and out, one's own account (password, language) and the admins' user management."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from outreach.accounts import followed, logins
from outreach.accounts import service as accounts
from outreach.accounts.logins import LoginError, authenticate
from outreach.accounts.passwords import MIN_PASSWORD_LENGTH
from outreach.accounts.service import AccountError, change_password
from outreach.core.audit import vietnam_time
from outreach.db import committing, get_session, write_or_defer
from outreach.models import GeoUnit, User
from outreach.models.codes import Role
from outreach.web.admin import admin_bp, admin_units, no_store
from outreach.web.extensions import begin_session, end_session, keep_session, limiter
from outreach.web.guards import current_scope, parse_id, render_page_or_fragment

auth_bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[DataRequired(_l("Hãy nhập tên đăng nhập.")), Length(max=80)],
    )
    password = PasswordField(
        _l("Mật khẩu"), validators=[DataRequired(_l("Hãy nhập mật khẩu.")), Length(max=200)]
    )
    # Off by default: phones are shared at post offices.
    remember = BooleanField(_l("Ghi nhớ đăng nhập trên máy này"), default=False)


def _safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page: never an open redirect.

    Refused whole, not repaired: any whitespace, control or invisible (format) character, since
    browsers drop tabs and newlines from a URL ("/\t/evil.example" is "//evil.example" to them)
    and a newline in the Location header is a 500; a backslash (read as "/"); anything but a
    single "/" at the start ("//host" is another site); a scheme or a host.
    """
    home = url_for("home.index")
    if not target or len(target) > 2000:
        return home
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in target):
        return home
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


def _until(moment: datetime) -> str:
    """A lock's end as the person reads it: the time, and the day too when it is not within hours."""
    hours = (moment - datetime.now(moment.tzinfo)).total_seconds() / 3600
    return format_datetime(moment, "HH:mm" if hours < 12 else "HH:mm dd/MM/yyyy")


def _retry_after(moment: datetime) -> dict[str, str]:
    seconds = int((moment - datetime.now(moment.tzinfo)).total_seconds()) + 1
    return {"Retry-After": str(max(seconds, 1))}


def _login_rate() -> str:
    return current_app.config["LOGIN_RATE"]


@auth_bp.route("/login", methods=["GET", "POST"])
# Per client address; only answers other than a successful login's redirect count, so an office
# whose canvassers share one address can still all log in at 7 a.m.
@limiter.limit(
    _login_rate, methods=["POST"], deduct_when=lambda response: response.status_code != 302
)
def login():
    """Show the login form and check it."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # The audit entry stays whatever the result, kept for later while an import holds the
        # database (`write_or_defer`): logging in never waits for an import.
        result = write_or_defer(
            get_session(),
            lambda session: authenticate(
                session,
                username=form.username.data,
                password=form.password.data,
                ip=request.remote_addr or "",
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
            ),
        )
        if result.user is not None:
            begin_session(result.user, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
        if result.error == LoginError.LOCKED:
            form.form_errors.append(
                _(
                    "Đăng nhập sai quá nhiều lần. Hãy thử lại sau %(time)s.",
                    time=_until(result.locked_until),
                )
            )
            return (
                render_template("auth/login.html", form=form),
                429,
                _retry_after(result.locked_until),
            )
        if result.error == LoginError.INACTIVE:
            form.form_errors.append(_("Tài khoản này đã bị khóa. Hãy liên hệ quản trị viên."))
        else:
            form.form_errors.append(_("Tên đăng nhập hoặc mật khẩu không đúng."))
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@auth_bp.post("/logout")
@login_required
def logout():
    """End the session (a POST, so it carries the CSRF token), and every other one of the user.

    A copied cookie or remember-me token must not outlive the logout (SECURITY.md, "Sessions").
    """
    user = current_user._get_current_object()
    write_or_defer(
        get_session(),
        lambda session: accounts.sign_out(session, user=user, ip=request.remote_addr or ""),
    )
    end_session()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


account_bp = Blueprint("account", __name__, url_prefix="/account")

# What a user with a temporary password may still reach: this page, logging out, and the files
# every page loads (styles, scripts, the service worker and the app manifest).
_ALLOWED_WHILE_FORCED = {"account.password", "auth.logout", "auth.login", "static"}


@account_bp.before_app_request
def _force_password_change():
    """After an admin reset (or created) the account, every page leads to the password form."""
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    endpoint = request.endpoint or ""
    # The JSON API answers for itself, in JSON (visits/api.py: 403 password_change_required).
    if endpoint in _ALLOWED_WHILE_FORCED or endpoint.startswith(("pwa.", "api.")):
        return None
    target = url_for("account.password")
    if request.headers.get("HX-Request") == "true":
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


@account_bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Show the form, and change the password when the current one is right.

    Wrong current passwords are counted and audited like failed logins, and the form locks after
    as many (a stolen session must not guess the password 40 times a second). The change ends
    every other session of the user; this one stays.
    """
    error, status, headers = None, 200, {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        current = request.form.get("current_password", "")
        user = current_user._get_current_object()
        session = get_session()
        if new != request.form.get("confirm_password", ""):
            error, status = _("Hai lần nhập mật khẩu mới không khớp."), 400
        else:
            with committing(session):  # a failure's audit entry stays whatever the result
                check = logins.check_current_password(
                    session,
                    user=user,
                    password=current,
                    ip=request.remote_addr or "",
                    max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                    lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
                )
            if check.locked_until is not None:
                error = _(
                    "Nhập sai mật khẩu hiện tại quá nhiều lần. Hãy thử lại sau %(time)s.",
                    time=_until(check.locked_until),
                )
                status, headers = 429, _retry_after(check.locked_until)
            elif not check.ok:
                error, status = _("Mật khẩu hiện tại không đúng."), 400
            else:
                try:
                    with committing(session):
                        change_password(session, user=user, current=current, new=new)
                except AccountError as exc:
                    error, status = str(exc), 400
                else:
                    keep_session(user)
                    flash(_("Đã đổi mật khẩu."), "ok")
                    return redirect(url_for("home.index"))
    return (
        render_template(
            "account/password.html",
            error=error,
            forced=current_user.must_change_password,
            min_length=MIN_PASSWORD_LENGTH,
        ),
        status,
        headers,
    )


prefs_bp = Blueprint("prefs", __name__)


@prefs_bp.post("/language")
def set_language():
    """Switch between Vietnamese and English; stays on the same page."""
    lang = request.form.get("lang", "vi")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    # Only local paths: never an open redirect.
    return redirect(_safe_next(request.form.get("next")))


USERS_PAGE_SIZE = 50


# ---- users ---------------------------------------------------------------------------------


@admin_bp.get("/users")
def users():
    """The province's users, filtered by role, status and a name."""
    role = request.args.get("role", "")
    role = role if role in set(Role) else ""
    status = request.args.get("status", "")
    active = {"active": True, "inactive": False}.get(status)
    query = request.args.get("q", "")[:80]
    page = max(parse_id(request.args.get("page")) or 1, 1)
    rows, total = accounts.list_users(
        get_session(),
        province_id=current_scope().province_id,
        role=role or None,
        query=query,
        active=active,
        limit=USERS_PAGE_SIZE,
        offset=(page - 1) * USERS_PAGE_SIZE,
    )
    return render_page_or_fragment(
        "admin/users.html",
        "admin/_users.html",
        rows=rows,
        total=total,
        page_number=page,
        pages=max((total + USERS_PAGE_SIZE - 1) // USERS_PAGE_SIZE, 1),
        filters={"role": role, "status": status, "q": query},
        roles=list(Role),
    )


def _user_form(template: str, status: int = 200, **context):
    return render_template(template, units=admin_units(), roles=list(Role), **context), status


@admin_bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a user; the answer shows their temporary password once."""
    form = request.form
    if request.method == "GET":
        return _user_form("admin/user_new.html", form={}, error=None)
    session = get_session()
    scope_unit_id = parse_id(form.get("scope_unit_id"))
    try:
        with committing(session):
            if scope_unit_id is None:
                raise AccountError(_("Hãy chọn phạm vi."))
            user, temporary = accounts.register_user(
                session,
                username=form.get("username", ""),
                full_name=form.get("full_name", ""),
                role=form.get("role", ""),
                scope_unit_id=scope_unit_id,
                organization=form.get("organization", ""),
                email=form.get("email", ""),
                gets_bulletins=form.get("gets_bulletins") == "1",
                by_user=current_user,
            )
    except AccountError as exc:
        return _user_form("admin/user_new.html", 400, form=form, error=str(exc))
    return no_store(
        render_template(
            "admin/temporary_password.html", user=user, temporary=temporary, created=True
        )
    )


def _edit_page(user: User, status: int = 200, error: str | None = None):
    """The user's page: the form, password actions, and their failed logins and lock storms."""
    trouble = logins.login_trouble(
        get_session(),
        user=user,
        max_failures=current_app.config["LOGIN_MAX_FAILURES"],
        lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
    )
    return _user_form(
        "admin/user_edit.html",
        status,
        user=user,
        error=error,
        trouble=trouble,
        local_time=vietnam_time,
        followed=followed.followed_units(get_session(), user_id=user.id),
        followable=followed.followable_units(
            get_session(), province_id=current_scope().province_id
        ),
    )


def _managed(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    unit = get_session().get(GeoUnit, user.scope_unit_id)
    if unit is None or (unit.province_id or unit.id) != current_scope().province_id:
        abort(404)
    return user


@admin_bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    """Edit a user's name, organization, role, scope and active flag, or lift their login lock."""
    user = _managed(user_id)
    if request.method == "GET":
        return _edit_page(user)
    session = get_session()
    form = request.form
    if form.get("action") == "unlock":  # the "lift the login lock" button of the same page
        try:
            with committing(session):
                accounts.unlock_logins(session, user_id=user.id, by_user=current_user)
        except AccountError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Đã gỡ tạm khóa đăng nhập của %(name)s.", name=user.username), "ok")
        return redirect(url_for(".edit_user", user_id=user.id), 303)
    scope_unit_id = parse_id(form.get("scope_unit_id"))
    try:
        with committing(session):
            if scope_unit_id is None:
                raise AccountError(_("Hãy chọn phạm vi."))
            accounts.update_user(
                session,
                user_id=user.id,
                role=form.get("role", ""),
                scope_unit_id=scope_unit_id,
                full_name=form.get("full_name", ""),
                organization=form.get("organization", ""),
                is_active=form.get("is_active") == "1",
                email=form.get("email", ""),
                gets_bulletins=form.get("gets_bulletins") == "1",
                by_user=current_user,
            )
    except AccountError as exc:
        return _edit_page(_managed(user_id), 400, str(exc))
    flash(_("Đã lưu thông tin người dùng %(name)s.", name=user.username), "ok")
    return redirect(url_for(".edit_user", user_id=user.id), 303)


@admin_bp.post("/users/<int:user_id>/followed")
def followed_units(user_id: int):
    """Set the units a steering-committee member follows (their scope is then those units)."""
    user = _managed(user_id)
    session = get_session()
    unit_ids = [int(v) for v in request.form.getlist("units") if v.isascii() and v.isdigit()]
    try:
        with committing(session):
            followed.set_followed_units(
                session, user_id=user.id, unit_ids=unit_ids, by_user=current_user
            )
    except AccountError as exc:
        return _edit_page(_managed(user_id), 400, str(exc))
    flash(_("Đã lưu các đơn vị %(name)s theo dõi.", name=user.username), "ok")
    return redirect(url_for(".edit_user", user_id=user.id), 303)


@admin_bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int):
    """Lock a user out."""
    user = _managed(user_id)
    session = get_session()
    try:
        with committing(session):
            accounts.deactivate_user(session, user_id=user.id, by_user=current_user)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Đã khóa tài khoản %(name)s.", name=user.username), "ok")
    return redirect(url_for(".edit_user", user_id=user_id), 303)


@admin_bp.post("/users/<int:user_id>/reset-password")
def reset_password(user_id: int):
    """Set a temporary password and show it once."""
    user = _managed(user_id)
    session = get_session()
    try:
        with committing(session):
            temporary = accounts.reset_password(session, user_id=user.id, by_user=current_user)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".edit_user", user_id=user_id), 303)
    return no_store(
        render_template(
            "admin/temporary_password.html", user=user, temporary=temporary, created=False
        )
    )

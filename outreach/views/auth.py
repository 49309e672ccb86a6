"""Log in and out."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..db import get_session
from ..extensions import limiter
from ..services.accounts import LoginError, authenticate
from .guards import audit

bp = Blueprint("auth", __name__)


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
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


def _login_rate() -> str:
    return current_app.config["LOGIN_RATE"]


@bp.route("/login", methods=["GET", "POST"])
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
        result = authenticate(
            get_session(),
            username=form.username.data,
            password=form.password.data,
            ip=request.remote_addr or "",
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
        )
        if result.user is not None:
            login_user(result.user, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
        if result.error == LoginError.LOCKED:
            form.form_errors.append(
                _(
                    "Đăng nhập sai quá nhiều lần. Hãy thử lại sau %(time)s.",
                    time=format_datetime(result.locked_until, "HH:mm"),
                )
            )
            return render_template("auth/login.html", form=form), 429
        if result.error == LoginError.INACTIVE:
            form.form_errors.append(_("Tài khoản này đã bị khóa. Hãy liên hệ quản trị viên."))
        else:
            form.form_errors.append(_("Tên đăng nhập hoặc mật khẩu không đúng."))
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End the session (a POST, so it carries the CSRF token)."""
    audit("logout")
    logout_user()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))

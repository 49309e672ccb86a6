"""One's own account: changing the password, forced after an admin set a temporary one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..db import get_session
from ..services.accounts import MIN_PASSWORD_LENGTH, AccountError, change_password

bp = Blueprint("account", __name__, url_prefix="/account")

# What a user with a temporary password may still reach: this page, logging out, and the files
# every page loads (styles, scripts, the service worker and the app manifest).
_ALLOWED_WHILE_FORCED = {"account.password", "auth.logout", "auth.login", "static"}


@bp.before_app_request
def _force_password_change():
    """After an admin reset (or created) the account, every page leads to the password form."""
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    endpoint = request.endpoint or ""
    if endpoint in _ALLOWED_WHILE_FORCED or endpoint.startswith("pwa."):
        return None
    target = url_for("account.password")
    if request.headers.get("HX-Request") == "true":
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Show the form, and change the password when the current one is right."""
    error = None
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            error = _("Hai lần nhập mật khẩu mới không khớp.")
        else:
            try:
                change_password(
                    get_session(),
                    user=current_user,
                    current=request.form.get("current_password", ""),
                    new=new,
                )
            except AccountError as exc:
                get_session().rollback()
                error = str(exc)
            else:
                flash(_("Đã đổi mật khẩu."), "ok")
                return redirect(url_for("home.index"))
    return render_template(
        "account/password.html",
        error=error,
        forced=current_user.must_change_password,
        min_length=MIN_PASSWORD_LENGTH,
    ), (400 if error else 200)

"""Flask extensions: login, CSRF, Babel, Jinja filters and the security headers."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from .db import get_session
from .models import User
from .services import formatting
from .services.clock import VIETNAM

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Per client address; limits are set on the routes that need them (the login form), none by
# default. Storage comes from RATELIMIT_STORAGE_URI: memory:// counts per gunicorn worker.
limiter = Limiter(key_func=get_remote_address, default_limits=[])

# No inline script or style anywhere: everything comes from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def select_locale() -> str:
    """Vietnamese unless the user chose English (kept in the session)."""
    lang = session.get("lang")
    return (
        lang
        if lang in current_app.config["LANGUAGES"]
        else current_app.config["BABEL_DEFAULT_LOCALE"]
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.is_active else None


@login_manager.unauthorized_handler
def unauthorized():
    """Send the browser to the login page; an htmx request gets HX-Redirect, not a login form fragment."""
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def _locale_code() -> str:
    return str(get_locale() or "vi")


def isodate(value: str | date | None) -> date | datetime | None:
    """An ISO date or datetime string (as stored in JSON figures) back to a date or datetime.

    "2026-11-15" gives a date; "2026-11-15T09:30:00+00:00" gives an aware datetime in Vietnam time
    (so `|day` and `.strftime("%H:%M")` show the Vietnamese calendar day and clock).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM) if value.tzinfo else value
    if isinstance(value, date):
        return value
    if "T" in value or " " in value.strip():
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(VIETNAM) if parsed.tzinfo else parsed
    return date.fromisoformat(value)


def init_extensions(app: Flask) -> None:
    """Wire the extensions and the template helpers into the app."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)

    app.jinja_env.filters["number"] = lambda v: formatting.format_number(v, _locale_code())
    app.jinja_env.filters["ratio"] = lambda v: formatting.format_ratio(v, _locale_code())
    app.jinja_env.filters["day"] = lambda v: formatting.format_day(v, _locale_code())
    app.jinja_env.filters["daymonth"] = lambda v: formatting.format_daymonth(v, _locale_code())
    app.jinja_env.filters["isodate"] = isodate
    # Always Vietnamese, whatever the reader's language: the official summary text (bản tin).
    app.jinja_env.filters["vi_number"] = lambda v: formatting.format_number(v, "vi")
    app.jinja_env.filters["vi_ratio"] = lambda v: formatting.format_ratio(v, "vi")
    app.jinja_env.filters["vi_day"] = lambda v: formatting.format_day(v, "vi")
    app.jinja_env.globals["locale_code"] = _locale_code
    app.jinja_env.globals["mask_identifier"] = formatting.mask_identifier
    app.jinja_env.globals["format_phone"] = formatting.format_phone

    @app.before_request
    def _refresh_session():
        # A logged-in session expires after PERMANENT_SESSION_LIFETIME without activity.
        session.permanent = True
        g.setdefault("page_title", _("Vận động BHXH tự nguyện"))

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.add("Vary", "HX-Request")
        return response

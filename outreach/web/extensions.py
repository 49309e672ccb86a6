"""Flask extensions: login, CSRF, Babel, Jinja filters and the security headers."""

from __future__ import annotations

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import Babel, get_locale, get_translations
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import bindparam
from sqlmodel import select

from outreach.core import formatting
from outreach.db import get_session
from outreach.models import GeoUnit, User


class _LoginManager(LoginManager):
    """Flask-Login's, with its session protection for logged-in sessions only."""

    def _session_protection_failed(self) -> bool:
        # An anonymous session holds a CSRF token at most: there is nothing to protect, and the
        # "strong" check (no login fingerprint in it) would rewrite it on every request. Each
        # answer would then carry the cookie from before, and one arriving after a login (the
        # service worker caching the offline page) would undo it. Pinned: flask-login 0.6.
        if "_user_id" not in session:
            return False
        return super()._session_protection_failed()


login_manager = _LoginManager()
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

# Pages that show a person (a household's members, lists of households, visits, users, the audit
# log) or belong to one logged-in user: no browser or proxy may keep them. A shared phone's next
# user must not find them in the back button's or the disk cache. The service worker's own
# offline copies are unaffected (the Cache API ignores Cache-Control); it keeps them per user,
# see static/js/sw.js. Whole blueprints where every page is personal, so that a new route there
# is covered by default; single endpoints elsewhere. tests/web/test_security_headers.py fails on a
# route classified neither here nor as impersonal there.
PERSONAL_DATA_BLUEPRINTS = frozenset(
    {
        "households",  # a household and its members
        "worklist",  # the canvasser's households; a commune's canvassers
        "visits",  # the visit form, with the household's members
        "dashboard",  # lists of households, persons, canvassers behind each figure
        "leader",  # assignment, review and promises: households, visits, persons
        "audit",  # who did what, from where
        "imports",  # uploaded lists of citizens and their rejected rows
        "calculator",  # a named person's contribution
        "account",  # one's own account
    }
)
PERSONAL_DATA_ENDPOINTS = frozenset(
    {
        "home.index",  # each role's own home (a canvasser's is the worklist)
        "api.sync",  # the result of each of a canvasser's visits
        "admin.users",  # staff: names, phones, scopes
        "admin.new_user",  # …and a temporary password
        "admin.edit_user",
        "admin.reset_password",
        "admin.deactivate_user",
        "pwa.outbox",  # the visits still on the phone, kept for offline use per user
        "pwa.session_info",  # who is logged in, a CSRF token
        "pwa.offline_pages",  # the canvasser's households to download
    }
)
PERSONAL_CACHE_CONTROL = "private, no-store"


def shows_personal_data(endpoint: str | None) -> bool:
    """Whether the answer of this endpoint must carry `Cache-Control: private, no-store`."""
    if not endpoint:
        return False
    return (
        endpoint in PERSONAL_DATA_ENDPOINTS
        or endpoint.partition(".")[0] in PERSONAL_DATA_BLUEPRINTS
    )


def select_locale() -> str:
    """Vietnamese unless the user chose English (kept in the session)."""
    lang = session.get("lang")
    return (
        lang
        if lang in current_app.config["LANGUAGES"]
        else current_app.config["BABEL_DEFAULT_LOCALE"]
    )


# Built once, as every request runs it: making the statement cost as much as running it.
_USER_WITH_UNIT = (
    select(User, GeoUnit)
    .outerjoin(GeoUnit, GeoUnit.id == User.scope_unit_id)
    .where(User.id == bindparam("user_id"))
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The logged-in user, with the scope unit every page resolves next, in one query."""
    if not user_id.isdigit():
        return None
    row = get_session().exec(_USER_WITH_UNIT, params={"user_id": int(user_id)}).first()
    if row is None or not row[0].is_active:
        return None
    # The session holds its rows by weak reference: kept here for the request, the unit is found
    # by `scope_for` (and by pages that show the commune) without asking the database again.
    g.scope_unit = row[1]
    return row[0]


@login_manager.unauthorized_handler
def unauthorized():
    """Send the browser to the login page; an htmx request gets HX-Redirect, not a login form fragment."""
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def _babel_state() -> tuple:
    """(Flask-Babel's request state, locale, its code, its catalogue), looked up once a request.

    Flask-Babel walks `g` and rebuilds the locale's name for every string a template translates
    (~30 us each, 150 on a worklist page). The memo holds while Flask-Babel's locale is the
    one it was made for, so `force_locale` (the Vietnamese summary document) still switches
    the language mid-request.
    """
    state = g.get("_outreach_babel")
    if state is not None and getattr(state[0], "babel_locale", None) is state[1]:
        return state
    translations = get_translations()
    locale = get_locale()
    state = (g.get("_flask_babel"), locale, str(locale or "vi"), translations)
    if locale is not None:
        g._outreach_babel = state
    return state


def _locale_code() -> str:
    return _babel_state()[2]


def _gettext(string: str) -> str:
    return _babel_state()[3].ugettext(string)


@pass_context
def _template_gettext(context, string: str, **variables) -> str:
    """Jinja's new-style `_()`: the translation, autoescaped, always %-formatted.

    The same as the i18n extension's own, without its two extra indirections per string.
    """
    text = _babel_state()[3].ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _babel_state()[3].ungettext(singular, plural, n)


def _pgettext(context: str, string: str) -> str:
    return _babel_state()[3].upgettext(context, string)


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _babel_state()[3].unpgettext(context, singular, plural, n)


def init_extensions(app: Flask) -> None:
    """Wire the extensions and the template helpers into the app."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    # The same translations as Flask-Babel's own template callables, found once per request.
    app.jinja_env.install_gettext_callables(
        gettext=_gettext,
        ngettext=_ngettext,
        newstyle=True,
        pgettext=_pgettext,
        npgettext=_npgettext,
    )
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)
    limiter.init_app(app)

    app.jinja_env.filters["number"] = lambda v: formatting.format_number(v, _locale_code())
    app.jinja_env.filters["ratio"] = lambda v: formatting.format_ratio(v, _locale_code())
    app.jinja_env.filters["day"] = lambda v: formatting.format_day(v, _locale_code())
    app.jinja_env.filters["daymonth"] = lambda v: formatting.format_daymonth(v, _locale_code())
    app.jinja_env.filters["isodate"] = formatting.isodate
    # Always Vietnamese, whatever the reader's language: the official summary text (bản tin).
    app.jinja_env.filters["vi_number"] = lambda v: formatting.format_number(v, "vi")
    app.jinja_env.filters["vi_ratio"] = lambda v: formatting.format_ratio(v, "vi")
    app.jinja_env.filters["vi_day"] = lambda v: formatting.format_day(v, "vi")
    app.jinja_env.globals["locale_code"] = _locale_code
    app.jinja_env.globals["mask_identifier"] = formatting.mask_identifier
    app.jinja_env.globals["format_phone"] = formatting.format_phone

    @app.before_request
    def _page_title():
        g.setdefault("page_title", _("Vận động BHXH tự nguyện"))

    @app.after_request
    def _session_lifetime(response):
        # A logged-in session expires after PERMANENT_SESSION_LIFETIME without a request: it is
        # permanent, so its cookie goes out again with every response. An anonymous one is not
        # (its cookie goes out only when it changes): a request sent just before a login (the
        # service worker caching the offline page, say) would otherwise answer after it with
        # the cookie from before, and undo the login. Set only on a change: setting it marks
        # the session changed. Flask saves the session after these hooks.
        logged_in = session.get("_user_id") is not None
        if session.permanent != logged_in:
            session.permanent = logged_in
        return response

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.add("Vary", "HX-Request")
        if shows_personal_data(request.endpoint):  # error pages of those routes too
            response.headers["Cache-Control"] = PERSONAL_CACHE_CONTROL
        return response

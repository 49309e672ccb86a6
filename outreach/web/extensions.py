"""Flask extensions: login, CSRF, Babel, Jinja filters and the security headers."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import Babel, get_locale, get_translations
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, login_user, logout_user
from flask_login.signals import session_protected, user_loaded_from_cookie
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadData, URLSafeTimedSerializer
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import bindparam
from sqlmodel import select

from outreach.core import formatting
from outreach.db import get_session
from outreach.models import GeoUnit, User
from outreach.web.guards import clean_input, figures_only_for_the_country

# What a logged-in session holds besides Flask-Login's own keys: the user's session version when
# it began (User.session_version; an older one is logged out) and when the password was typed (the
# absolute lifetime, SESSION_MAX_LIFETIME, counts from it whatever the activity).
SESSION_VERSION = "_session_version"
LOGGED_IN_AT = "_logged_in_at"
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember_seconds", SESSION_VERSION, LOGGED_IN_AT)
# The remember-me token: signed and timed (itsdangerous), carrying the user, their session version
# and a random nonce; never Flask-Login's "<id>|HMAC(id)", the same forever and for every login.
_REMEMBER_SALT = "outreach.remember-me"


def _clock() -> float:
    """Seconds since the epoch, for the absolute session lifetime (tests move it)."""
    return time.time()


def _fingerprint() -> str:
    """What "strong" session protection binds a logged-in session to: the browser's User-Agent.

    Not the address (Flask-Login's default, read from X-Forwarded-For, which any client sets): a
    canvasser's phone changes address with every network it joins, and a session that ended then
    would send each visit kept offline back to the login page.
    """
    return hashlib.sha512((request.headers.get("User-Agent") or "").encode()).hexdigest()


def _remember_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_REMEMBER_SALT)


def _remember_duration() -> timedelta:
    duration = current_app.config.get("REMEMBER_COOKIE_DURATION", timedelta(days=14))
    return timedelta(seconds=duration) if isinstance(duration, int) else duration


def _forget_login() -> None:
    """Take the login out of the session; its CSRF token and language stay."""
    for key in _LOGIN_KEYS:
        session.pop(key, None)


def begin_session(user: User, *, remember: bool = False) -> None:
    """Log `user` in on this request's session, stamped with their session version and the time."""
    login_user(user, remember=remember)
    session[SESSION_VERSION] = user.session_version
    session[LOGGED_IN_AT] = int(_clock())


def keep_session(user: User) -> None:
    """Keep this session (and its remember-me token) after the user raised their session version:
    their own password change ends every other session, not the one that made it."""
    session[SESSION_VERSION] = user.session_version
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        session["_remember"] = "set"  # a new token, with the new version


def end_session() -> None:
    """Log out this request's session (the user's version is raised by the service)."""
    logout_user()
    _forget_login()


class _LoginManager(LoginManager):
    """Flask-Login's, with session protection that works and a remember-me token that can end.

    Pinned: flask-login 0.6 (these override its private methods).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._session_identifier_generator = _fingerprint

    def _session_protection_failed(self) -> bool:
        # An anonymous session holds a CSRF token at most: there is nothing to protect, and the
        # "strong" check (no login fingerprint in it) would rewrite it on every request. Each
        # answer would then carry the cookie from before, and one arriving after a login (the
        # service worker caching the offline page) would undo it.
        if "_user_id" not in session:
            return False
        mode = current_app.config.get("SESSION_PROTECTION", self.session_protection)
        if mode != "strong":
            return super()._session_protection_failed()
        # Flask-Login 0.6 only marks a *permanent* session stale, and every logged-in session here
        # is permanent (the idle timeout): "strong" never fired. A session whose fingerprint does
        # not match is logged out, its remember-me token with it.
        if session.get("_id") == self._session_identifier_generator():
            return False
        _forget_login()
        session["_remember"] = "clear"
        session_protected.send(current_app._get_current_object())
        return True

    def _set_cookie(self, response) -> None:
        duration = (
            timedelta(seconds=session["_remember_seconds"])
            if "_remember_seconds" in session
            else _remember_duration()
        )
        token = _remember_serializer().dumps(
            [int(session["_user_id"]), session.get(SESSION_VERSION), secrets.token_urlsafe(16)]
        )
        config = current_app.config
        response.set_cookie(
            config.get("REMEMBER_COOKIE_NAME", "remember_token"),
            value=token,
            expires=datetime.now(UTC) + duration,
            domain=config.get("REMEMBER_COOKIE_DOMAIN"),
            path=config.get("REMEMBER_COOKIE_PATH", "/"),
            secure=config.get("REMEMBER_COOKIE_SECURE", False),
            httponly=config.get("REMEMBER_COOKIE_HTTPONLY", True),
            samesite=config.get("REMEMBER_COOKIE_SAMESITE"),
        )

    def _load_user_from_remember_cookie(self, cookie: str) -> User | None:
        # The token's age is checked here, not only by the browser's expiry: a copied token ends too.
        try:
            user_id, version, _nonce = _remember_serializer().loads(
                cookie, max_age=int(_remember_duration().total_seconds())
            )
        except (BadData, TypeError, ValueError):
            user_id = version = None
        row = _user_and_unit(user_id) if isinstance(user_id, int) else None
        if row is None or version != row[0].session_version:
            session["_remember"] = "clear"  # a logout, a new password, a reset: the token is over
            return None
        user = row[0]
        session["_user_id"] = user.get_id()
        session["_fresh"] = False
        session["_id"] = self._session_identifier_generator()
        session[SESSION_VERSION] = user.session_version
        session[LOGGED_IN_AT] = int(_clock())
        g.scope_unit = row[1]
        user_loaded_from_cookie.send(current_app._get_current_object(), user=user)
        return user


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
        "corrections",  # what canvassers corrected at households, and the sheet for BHXH
        "teams",  # canvassers by name, and their teams' results
        "exports",  # the audit log's export (who did what, from where)
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
        "admin.followed_units",  # the user's page again when refused
        "pwa.outbox",  # the visits still on the phone, kept for offline use per user
        "pwa.session_info",  # who is logged in, a CSRF token
        "pwa.offline_pages",  # the canvasser's households to download
        "pwa.offline_search",  # …and what finds them without signal
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


def _user_and_unit(user_id: int) -> tuple[User, GeoUnit | None] | None:
    """An active user and their scope unit, in one query."""
    if not 0 < user_id < 2**63:
        return None
    row = get_session().exec(_USER_WITH_UNIT, params={"user_id": user_id}).first()
    return row if row is not None and row[0].is_active else None


def _session_is_current(user: User) -> bool:
    """The session began at the user's current version, and less than its lifetime ago."""
    started = session.get(LOGGED_IN_AT)
    lifetime = current_app.config.get("SESSION_MAX_LIFETIME", timedelta(hours=12))
    return (
        session.get(SESSION_VERSION) == user.session_version
        and isinstance(started, int)
        and _clock() - started <= lifetime.total_seconds()
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The logged-in user, with the scope unit every page resolves next, in one query.

    A session of a deactivated user, from before the user's last logout, password change or
    reset (an older session version), or older than SESSION_MAX_LIFETIME is logged out here; a
    remember-me token may then start a new one (`_load_user_from_remember_cookie`).
    """
    row = _user_and_unit(int(user_id)) if user_id.isdigit() and len(user_id) < 19 else None
    if row is None or not _session_is_current(row[0]):
        _forget_login()
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
    app.jinja_env.filters["dayfirst"] = formatting.day_first
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

    # No control, bidi or zero-width character reaches a view (web/guards.py).
    app.before_request(clean_input)
    # National accounts read figures only: refused before any view runs (web/guards.py).
    app.before_request(figures_only_for_the_country)

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

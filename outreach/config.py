"""Settings read from the environment (OUTREACH_* and DATABASE_URL); SQLite under instance/ by default."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

INSTANCE_DIR = Path(
    os.environ.get("OUTREACH_INSTANCE_DIR", Path(__file__).resolve().parent.parent / "instance")
)


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The key from OUTREACH_SECRET_KEY, else one kept in instance/ so sessions survive restarts."""
    if key := os.environ.get("OUTREACH_SECRET_KEY"):
        return key
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def default_database_url() -> str:
    """The embedded default: a SQLite file under instance/."""
    return f"sqlite:///{INSTANCE_DIR / 'outreach.sqlite3'}"


def from_environment() -> dict:
    """Build the Flask config mapping from environment variables."""
    return {
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_database_url(),
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("OUTREACH_TIMEZONE", "Asia/Ho_Chi_Minh"),
        "LANGUAGES": ["vi", "en"],
        # Sessions end after two hours without activity; "remember me" is off unless ticked.
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("OUTREACH_SESSION_MINUTES", "120"))
        ),
        # …and 12 hours after the password was typed, however busy: a copied cookie kept alive
        # by its thief ends too. A remember-me token (if ticked) may then start a new session.
        "SESSION_MAX_LIFETIME": timedelta(
            hours=int(os.environ.get("OUTREACH_SESSION_MAX_HOURS", "12"))
        ),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("OUTREACH_SECURE_COOKIES", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("OUTREACH_SECURE_COOKIES", False),
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "LOGIN_MAX_FAILURES": int(os.environ.get("OUTREACH_LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("OUTREACH_LOGIN_LOCK_MINUTES", "15")),
        # Failed logins per client address (Flask-Limiter syntax, ";" between limits), on top of
        # the per-name lock above: one address guessing many names is stopped too.
        "LOGIN_RATE": os.environ.get("OUTREACH_LOGIN_RATE", "10/minute;50/hour"),
        "RATELIMIT_ENABLED": _bool("OUTREACH_RATELIMIT_ENABLED", True),
        # memory:// counts in each gunicorn worker separately (so N workers allow N times the
        # rate); give redis://host:6379 or memcached:// to share the counts between workers.
        "RATELIMIT_STORAGE_URI": os.environ.get("OUTREACH_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # How long a web request waits for SQLite's write lock before it keeps what can wait
        # (audit entries, login bookkeeping) for later or answers "busy" (503); it does not wait
        # at all while an import holds the lock for its whole file (core/spool.py).
        "OUTREACH_WEB_WAIT_MS": int(os.environ.get("OUTREACH_WEB_WAIT_MS", "5000")),
        "PROVINCE_CODE": os.environ.get("OUTREACH_PROVINCE_CODE", "24"),
        # A visit synced more than this many days after it happened is stored but counts on the
        # day it arrived, flagged "late" for the leader (issue 19 #15; tallies/service.py).
        "OFFLINE_WINDOW_DAYS": max(1, int(os.environ.get("OUTREACH_OFFLINE_WINDOW_DAYS", "14"))),
        # A fixed "today" (YYYY-MM-DD) for training sessions and tests; empty means the real date.
        "OUTREACH_TODAY": os.environ.get("OUTREACH_TODAY", ""),
        "MAX_CONTENT_LENGTH": 210 * 1024 * 1024,
        # The job queue: empty for a SQLite file beside the database (one server); redis://host
        # for several app servers and workers (docs/operations.md, "Workers and the queue").
        "OUTREACH_QUEUE_URL": os.environ.get("OUTREACH_QUEUE_URL", ""),
        # A running job posts its progress every second; silent this long, its worker died.
        "OUTREACH_JOB_STALE_SECONDS": int(os.environ.get("OUTREACH_JOB_STALE_SECONDS", "30")),
        # Uploaded lists (personal data) and their error lists are deleted this long after upload.
        "OUTREACH_UPLOAD_RETENTION_DAYS": int(
            os.environ.get("OUTREACH_UPLOAD_RETENTION_DAYS", "30")
        ),
        # Communes refreshed at once by the nightly job on PostgreSQL (SQLite: one writer).
        "OUTREACH_REFRESH_THREADS": int(os.environ.get("OUTREACH_REFRESH_THREADS", "4")),
    }

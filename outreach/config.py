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


class ConfigurationError(RuntimeError):
    """The settings would make a broken or unsafe deployment; the server refuses to start."""


def _secret_key() -> str | None:
    """The key from OUTREACH_SECRET_KEY; for the demo (OUTREACH_DEMO, `make run`) one kept in
    instance/ so sessions survive restarts; otherwise None, and `check` refuses to start."""
    if key := os.environ.get("OUTREACH_SECRET_KEY"):
        return key
    if not _bool("OUTREACH_DEMO", False):
        return None
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
        "DEMO": _bool("OUTREACH_DEMO", False),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_database_url(),
        # A streaming replica for the pages that may read a few seconds late (db.read_session).
        "DATABASE_REPLICA_URL": os.environ.get("DATABASE_REPLICA_URL", ""),
        # Behind pgbouncer in transaction mode: no server-side prepared statements.
        "DATABASE_PGBOUNCER": _bool("OUTREACH_PGBOUNCER", False),
        # How many app servers share the database; more than one needs shared throttle counts.
        "APP_SERVERS": max(1, int(os.environ.get("OUTREACH_APP_SERVERS", "1"))),
        # How many reverse proxies stand in front (werkzeug ProxyFix); 0: none, trust no header.
        "PROXY_FIX": max(0, int(os.environ.get("OUTREACH_PROXY_FIX", "0"))),
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
        # E-mail (bulletins, weekly digest): smtp://host:25, smtp://user:pw@host:587?starttls=1 or
        # smtps://user:pw@host:465; empty: nothing is sent, deliveries are recorded as failed.
        "SMTP_URL": os.environ.get("OUTREACH_SMTP_URL", ""),
        "MAIL_FROM": os.environ.get("OUTREACH_MAIL_FROM", ""),
        # The hour (Vietnam time) on the 15th and the month's last day from which
        # `outreach bulletins draft-due` drafts the bulletin (summaries/schedule.py).
        "BULLETIN_DRAFT_HOUR": min(
            23, max(0, int(os.environ.get("OUTREACH_BULLETIN_DRAFT_HOUR", "17")))
        ),
        # The job queue: empty for a SQLite file beside the database (one server); redis://host
        # for several app servers and workers (docs/operations.md, "Workers and the queue").
        "OUTREACH_QUEUE_URL": os.environ.get("OUTREACH_QUEUE_URL", ""),
        # A running job posts its progress every second; silent this long, its worker died.
        "OUTREACH_JOB_STALE_SECONDS": int(os.environ.get("OUTREACH_JOB_STALE_SECONDS", "30")),
        # A job still waiting this long with nothing on the queue was lost (Redis restarted
        # without its data): the workers' minute sweep queues it again.
        "OUTREACH_JOB_LOST_SECONDS": int(os.environ.get("OUTREACH_JOB_LOST_SECONDS", "300")),
        # Exports written by a worker (the audit log: personal data) are deleted this long after.
        "OUTREACH_EXPORT_RETENTION_DAYS": int(
            os.environ.get("OUTREACH_EXPORT_RETENTION_DAYS", "7")
        ),
        # Uploaded lists (personal data) and their error lists are deleted this long after upload.
        "OUTREACH_UPLOAD_RETENTION_DAYS": int(
            os.environ.get("OUTREACH_UPLOAD_RETENTION_DAYS", "30")
        ),
        # Processes scoring communes at once in the nightly refresh on PostgreSQL (SQLite: one
        # writer, one commune at a time); the scoring is CPU-bound Python: one per core. The old
        # name (threads, before the scoring moved to processes) is still read.
        "OUTREACH_REFRESH_PROCESSES": int(
            os.environ.get(
                "OUTREACH_REFRESH_PROCESSES",
                os.environ.get("OUTREACH_REFRESH_THREADS", str(os.cpu_count() or 1)),
            )
        ),
    }


def check(config) -> None:
    """Refuse settings that would break a deployment, with a message saying what to set."""
    problems = []
    if not config.get("SECRET_KEY"):
        problems.append(
            "Thiếu OUTREACH_SECRET_KEY (OUTREACH_SECRET_KEY is not set): mọi máy chủ phải dùng "
            "chung một khóa bí mật, ví dụ OUTREACH_SECRET_KEY=$(python3 -c "
            "'import secrets; print(secrets.token_hex(32))'). Chỉ bản dùng thử (OUTREACH_DEMO=1, "
            "make run) tự tạo khóa trong instance/secret_key."
        )
    storage = str(config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if (
        config.get("APP_SERVERS", 1) > 1
        and config.get("RATELIMIT_ENABLED", True)
        and storage.startswith("memory://")
    ):
        problems.append(
            f"OUTREACH_APP_SERVERS={config['APP_SERVERS']} nhưng giới hạn đăng nhập được đếm "
            "riêng trong từng tiến trình (OUTREACH_RATELIMIT_STORAGE=memory://): hãy đặt "
            "OUTREACH_RATELIMIT_STORAGE=redis://máy:6379 (or memcached://) cho mọi máy chủ."
        )
    if problems:
        raise ConfigurationError(
            "Cấu hình không hợp lệ; máy chủ không khởi động:\n- " + "\n- ".join(problems)
        )

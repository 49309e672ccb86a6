"""Logging in: failed logins and password checks counted per name and address, locks that
double, lock storms, and what an admin sees of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, select

from outreach.accounts.passwords import _DUMMY_HASH, hash_password, needs_rehash, verify_password
from outreach.core.audit import record_event, request_ip
from outreach.core.spool import kept_audit_rows
from outreach.models import AuditLog, User
from outreach.models.base import utcnow


class LoginError(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class LoginResult:
    """A successful login carries the user; a failed one its reason and, if locked, until when."""

    user: User | None = None
    error: LoginError | None = None
    locked_until: datetime | None = None


# ---- failed logins and password checks -------------------------------------------------------
#
# Failures are read back from the audit log, never from a counter: the log is the one record.
# A login lock holds for one name *from one client address*: a stranger's wrong passwords lock
# that stranger's address out, never the person at their own phone (issue 19, #9). Each failure
# past the threshold doubles the wait (15 min, 30, 1 h, … up to FAILURE_MEMORY); a success from
# that address, an admin's unlock or a password reset starts the count again.
FAILURE_MEMORY = timedelta(hours=24)  # how long a failure counts, and the longest wait
# Failures of one name from every address within one lock window that make a "lock storm":
# several addresses guessing one account. Audited once a window; shown on the user's admin page.
STORM_FACTOR = 4
_MAX_DOUBLINGS = 16  # 2**16 lock windows is already far past FAILURE_MEMORY


def lock_delay(failures: int, *, max_failures: int, lock_minutes: int) -> timedelta | None:
    """How long the last of `failures` consecutive failures locks for; None under the threshold."""
    if failures < max_failures:
        return None
    doublings = min(failures - max_failures, _MAX_DOUBLINGS)
    return min(timedelta(minutes=lock_minutes) * 2**doublings, FAILURE_MEMORY)


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _lock_state(
    events, *, failure: str, max_failures: int, lock_minutes: int
) -> tuple[int, datetime | None]:
    """(failures since the last success, the end of their lock or None) from (action, at) rows.

    `events` come oldest first; any action other than `failure` is a success that restarts the
    count.
    """
    failures, last = 0, None
    for action, at in events:
        if action == failure:
            failures, last = failures + 1, _as_utc(at)
        else:
            failures, last = 0, None
    delay = lock_delay(failures, max_failures=max_failures, lock_minutes=lock_minutes)
    return failures, (last + delay if delay is not None and last is not None else None)


def _counting_since(user: User | None, now: datetime) -> datetime:
    since = now - FAILURE_MEMORY
    if user is not None and user.failures_cleared_at is not None:
        since = max(since, _as_utc(user.failures_cleared_at))
    return since


def _login_lock(
    session: Session,
    *,
    username: str,
    ip: str,
    user: User | None,
    now: datetime,
    max_failures: int,
    lock_minutes: int,
) -> datetime | None:
    """Until when this name is locked from this address, or None."""
    actions, since = ("login", "login_failed"), _counting_since(user, now)
    events = session.exec(
        select(AuditLog.action, AuditLog.at)
        .where(
            AuditLog.username == username,
            AuditLog.ip == ip,
            AuditLog.action.in_(actions),
            AuditLog.at >= since,
        )
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    kept = _kept_events(session, username=username, ip=ip, actions=actions, since=since)
    if kept:  # sorted() keeps the log's own order among equal times
        events = sorted([*events, *kept], key=lambda event: _as_utc(event[1]))
    _failures, until = _lock_state(
        events, failure="login_failed", max_failures=max_failures, lock_minutes=lock_minutes
    )
    return until if until is not None and until > now else None


def _kept_events(
    session: Session, *, username: str, ip: str, actions: tuple[str, ...], since: datetime
) -> list[tuple[str, datetime]]:
    """This name's attempts from this address still waiting in the spool (core/spool.py): while
    an import held the database they were kept there, and they count towards a lock all the same."""
    events = [
        (row["action"], _as_utc(datetime.fromisoformat(row["at"])))
        for row in kept_audit_rows(session.get_bind())
        if row["username"] == username and row["ip"] == ip and row["action"] in actions
    ]
    return [(action, at) for action, at in events if at >= since]


def _record(now: datetime, session: Session, **event) -> None:
    """An audit entry dated at the attempt's `now`, which the lock arithmetic reads back."""
    record_event(session, **event).at = now


def _note_storm(
    session: Session,
    *,
    username: str,
    ip: str,
    user: User | None,
    now: datetime,
    max_failures: int,
    lock_minutes: int,
) -> None:
    """Audit a lock storm on this name once a lock window: many failures from all addresses."""
    window = max(now - timedelta(minutes=lock_minutes), _counting_since(user, now))
    failures, addresses = session.exec(
        select(func.count(), func.count(func.distinct(AuditLog.ip))).where(
            AuditLog.username == username,
            AuditLog.action == "login_failed",
            AuditLog.at >= window,
        )
    ).one()
    if failures < STORM_FACTOR * max_failures:
        return
    already = session.exec(
        select(func.count())
        .select_from(AuditLog)
        .where(
            AuditLog.username == username,
            AuditLog.action == "login_lock_storm",
            AuditLog.at >= window,
        )
    ).one()
    if not already:
        _record(
            now,
            session,
            action="login_lock_storm",
            username=username,
            ip=ip,
            user_id=user.id if user else None,
            object_type="user" if user else "",
            object_id=user.id if user else "",
            detail={"failures": failures, "addresses": addresses, "minutes": lock_minutes},
        )


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    ip: str = "",
    max_failures: int = 5,
    lock_minutes: int = 15,
    now: datetime | None = None,
) -> LoginResult:
    """Check a login; count failures per name and client address in the audit log, and lock.

    Any case or spacing of a name is the same name. While this name is locked from this address
    the password is not even checked; other addresses are not held back (STORM_FACTOR: a storm
    of failures from many addresses is audited for the admins instead).
    The caller commits whatever the result: the audit entry must persist when the login fails too.
    """
    now = now or utcnow()
    username = username.strip().lower()
    ip = (ip or request_ip.get())[:64]
    user = session.exec(select(User).where(User.username == username)).first()
    locked_until = _login_lock(
        session,
        username=username,
        ip=ip,
        user=user,
        now=now,
        max_failures=max_failures,
        lock_minutes=lock_minutes,
    )
    if locked_until is not None:
        _record(
            now,
            session,
            action="login_locked",
            username=username,
            ip=ip,
            user_id=user.id if user else None,
        )
        session.flush()
        return LoginResult(error=LoginError.LOCKED, locked_until=locked_until)

    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if not ok or user is None:
        if user is not None:
            user.failed_logins += 1
            session.add(user)
        _record(
            now,
            session,
            action="login_failed",
            username=username,
            ip=ip,
            user_id=user.id if user else None,
        )
        session.flush()
        _note_storm(
            session,
            username=username,
            ip=ip,
            user=user,
            now=now,
            max_failures=max_failures,
            lock_minutes=lock_minutes,
        )
        session.flush()
        return LoginResult(error=LoginError.BAD_CREDENTIALS)
    if not user.is_active:
        _record(now, session, action="login_inactive", username=username, ip=ip, user_id=user.id)
        session.flush()
        return LoginResult(error=LoginError.INACTIVE)
    user.last_login_at = now
    if needs_rehash(user.password_hash):  # the password is known only now: upgrade its hash
        user.password_hash = hash_password(password)
    session.add(user)
    _record(now, session, action="login", username=username, ip=ip, user_id=user.id)
    session.flush()
    return LoginResult(user=user)


@dataclass(frozen=True)
class PasswordCheck:
    """The current password typed on the change form: right, or wrong, or not checked (locked)."""

    ok: bool
    locked_until: datetime | None = None


def check_current_password(
    session: Session,
    *,
    user: User,
    password: str,
    ip: str = "",
    max_failures: int = 5,
    lock_minutes: int = 15,
    now: datetime | None = None,
) -> PasswordCheck:
    """Check the current password on the change form, counted and locked like logins (#10).

    Failures count per user (the form is behind a login); the form locks after the same number
    as a login, for the same growing time, and is not checked at all while locked. Every failure
    and every refused attempt is audited. The caller commits whatever the result.
    """
    now = now or utcnow()
    ip = (ip or request_ip.get())[:64]
    events = session.exec(
        select(AuditLog.action, AuditLog.at)
        .where(
            AuditLog.user_id == user.id,
            AuditLog.action.in_(("password_failed", "password_changed")),
            AuditLog.at >= _counting_since(user, now),
        )
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    _failures, until = _lock_state(
        events, failure="password_failed", max_failures=max_failures, lock_minutes=lock_minutes
    )
    event = {
        "user_id": user.id,
        "username": user.username,
        "ip": ip,
        "object_type": "user",
        "object_id": user.id,
    }
    if until is not None and until > now:
        _record(now, session, action="password_locked", **event)
        session.flush()
        return PasswordCheck(ok=False, locked_until=until)
    if verify_password(user.password_hash, password or ""):
        return PasswordCheck(ok=True)
    _record(now, session, action="password_failed", **event)
    session.flush()
    _failures, until = _lock_state(
        [*events, ("password_failed", now)],
        failure="password_failed",
        max_failures=max_failures,
        lock_minutes=lock_minutes,
    )
    return PasswordCheck(ok=False, locked_until=until)


@dataclass(frozen=True)
class LoginTrouble:
    """What an admin sees of a user's failed logins (24 hours, since the last unlock)."""

    failures: int = 0
    addresses: int = 0
    # (address, locked until), the latest lock first.
    locked: tuple[tuple[str, datetime], ...] = ()
    storms: tuple[AuditLog, ...] = ()
    password_failures: int = 0
    password_locked_until: datetime | None = None

    @property
    def any(self) -> bool:
        """Whether there is anything an unlock would clear."""
        return bool(self.failures or self.password_failures)


def login_trouble(
    session: Session,
    *,
    user: User,
    max_failures: int = 5,
    lock_minutes: int = 15,
    now: datetime | None = None,
    limit: int = 20_000,
) -> LoginTrouble:
    """Failed logins of a user's name, the addresses locked now, lock storms and password checks."""
    now = now or utcnow()
    since = _counting_since(user, now)
    rows = session.exec(
        select(AuditLog.action, AuditLog.at, AuditLog.ip)
        .where(
            AuditLog.username == user.username,
            AuditLog.action.in_(("login", "login_failed")),
            AuditLog.at >= since,
        )
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)  # the latest: they decide the locks of now
    ).all()[::-1]
    by_address: dict[str, list[tuple[str, datetime]]] = {}
    for action, at, address in rows:
        by_address.setdefault(address, []).append((action, at))
    locked = []
    for address, events in by_address.items():
        _n, until = _lock_state(
            events, failure="login_failed", max_failures=max_failures, lock_minutes=lock_minutes
        )
        if until is not None and until > now:
            locked.append((address, until))
    storms = session.exec(
        select(AuditLog)
        .where(
            AuditLog.username == user.username,
            AuditLog.action == "login_lock_storm",
            AuditLog.at >= now - FAILURE_MEMORY,
        )
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(10)
    ).all()
    password_events = session.exec(
        select(AuditLog.action, AuditLog.at)
        .where(
            AuditLog.user_id == user.id,
            AuditLog.action.in_(("password_failed", "password_changed")),
            AuditLog.at >= since,
        )
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    password_failures, password_until = _lock_state(
        password_events,
        failure="password_failed",
        max_failures=max_failures,
        lock_minutes=lock_minutes,
    )
    failed = [(at, address) for action, at, address in rows if action == "login_failed"]
    return LoginTrouble(
        failures=len(failed),
        addresses=len({address for _at, address in failed}),
        locked=tuple(sorted(locked, key=lambda pair: pair[1], reverse=True)),
        storms=tuple(storms),
        password_failures=password_failures,
        password_locked_until=(
            password_until if password_until is not None and password_until > now else None
        ),
    )


def clear_failures(user: User) -> None:
    """Earlier failures of the user no longer count (an admin's unlock, a reset)."""
    user.failures_cleared_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None

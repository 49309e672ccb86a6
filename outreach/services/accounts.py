"""Accounts: creating users, checking passwords, counting and throttling failed logins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import AuditLog, GeoUnit, User
from ..models.base import utcnow
from ..models.codes import Role, UnitKind
from .audit import record_event

MIN_PASSWORD_LENGTH = 8
# Checked against when the username is unknown, so both paths cost one scrypt verification.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


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


class AccountError(ValueError):
    """A user could not be created; the message is Vietnamese and shown as is."""


def hash_password(password: str) -> str:
    """Hash with scrypt (werkzeug's default)."""
    return generate_password_hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    password: str | None = None,
    password_hash: str | None = None,
    role: str,
    scope_unit_id: int,
    organization: str = "",
    phone: str | None = None,
) -> User:
    """Create a user after checking the role, the scope unit and the password rules."""
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise AccountError("Tên đăng nhập chỉ gồm chữ, số, dấu chấm, gạch nối hoặc gạch dưới.")
    if role not in set(Role):
        raise AccountError(f"Vai trò không hợp lệ: {role}.")
    unit = session.get(GeoUnit, scope_unit_id)
    if unit is None or unit.kind == UnitKind.VILLAGE:
        raise AccountError("Phạm vi phải là một tỉnh, một nhóm xã hoặc một xã có trong danh mục.")
    if session.exec(select(User).where(User.username == username)).first():
        raise AccountError(f"Tên đăng nhập “{username}” đã có người dùng.")
    if password_hash is None:
        if password is None or len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự.")
        password_hash = hash_password(password)
    user = User(
        username=username,
        full_name=full_name.strip(),
        password_hash=password_hash,
        role=role,
        scope_unit_id=scope_unit_id,
        organization=organization,
        phone=phone,
    )
    session.add(user)
    session.flush()
    return user


def recent_failures(session: Session, *, username: str, since: datetime) -> int:
    """Failed logins for this name since a moment, known user or not."""
    return session.exec(
        select(func.count())
        .select_from(AuditLog)
        .where(
            AuditLog.action == "login_failed", AuditLog.username == username, AuditLog.at >= since
        )
    ).one()


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
    """Check a login, count failures in the audit log, and lock the name after too many.

    Commits: the audit entry must persist whether the login succeeds or not.
    """
    now = now or utcnow()
    username = username.strip().lower()
    user = session.exec(select(User).where(User.username == username)).first()
    window_start = now - timedelta(minutes=lock_minutes)
    if recent_failures(session, username=username, since=window_start) >= max_failures:
        record_event(
            session,
            action="login_locked",
            username=username,
            ip=ip,
            user_id=user.id if user else None,
        )
        session.commit()
        return LoginResult(
            error=LoginError.LOCKED, locked_until=now + timedelta(minutes=lock_minutes)
        )

    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if not ok or user is None:
        if user is not None:
            user.failed_logins += 1
            session.add(user)
        record_event(
            session,
            action="login_failed",
            username=username,
            ip=ip,
            user_id=user.id if user else None,
        )
        session.commit()
        return LoginResult(error=LoginError.BAD_CREDENTIALS)
    if not user.is_active:
        record_event(session, action="login_inactive", username=username, ip=ip, user_id=user.id)
        session.commit()
        return LoginResult(error=LoginError.INACTIVE)
    user.last_login_at = now
    session.add(user)
    record_event(session, action="login", username=username, ip=ip, user_id=user.id)
    session.commit()
    return LoginResult(user=user)

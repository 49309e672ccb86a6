"""Accounts: creating users, checking passwords, counting and throttling failed logins."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_
from sqlmodel import Session, select
from werkzeug.security import check_password_hash

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.models import AuditLog, GeoUnit, User
from outreach.models.base import utcnow
from outreach.models.codes import Role, UnitKind

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# The passwords tried first by anyone guessing (lower case; compared without regard to case).
COMMON_PASSWORDS = frozenset(
    {
        "12345678",
        "123456789",
        "1234567890",
        "0123456789",
        "11111111",
        "88888888",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwerty123",
        "qwertyuiop",
        "abc123456",
        "abcd1234",
        "abc@1234",
        "abc@12345",
        "admin123",
        "admin@123",
        "admin@1234",
        "matkhau",
        "matkhau1",
        "matkhau123",
        "matkhau@123",
        "matkhau1234",
        "bhxh123456",
        "bhxh@12345",
        "vietnam123",
        "vietnam@123",
        "iloveyou",
        "123456aa@",
        "123456a@",
    }
)
# Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): memory-hard like the
# scrypt of werkzeug's default it replaces (N=2^15, itself under OWASP's scrypt minimum of 2^17),
# and 20 ms of CPU a login instead of 90-100 ms. At the morning's logins of 200 canvassers that
# CPU is what the other requests queue behind (docs/benchmarks.md, Load).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Checked against when the username is unknown, so both paths cost one verification.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


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


class AccountError(DomainError):
    """A user could not be created; the message is in the user's language and shown as is."""


def password_problem(password: str | None, *, username: str = "") -> str | None:
    """Why a password is refused (in the user's language), or None when it follows the rules.

    At least 10 characters, not only digits (a birthday or a phone number), not the user name
    and not one of the passwords everybody tries first.
    """
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Mật khẩu cần ít nhất %(count)s ký tự.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Mật khẩu tối đa %(count)s ký tự.", count=MAX_PASSWORD_LENGTH)
    if password.isdigit():
        return _("Mật khẩu không được chỉ gồm chữ số (như ngày sinh hay số điện thoại).")
    if username and password.strip().lower() == username.strip().lower():
        return _("Mật khẩu không được trùng với tên đăng nhập.")
    if password.strip().lower() in COMMON_PASSWORDS:
        return _("Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác.")
    return None


def hash_password(password: str) -> str:
    """Hash with Argon2id (OWASP's parameters, in the hash itself)."""
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches the stored hash: Argon2id, or an older werkzeug scrypt/pbkdf2."""
    if stored.startswith("$argon2"):
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(stored, password)
    except ValueError:  # not a hash werkzeug knows either
        return False


def needs_rehash(stored: str) -> bool:
    """True for a hash made before Argon2id or with weaker parameters: redone at the next login."""
    return not stored.startswith("$argon2") or _HASHER.check_needs_rehash(stored)


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
        raise AccountError(_("Tên đăng nhập chỉ gồm chữ, số, dấu chấm, gạch nối hoặc gạch dưới."))
    if role not in set(Role):
        raise AccountError(_("Vai trò không hợp lệ: %(role)s.", role=role))
    unit = session.get(GeoUnit, scope_unit_id)
    if unit is None or unit.kind == UnitKind.VILLAGE:
        raise AccountError(
            _("Phạm vi phải là một tỉnh, một nhóm xã hoặc một xã có trong danh mục.")
        )
    if session.exec(select(User).where(User.username == username)).first():
        raise AccountError(_("Tên đăng nhập “%(username)s” đã có người dùng.", username=username))
    if password_hash is None:
        if problem := password_problem(password, username=username):
            raise AccountError(problem)
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

    The caller commits whatever the result: the audit entry must persist when the login fails too.
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
        session.flush()
        return LoginResult(
            error=LoginError.LOCKED, locked_until=now + timedelta(minutes=lock_minutes)
        )

    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
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
        session.flush()
        return LoginResult(error=LoginError.BAD_CREDENTIALS)
    if not user.is_active:
        record_event(session, action="login_inactive", username=username, ip=ip, user_id=user.id)
        session.flush()
        return LoginResult(error=LoginError.INACTIVE)
    user.last_login_at = now
    if needs_rehash(user.password_hash):  # the password is known only now: upgrade its hash
        user.password_hash = hash_password(password)
    session.add(user)
    record_event(session, action="login", username=username, ip=ip, user_id=user.id)
    session.flush()
    return LoginResult(user=user)


# Which kinds of scope unit each role may have (a canvasser works in one commune; brief §2).
SCOPE_KINDS: dict[str, frozenset[str]] = {
    Role.CANVASSER: frozenset({UnitKind.COMMUNE}),
    Role.LEADER: frozenset({UnitKind.COMMUNE, UnitKind.GROUP, UnitKind.PROVINCE}),
    Role.ADMIN: frozenset({UnitKind.PROVINCE}),
    Role.MEDIA: frozenset({UnitKind.PROVINCE}),
}
# No 0/O, 1/l/I: the admin reads the temporary password out over the phone.
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TEMP_PASSWORD_LENGTH = 10


def generate_temporary_password() -> str:
    """A random password that is easy to read aloud, always with a digit and a letter."""
    while True:
        candidate = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(TEMP_PASSWORD_LENGTH))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


def _province_of(unit: GeoUnit) -> int:
    return unit.province_id or unit.id


def check_role_scope(session: Session, *, role: str, scope_unit_id: int, province_id: int) -> None:
    """Raise AccountError unless the scope unit suits the role and lies in the admin's province."""
    if role not in set(Role):
        raise AccountError(_("Vai trò không hợp lệ: %(role)s.", role=role))
    unit = session.get(GeoUnit, scope_unit_id)
    if unit is None or _province_of(unit) != province_id:
        raise AccountError(_("Phạm vi không có trong danh mục của tỉnh."))
    if unit.kind not in SCOPE_KINDS[role]:
        raise AccountError(
            {
                Role.CANVASSER: _("Cán bộ vận động phải có phạm vi là một xã, phường, đặc khu."),
                Role.LEADER: _("Lãnh đạo có phạm vi là một xã, một nhóm xã hoặc cả tỉnh."),
                Role.ADMIN: _("Quản trị viên có phạm vi là cả tỉnh."),
                Role.MEDIA: _("Tài khoản báo chí có phạm vi là cả tỉnh."),
            }[Role(role)]
        )


def _admin_province(session: Session, by_user: User) -> int:
    unit = session.get(GeoUnit, by_user.scope_unit_id)
    return _province_of(unit) if unit is not None else by_user.scope_unit_id


def _managed_user(session: Session, *, user_id: int, by_user: User) -> User:
    """A user of the admin's own province, or AccountError."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError(_("Không tìm thấy người dùng."))
    unit = session.get(GeoUnit, user.scope_unit_id)
    if unit is None or _province_of(unit) != _admin_province(session, by_user):
        raise AccountError(_("Không tìm thấy người dùng."))
    return user


def _audit(session: Session, by_user: User, action: str, user: User, detail: dict) -> None:
    record_event(
        session,
        action=action,
        user_id=by_user.id,
        username=by_user.username,
        object_type="user",
        object_id=user.id,
        detail=detail,
    )


def register_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: str,
    scope_unit_id: int,
    organization: str = "",
    by_user: User,
) -> tuple[User, str]:
    """Create a user for an admin with a temporary password, to be changed at the first login.

    Returns the user and the temporary password, which is shown to the admin once and never stored.
    """
    if not full_name.strip():
        raise AccountError(_("Hãy nhập họ và tên."))
    if len(full_name.strip()) > 200 or len(organization.strip()) > 200 or len(username) > 80:
        raise AccountError(_("Họ tên, đơn vị tối đa 200 ký tự; tên đăng nhập tối đa 80 ký tự."))
    check_role_scope(
        session,
        role=role,
        scope_unit_id=scope_unit_id,
        province_id=_admin_province(session, by_user),
    )
    temporary = generate_temporary_password()
    user = create_user(
        session,
        username=username,
        full_name=full_name,
        password=temporary,
        role=role,
        scope_unit_id=scope_unit_id,
        organization=organization.strip(),
    )
    user.must_change_password = True
    _audit(
        session,
        by_user,
        "user_created",
        user,
        {"username": user.username, "role": role, "scope_unit_id": scope_unit_id},
    )
    session.flush()
    return user, temporary


def update_user(
    session: Session,
    *,
    user_id: int,
    role: str,
    scope_unit_id: int,
    full_name: str,
    organization: str,
    is_active: bool,
    by_user: User,
) -> User:
    """Change a user's role, scope, name, organization or active flag, audited with the changes."""
    user = _managed_user(session, user_id=user_id, by_user=by_user)
    full_name, organization = full_name.strip(), organization.strip()
    if not full_name:
        raise AccountError(_("Hãy nhập họ và tên."))
    if len(full_name) > 200 or len(organization) > 200:
        raise AccountError(_("Họ tên và đơn vị tối đa 200 ký tự."))
    check_role_scope(
        session,
        role=role,
        scope_unit_id=scope_unit_id,
        province_id=_admin_province(session, by_user),
    )
    # An admin who demoted or locked themselves out could leave the province with no admin.
    if user.id == by_user.id and (role != user.role or not is_active):
        raise AccountError(_("Bạn không thể tự đổi vai trò hoặc tự khóa tài khoản của mình."))
    new = {
        "role": role,
        "scope_unit_id": scope_unit_id,
        "full_name": full_name,
        "organization": organization,
        "is_active": bool(is_active),
    }
    changes = {k: [getattr(user, k), v] for k, v in new.items() if getattr(user, k) != v}
    if changes:
        for key, value in new.items():
            setattr(user, key, value)
        session.add(user)
        _audit(session, by_user, "user_updated", user, changes)
    session.flush()
    return user


def deactivate_user(session: Session, *, user_id: int, by_user: User) -> User:
    """Lock a user out (the row stays: visits and audit entries point at it)."""
    user = _managed_user(session, user_id=user_id, by_user=by_user)
    if user.id == by_user.id:
        raise AccountError(_("Bạn không thể tự khóa tài khoản của mình."))
    if user.is_active:
        user.is_active = False
        session.add(user)
        _audit(session, by_user, "user_deactivated", user, {"username": user.username})
    session.flush()
    return user


def reset_password(session: Session, *, user_id: int, by_user: User) -> str:
    """Give a user a new temporary password (returned once) that must be changed at next login."""
    user = _managed_user(session, user_id=user_id, by_user=by_user)
    temporary = generate_temporary_password()
    # Generated passwords follow the rules by construction; checked so a change to either shows.
    if problem := password_problem(temporary, username=user.username):
        raise AccountError(problem)
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    _audit(session, by_user, "password_reset", user, {"username": user.username})
    session.flush()
    return temporary


def change_password(session: Session, *, user: User, current: str, new: str) -> User:
    """Change one's own password after checking the current one; ends a forced change."""
    if not verify_password(user.password_hash, current or ""):
        raise AccountError(_("Mật khẩu hiện tại không đúng."))
    if problem := password_problem(new, username=user.username):
        raise AccountError(problem)
    if new == current:
        raise AccountError(_("Mật khẩu mới phải khác mật khẩu hiện tại."))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    session.add(user)
    record_event(
        session,
        action="password_changed",
        user_id=user.id,
        username=user.username,
        object_type="user",
        object_id=user.id,
    )
    session.flush()
    return user


def list_users(
    session: Session,
    *,
    province_id: int,
    role: str | None = None,
    query: str = "",
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[tuple[User, GeoUnit]], int]:
    """A page of the province's users with their scope unit, filtered, and how many match."""
    stmt = (
        select(User, GeoUnit)
        .join(GeoUnit, GeoUnit.id == User.scope_unit_id)
        .where(or_(GeoUnit.province_id == province_id, GeoUnit.id == province_id))
    )
    if role:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.is_active == active)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(User.username).like(like), func.lower(User.full_name).like(like))
        )
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(User.username).offset(offset).limit(limit)).all()
    return [(u, g) for u, g in rows], total

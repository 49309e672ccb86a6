"""Accounts: creating users, checking passwords, counting and throttling failed logins."""

from __future__ import annotations

from sqlalchemy import func, or_
from sqlmodel import Session, select

from outreach.accounts.logins import clear_failures
from outreach.accounts.passwords import (
    generate_temporary_password,
    hash_password,
    password_problem,
    verify_password,
)
from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.mail import looks_like_address
from outreach.models import GeoUnit, User
from outreach.models.codes import Role, UnitKind


class AccountError(DomainError):
    """A user could not be created; the message is in the user's language and shown as is."""


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
    email: str | None = None,
    gets_bulletins: bool = False,
) -> User:
    """Create a user after checking the role, the scope unit, the password rules and the
    e-mail address (optional)."""
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
    email = clean_email(email)
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
        email=email,
        gets_bulletins=bool(gets_bulletins and email),
    )
    session.add(user)
    session.flush()
    return user


def clean_email(text: str | None) -> str | None:
    """An e-mail address trimmed and lower-cased, None when empty; a malformed one is refused."""
    text = (text or "").strip().lower()
    if not text:
        return None
    if not looks_like_address(text):
        raise AccountError(
            _("Địa chỉ thư điện tử “%(email)s” không hợp lệ (ví dụ ten@bhxh.gov.vn).", email=text)
        )
    return text


# Which kinds of scope unit each role may have (a canvasser works in one commune; brief §2).
SCOPE_KINDS: dict[str, frozenset[str]] = {
    Role.CANVASSER: frozenset({UnitKind.COMMUNE}),
    Role.LEADER: frozenset({UnitKind.COMMUNE, UnitKind.GROUP, UnitKind.PROVINCE, UnitKind.NATION}),
    Role.ADMIN: frozenset({UnitKind.PROVINCE, UnitKind.NATION}),
    Role.MEDIA: frozenset({UnitKind.PROVINCE, UnitKind.NATION}),
}


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
                Role.LEADER: _("Lãnh đạo có phạm vi là một xã, một nhóm xã, cả tỉnh hoặc cả nước."),
                Role.ADMIN: _("Quản trị viên có phạm vi là cả tỉnh hoặc cả nước."),
                Role.MEDIA: _("Tài khoản báo chí có phạm vi là cả tỉnh hoặc cả nước."),
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
    email: str = "",
    gets_bulletins: bool = False,
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
        email=email,
        gets_bulletins=gets_bulletins,
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
    email: str | None = None,
    gets_bulletins: bool | None = None,
) -> User:
    """Change a user's role, scope, name, organization, e-mail, bulletin subscription or active
    flag, audited with the changes (an e-mail or subscription left None stays as it is)."""
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
    if email is not None:
        new["email"] = clean_email(email)
    if gets_bulletins is not None:
        new["gets_bulletins"] = bool(gets_bulletins and new.get("email", user.email))
    changes = {k: [getattr(user, k), v] for k, v in new.items() if getattr(user, k) != v}
    if changes:
        if user.is_active and not new["is_active"]:
            end_sessions(user)  # reactivating later must not bring the old sessions back
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
        end_sessions(user)  # reactivating later must not bring the old sessions back
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
    clear_failures(user)  # the person calling for a new password is usually the one locked out
    end_sessions(user)
    session.add(user)
    _audit(session, by_user, "password_reset", user, {"username": user.username})
    session.flush()
    return temporary


def unlock_logins(session: Session, *, user_id: int, by_user: User) -> User:
    """Lift a user's login and password-form locks: earlier failures no longer count. Audited."""
    user = _managed_user(session, user_id=user_id, by_user=by_user)
    clear_failures(user)
    session.add(user)
    _audit(session, by_user, "user_unlocked", user, {"username": user.username})
    session.flush()
    return user


def end_sessions(user: User) -> None:
    """End every session and remember-me token of the user, on every device, at its next request.

    The caller adds and flushes the user. A view that keeps its own session going (a password
    change) stamps the new number into it again.
    """
    user.session_version += 1


def sign_out(session: Session, *, user: User, ip: str = "") -> None:
    """A logout: audited, and it ends the user's other sessions and tokens too (a copied cookie)."""
    end_sessions(user)
    session.add(user)
    record_event(session, action="logout", user_id=user.id, username=user.username, ip=ip)
    session.flush()


def change_password(session: Session, *, user: User, current: str, new: str) -> User:
    """Change one's own password after checking the current one; ends a forced change.

    Every session and remember-me token of the user ends (a thief's copy among them); the view
    keeps its own going by stamping the new session version into it.
    """
    if not verify_password(user.password_hash, current or ""):
        raise AccountError(_("Mật khẩu hiện tại không đúng."))
    if problem := password_problem(new, username=user.username):
        raise AccountError(problem)
    if new == current:
        raise AccountError(_("Mật khẩu mới phải khác mật khẩu hiện tại."))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(user)
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

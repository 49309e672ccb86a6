"""Notices on a user's home page: posted once per event, shown until the user dismisses them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from outreach.models import Notice, User
from outreach.models.base import utcnow
from outreach.models.codes import Role


def post_notice(session: Session, *, user_id: int, key: str, text: str, link: str = "") -> bool:
    """Post a notice to one user unless the same key was posted before; True if posted. Flushes."""
    exists = session.exec(
        select(Notice.id).where(Notice.user_id == user_id, Notice.key == key)
    ).first()
    if exists is not None:
        return False
    session.add(Notice(user_id=user_id, key=key, text=text[:500], link=link[:300]))
    session.flush()
    return True


def province_admins(session: Session, *, province_id: int) -> list[User]:
    """The active admins of a province (their scope is the province itself)."""
    return list(
        session.exec(
            select(User)
            .where(User.role == Role.ADMIN, User.is_active, User.scope_unit_id == province_id)
            .order_by(User.id)
        )
    )


def open_notices(session: Session, *, user_id: int, limit: int = 10) -> list[Notice]:
    """A user's notices not yet dismissed, newest first."""
    return list(
        session.exec(
            select(Notice)
            .where(Notice.user_id == user_id, Notice.dismissed_at.is_(None))
            .order_by(Notice.created_at.desc(), Notice.id.desc())
            .limit(limit)
        )
    )


def dismiss_notice(
    session: Session, *, notice_id: int, user_id: int, now: datetime | None = None
) -> bool:
    """Dismiss one of the user's own notices; False if it is not theirs. Flushes."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.user_id != user_id:
        return False
    notice.dismissed_at = notice.dismissed_at or now or utcnow()
    session.add(notice)
    session.flush()
    return True

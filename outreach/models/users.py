"""People who log in: canvassers, leaders, admins, media staff."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from outreach.models.base import utcnow


class User(SQLModel, table=True):
    """A login with one role and one scope unit in the geography tree."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16, index=True)
    scope_unit_id: int = Field(foreign_key="geo_unit.id", index=True)
    # Where the person works: "Bưu điện xã …", "UBND phường …", "BHXH tỉnh Bắc Ninh".
    organization: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    # Where bulletins and the weekly digest are e-mailed (summaries/delivery.py, leaders/digest.py).
    email: str | None = Field(default=None, max_length=254)
    # Media staff and leaders who want each published bulletin's PDF by e-mail.
    gets_bulletins: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    is_active: bool = Field(default=True)
    must_change_password: bool = Field(default=False)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = None
    # Failed logins and password checks before this moment no longer count towards a lock: an
    # admin lifted the lock or reset the password (accounts.unlock_logins, reset_password).
    failures_cleared_at: datetime | None = None
    # Stamped into each session and remember-me token at login. Raised by a logout, a password
    # change, an admin's reset and a deactivation: every session and token carrying an older
    # number is logged out at its next request (web/extensions.py, load_user).
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_login_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    # The four members Flask-Login expects, written here so models stay free of Flask imports.
    @property
    def is_authenticated(self) -> bool:
        """Every stored user is a real, authenticated identity once loaded."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Stored users are never anonymous."""
        return False

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session."""
        return str(self.id)


class FollowedUnit(SQLModel, table=True):
    """A unit a steering-committee member follows ("bám sát các đơn vị được phân công"): a leader
    with any of these sees exactly the communes under them, wherever they lie in the province."""

    __tablename__ = "followed_unit"
    __table_args__ = (UniqueConstraint("user_id", "unit_id", name="uq_followed_unit_user_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    unit_id: int = Field(foreign_key="geo_unit.id")

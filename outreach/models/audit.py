"""The audit log: logins, imports, exports, publishing and every view of a person's record."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Column, Field, SQLModel, Text

from outreach.models.base import utcnow


class AuditLog(SQLModel, table=True):
    """One audited event. Rows are only ever inserted."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_user_at", "user_id", "at"),
        Index("ix_audit_action_at", "action", "at"),
        # The admins' filters (and the failed-login count per name) on a log of millions of rows.
        Index("ix_audit_username_at", "username", "at"),
        Index("ix_audit_object_at", "object_type", "object_id", "at"),
        Index("ix_audit_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    # Who tried, for failed logins of unknown names.
    username: str = Field(default="", max_length=80)
    action: str = Field(max_length=40)
    object_type: str = Field(default="", max_length=40)
    object_id: str = Field(default="", max_length=40)
    ip: str = Field(default="", max_length=64)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))

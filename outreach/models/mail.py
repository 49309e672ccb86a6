"""What the app sends by itself: bulletins e-mailed on publishing, and notices on home pages."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Column, Field, SQLModel, Text

from outreach.models.base import utcnow


class BulletinDelivery(SQLModel, table=True):
    """One published bulletin e-mailed to one user: sent, or failed with the server's error."""

    __tablename__ = "bulletin_delivery"
    __table_args__ = (UniqueConstraint("summary_id", "user_id", name="uq_bulletin_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    summary_id: int = Field(foreign_key="summary.id", index=True)
    user_id: int = Field(foreign_key="app_user.id")
    address: str = Field(max_length=254)
    status: str = Field(max_length=16)  # codes.DeliveryStatus
    error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    attempts: int = Field(default=0)
    sent_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Notice(SQLModel, table=True):
    """A line on one user's home page ("the bulletin of the 15th is drafted"), until dismissed.

    `key` makes posting idempotent: the same event posts the same notice once per user.
    """

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_notice_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    key: str = Field(max_length=120)
    text: str = Field(max_length=500)
    link: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
    dismissed_at: datetime | None = None

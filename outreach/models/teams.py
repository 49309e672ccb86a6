"""Advisory teams ("tổ tư vấn tuyên truyền, vận động"): canvassers of one commune working as one."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from outreach.models.base import utcnow


class Team(SQLModel, table=True):
    """A team of canvassers within a commune, with its own targets for the active campaign."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("commune_id", "name", name="uq_team_commune_name"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="geo_unit.id", index=True)
    name: str = Field(max_length=120)
    # What the team should reach in the campaign: new participants and renewals (0: no target).
    target_new: int = Field(default=0)
    target_renewals: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


class TeamMember(SQLModel, table=True):
    """A canvasser's place in a team; a canvasser belongs to one team at most."""

    __tablename__ = "team_member"

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)

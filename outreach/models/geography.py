"""The geography tree: province → (optional group) → commune → village."""

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class GeoUnit(SQLModel, table=True):
    """A province, an optional old-district grouping, a commune/ward/special zone, or a village."""

    __tablename__ = "geo_unit"
    __table_args__ = (
        UniqueConstraint("kind", "code", name="uq_geo_unit_kind_code"),
        Index("ix_geo_unit_parent_kind", "parent_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    # Official NSO code for provinces and communes; villages get "<commune code>-<n>".
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    # "Xã", "Phường", "Đặc khu", "Thôn", "Tổ dân phố"...
    type_name: str = Field(default="", max_length=40)
    # Lowercase without diacritics or type prefix, for matching names typed in lists.
    name_key: str = Field(default="", max_length=200, index=True)
    parent_id: int | None = Field(default=None, foreign_key="geo_unit.id")
    province_id: int | None = Field(default=None, foreign_key="geo_unit.id", index=True)
    is_island: bool = Field(default=False)
    is_active: bool = Field(default=True)

"""The admin blueprint (/admin): users, campaigns and villages add their routes to it."""

from __future__ import annotations

from flask import (
    Blueprint,
    make_response,
)
from sqlmodel import select

from outreach.core.text import place_key
from outreach.db import get_session
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind
from outreach.web.guards import current_scope, roles_required

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


@admin_bp.before_request
@roles_required("admin")
def _admins_only():
    """Every page here is for admins; others get the Vietnamese 403 page."""
    return None


def no_store(html: str):
    """Pages that show a temporary password must not stay in any cache."""
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


def admin_units() -> dict[str, list[GeoUnit]]:
    """The province, its groups and its communes: what a user's scope can be."""
    province_id = current_scope().province_id
    units = (
        get_session()
        .exec(
            select(GeoUnit).where(
                (GeoUnit.id == province_id)
                | ((GeoUnit.province_id == province_id) & (GeoUnit.kind != UnitKind.VILLAGE))
            )
        )
        .all()
    )
    units = sorted(units, key=lambda u: place_key(u.name, u.type_name))
    grouped: dict[str, list[GeoUnit]] = {
        UnitKind.PROVINCE: [],
        UnitKind.GROUP: [],
        UnitKind.COMMUNE: [],
    }
    for unit in units:
        grouped.setdefault(unit.kind, []).append(unit)
    return grouped


def province_communes() -> list[GeoUnit]:
    """The communes of the admin's province."""
    return admin_units()[UnitKind.COMMUNE]

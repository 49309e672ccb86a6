"""Villages (thôn, tổ dân phố) as admins maintain them: list, rename, move, merge."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from outreach.db import committing, get_session
from outreach.geography import villages
from outreach.geography.villages import VillageError
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind
from outreach.web.admin import admin_bp, province_communes
from outreach.web.guards import current_scope, parse_id

# ---- villages ------------------------------------------------------------------------------


def _province_commune(commune_id: int | None) -> GeoUnit | None:
    if commune_id is None:
        return None
    unit = get_session().get(GeoUnit, commune_id)
    if (
        unit is None
        or unit.kind != UnitKind.COMMUNE
        or (unit.province_id or unit.id) != current_scope().province_id
    ):
        return None
    return unit


@admin_bp.get("/villages")
def villages_index():
    """Pick a commune; see its villages with their households; merge some of them."""
    commune = _province_commune(parse_id(request.args.get("commune")))
    rows = villages.villages_of(get_session(), commune_id=commune.id) if commune else []
    return render_template(
        "admin/villages.html", communes=province_communes(), commune=commune, rows=rows, error=None
    )


def _village(village_id: int) -> GeoUnit:
    unit = get_session().get(GeoUnit, village_id)
    if (
        unit is None
        or unit.kind != UnitKind.VILLAGE
        or (unit.province_id or unit.id) != current_scope().province_id
    ):
        abort(404)
    return unit


def _village_page(village: GeoUnit, error: str | None = None, status: int = 200):
    commune = get_session().get(GeoUnit, village.parent_id)
    households = next(
        (
            r.households
            for r in villages.villages_of(get_session(), commune_id=commune.id)
            if r.village.id == village.id
        ),
        0,
    )
    return render_template(
        "admin/village.html",
        village=village,
        commune=commune,
        households=households,
        communes=province_communes(),
        error=error,
    ), status


@admin_bp.get("/villages/<int:village_id>")
def show_village(village_id: int):
    """One village: rename it or move it to another commune."""
    return _village_page(_village(village_id))


@admin_bp.post("/villages/<int:village_id>/rename")
def rename_village(village_id: int):
    """Rename a village."""
    village = _village(village_id)
    session = get_session()
    try:
        with committing(session):
            villages.rename_village(
                session,
                village_id=village.id,
                name=request.form.get("name", ""),
                province_id=current_scope().province_id,
                by_user=current_user,
            )
    except VillageError as exc:
        return _village_page(_village(village_id), str(exc), 400)
    flash(_("Đã đổi tên thành %(name)s.", name=village.name), "ok")
    return redirect(url_for(".villages_index", commune=village.parent_id), 303)


@admin_bp.post("/villages/<int:village_id>/move")
def move_village(village_id: int):
    """Move a village and its households to another commune."""
    village = _village(village_id)
    session = get_session()
    to_commune_id = parse_id(request.form.get("to_commune_id"))
    try:
        with committing(session):
            if to_commune_id is None:
                raise VillageError(_("Hãy chọn xã, phường nhận thôn này."))
            moved = villages.move_village(
                session,
                village_id=village.id,
                to_commune_id=to_commune_id,
                province_id=current_scope().province_id,
                by_user=current_user,
            )
    except VillageError as exc:
        return _village_page(_village(village_id), str(exc), 400)
    flash(_("Đã chuyển %(name)s cùng %(n)s hộ sang xã mới.", name=village.name, n=moved), "ok")
    return redirect(url_for(".villages_index", commune=to_commune_id), 303)


@admin_bp.post("/villages/merge")
def merge_villages():
    """Merge the ticked villages of a commune into the chosen one."""
    session = get_session()
    commune = _province_commune(parse_id(request.form.get("commune")))
    if commune is None:
        abort(404)
    into_id = parse_id(request.form.get("into_id"))
    from_ids = [i for i in (parse_id(v) for v in request.form.getlist("from_ids")) if i is not None]
    try:
        with committing(session):
            if into_id is None:
                raise VillageError(_("Hãy chọn thôn giữ lại."))
            moved = villages.merge_villages(
                session,
                into_id=into_id,
                from_ids=from_ids,
                province_id=current_scope().province_id,
                by_user=current_user,
            )
    except VillageError as exc:
        rows = villages.villages_of(session, commune_id=commune.id)
        return render_template(
            "admin/villages.html",
            communes=province_communes(),
            commune=commune,
            rows=rows,
            error=str(exc),
        ), 400
    flash(_("Đã gộp thôn; %(n)s hộ đã chuyển sang thôn giữ lại.", n=moved), "ok")
    return redirect(url_for(".villages_index", commune=commune.id), 303)

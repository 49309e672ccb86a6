"""Admins of the provincial office manage users, campaigns and villages (admin role only)."""

from __future__ import annotations

from datetime import date, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from ..db import get_session
from ..models import GeoUnit, User
from ..models.codes import Role, UnitKind
from ..services import accounts, campaigns, villages
from ..services.accounts import AccountError
from ..services.campaigns import CampaignError, CampaignInput
from ..services.villages import VillageError
from .guards import current_scope, parse_id, render_page_or_fragment, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


@bp.before_request
@roles_required("admin")
def _admins_only():
    """Every page here is for admins; others get the Vietnamese 403 page."""
    return None


def _no_store(html: str):
    """Pages that show a temporary password must not stay in any cache."""
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


def _int(value: str | None) -> int | None:
    return parse_id(value)


def _units() -> dict[str, list[GeoUnit]]:
    """The province, its groups and its communes: what a user's scope can be."""
    province_id = current_scope().province_id
    units = (
        get_session()
        .exec(
            select(GeoUnit)
            .where(
                (GeoUnit.id == province_id)
                | ((GeoUnit.province_id == province_id) & (GeoUnit.kind != UnitKind.VILLAGE))
            )
            .order_by(GeoUnit.name)
        )
        .all()
    )
    grouped: dict[str, list[GeoUnit]] = {
        UnitKind.PROVINCE: [],
        UnitKind.GROUP: [],
        UnitKind.COMMUNE: [],
    }
    for unit in units:
        grouped.setdefault(unit.kind, []).append(unit)
    return grouped


def _communes() -> list[GeoUnit]:
    return _units()[UnitKind.COMMUNE]


# ---- users ---------------------------------------------------------------------------------


@bp.get("/users")
def users():
    """The province's users, filtered by role, status and a name."""
    role = request.args.get("role", "")
    role = role if role in set(Role) else ""
    status = request.args.get("status", "")
    active = {"active": True, "inactive": False}.get(status)
    query = request.args.get("q", "")[:80]
    page = max(_int(request.args.get("page")) or 1, 1)
    rows, total = accounts.list_users(
        get_session(),
        province_id=current_scope().province_id,
        role=role or None,
        query=query,
        active=active,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render_page_or_fragment(
        "admin/users.html",
        "admin/_users.html",
        rows=rows,
        total=total,
        page_number=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        filters={"role": role, "status": status, "q": query},
        roles=list(Role),
    )


def _user_form(template: str, status: int = 200, **context):
    return render_template(template, units=_units(), roles=list(Role), **context), status


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a user; the answer shows their temporary password once."""
    form = request.form
    if request.method == "GET":
        return _user_form("admin/user_new.html", form={}, error=None)
    session = get_session()
    scope_unit_id = _int(form.get("scope_unit_id"))
    try:
        if scope_unit_id is None:
            raise AccountError(_("Hãy chọn phạm vi."))
        user, temporary = accounts.register_user(
            session,
            username=form.get("username", ""),
            full_name=form.get("full_name", ""),
            role=form.get("role", ""),
            scope_unit_id=scope_unit_id,
            organization=form.get("organization", ""),
            by_user=current_user,
        )
    except AccountError as exc:
        session.rollback()
        return _user_form("admin/user_new.html", 400, form=form, error=str(exc))
    return _no_store(
        render_template(
            "admin/temporary_password.html", user=user, temporary=temporary, created=True
        )
    )


def _managed(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    unit = get_session().get(GeoUnit, user.scope_unit_id)
    if unit is None or (unit.province_id or unit.id) != current_scope().province_id:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    """Edit a user's name, organization, role, scope and active flag."""
    user = _managed(user_id)
    if request.method == "GET":
        return _user_form("admin/user_edit.html", user=user, error=None)
    session = get_session()
    form = request.form
    scope_unit_id = _int(form.get("scope_unit_id"))
    try:
        if scope_unit_id is None:
            raise AccountError(_("Hãy chọn phạm vi."))
        accounts.update_user(
            session,
            user_id=user.id,
            role=form.get("role", ""),
            scope_unit_id=scope_unit_id,
            full_name=form.get("full_name", ""),
            organization=form.get("organization", ""),
            is_active=form.get("is_active") == "1",
            by_user=current_user,
        )
    except AccountError as exc:
        session.rollback()
        return _user_form("admin/user_edit.html", 400, user=_managed(user_id), error=str(exc))
    flash(_("Đã lưu thông tin người dùng %(name)s.", name=user.username), "ok")
    return redirect(url_for(".edit_user", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int):
    """Lock a user out."""
    user = _managed(user_id)
    session = get_session()
    try:
        accounts.deactivate_user(session, user_id=user.id, by_user=current_user)
    except AccountError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Đã khóa tài khoản %(name)s.", name=user.username), "ok")
    return redirect(url_for(".edit_user", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/reset-password")
def reset_password(user_id: int):
    """Set a temporary password and show it once."""
    user = _managed(user_id)
    session = get_session()
    try:
        temporary = accounts.reset_password(session, user_id=user.id, by_user=current_user)
    except AccountError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".edit_user", user_id=user_id), 303)
    return _no_store(
        render_template(
            "admin/temporary_password.html", user=user, temporary=temporary, created=False
        )
    )


# ---- campaigns -----------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    """A date from the date picker (yyyy-mm-dd) or typed the Vietnamese way (dd/mm/yyyy)."""
    value = (value or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _campaign_input(form) -> CampaignInput:
    weights: dict[str, int] = {}
    for key in campaigns.TUNABLE_WEIGHTS:
        raw = form.get(f"weight_{key}", "").strip()
        if raw == "":
            continue
        try:
            weights[key] = int(raw)
        except ValueError:
            raise CampaignError(_("Trọng số phải là số nguyên.")) from None
    return CampaignInput(
        name=form.get("name", ""),
        starts_on=_date(form.get("starts_on")),
        ends_on=_date(form.get("ends_on")),
        is_active=form.get("is_active") == "1",
        weights=weights,
    )


def _campaign_form(status: int = 200, **context):
    return render_template(
        "admin/campaign_form.html", weight_keys=campaigns.TUNABLE_WEIGHTS, **context
    ), status


@bp.get("/campaigns")
def campaigns_index():
    """The province's campaigns."""
    rows = campaigns.list_campaigns(get_session(), province_id=current_scope().province_id)
    return render_template("admin/campaigns.html", campaigns=rows)


@bp.route("/campaigns/new", methods=["GET", "POST"])
def new_campaign():
    """Create a campaign."""
    defaults = {k: campaigns.DEFAULT_WEIGHTS[k] for k in campaigns.TUNABLE_WEIGHTS}
    if request.method == "GET":
        return _campaign_form(campaign=None, values={"is_active": "1"}, weights=defaults)
    session = get_session()
    try:
        campaign = campaigns.create_campaign(
            session,
            province_id=current_scope().province_id,
            data=_campaign_input(request.form),
            by_user=current_user,
        )
    except CampaignError as exc:
        session.rollback()
        return _campaign_form(400, campaign=None, values=request.form, weights=None, error=str(exc))
    flash(_("Đã tạo chiến dịch %(name)s.", name=campaign.name), "ok")
    return redirect(url_for(".campaigns_index"), 303)


def _campaign(campaign_id: int):
    campaign = campaigns.get_campaign(
        get_session(), campaign_id=campaign_id, province_id=current_scope().province_id
    )
    if campaign is None:
        abort(404)
    return campaign


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
def edit_campaign(campaign_id: int):
    """Edit a campaign's name, dates, active flag and priority weights."""
    campaign = _campaign(campaign_id)
    if request.method == "GET":
        values = {
            "name": campaign.name,
            "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(),
            "is_active": "1" if campaign.is_active else "",
        }
        return _campaign_form(
            campaign=campaign, values=values, weights=campaigns.campaign_weights(campaign)
        )
    session = get_session()
    try:
        campaigns.update_campaign(
            session,
            campaign_id=campaign.id,
            province_id=current_scope().province_id,
            data=_campaign_input(request.form),
            by_user=current_user,
        )
    except CampaignError as exc:
        session.rollback()
        return _campaign_form(
            400, campaign=_campaign(campaign_id), values=request.form, weights=None, error=str(exc)
        )
    flash(_("Đã lưu chiến dịch."), "ok")
    return redirect(url_for(".edit_campaign", campaign_id=campaign_id), 303)


@bp.route("/campaigns/<int:campaign_id>/targets", methods=["GET", "POST"])
def campaign_targets(campaign_id: int):
    """Targets per commune: new participants and renewals."""
    campaign = _campaign(campaign_id)
    session = get_session()
    error = None
    if request.method == "POST":
        targets: dict[int, tuple[int, int]] = {}
        try:
            for commune, _new, _renew in campaigns.commune_targets(session, campaign=campaign):
                raw = (
                    request.form.get(f"new_{commune.id}", "").strip().replace(".", ""),
                    request.form.get(f"renew_{commune.id}", "").strip().replace(".", ""),
                )
                if raw == ("", ""):
                    continue
                if not all(part.isdigit() for part in raw):
                    raise CampaignError(
                        _("Chỉ tiêu của %(name)s phải là số nguyên không âm.", name=commune.name)
                    )
                targets[commune.id] = (int(raw[0]), int(raw[1]))
            changed = campaigns.set_targets(
                session,
                campaign_id=campaign.id,
                province_id=current_scope().province_id,
                targets=targets,
                by_user=current_user,
            )
        except CampaignError as exc:
            session.rollback()
            error = str(exc)
        else:
            flash(_("Đã lưu chỉ tiêu của %(n)s xã, phường.", n=changed), "ok")
            return redirect(url_for(".campaign_targets", campaign_id=campaign_id), 303)
    rows = campaigns.commune_targets(session, campaign=_campaign(campaign_id))
    return render_template(
        "admin/targets.html",
        campaign=campaign,
        rows=rows,
        error=error,
        values=request.form if error else None,
    ), (400 if error else 200)


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


@bp.get("/villages")
def villages_index():
    """Pick a commune; see its villages with their households; merge some of them."""
    commune = _province_commune(_int(request.args.get("commune")))
    rows = villages.villages_of(get_session(), commune_id=commune.id) if commune else []
    return render_template(
        "admin/villages.html", communes=_communes(), commune=commune, rows=rows, error=None
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
        communes=_communes(),
        error=error,
    ), status


@bp.get("/villages/<int:village_id>")
def show_village(village_id: int):
    """One village: rename it or move it to another commune."""
    return _village_page(_village(village_id))


@bp.post("/villages/<int:village_id>/rename")
def rename_village(village_id: int):
    """Rename a village."""
    village = _village(village_id)
    session = get_session()
    try:
        villages.rename_village(
            session,
            village_id=village.id,
            name=request.form.get("name", ""),
            province_id=current_scope().province_id,
            by_user=current_user,
        )
    except VillageError as exc:
        session.rollback()
        return _village_page(_village(village_id), str(exc), 400)
    flash(_("Đã đổi tên thành %(name)s.", name=village.name), "ok")
    return redirect(url_for(".villages_index", commune=village.parent_id), 303)


@bp.post("/villages/<int:village_id>/move")
def move_village(village_id: int):
    """Move a village and its households to another commune."""
    village = _village(village_id)
    session = get_session()
    to_commune_id = _int(request.form.get("to_commune_id"))
    try:
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
        session.rollback()
        return _village_page(_village(village_id), str(exc), 400)
    flash(_("Đã chuyển %(name)s cùng %(n)s hộ sang xã mới.", name=village.name, n=moved), "ok")
    return redirect(url_for(".villages_index", commune=to_commune_id), 303)


@bp.post("/villages/merge")
def merge_villages():
    """Merge the ticked villages of a commune into the chosen one."""
    session = get_session()
    commune = _province_commune(_int(request.form.get("commune")))
    if commune is None:
        abort(404)
    into_id = _int(request.form.get("into_id"))
    from_ids = [i for i in (_int(v) for v in request.form.getlist("from_ids")) if i is not None]
    try:
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
        session.rollback()
        rows = villages.villages_of(session, commune_id=commune.id)
        return render_template(
            "admin/villages.html", communes=_communes(), commune=commune, rows=rows, error=str(exc)
        ), 400
    flash(_("Đã gộp thôn; %(n)s hộ đã chuyển sang thôn giữ lại.", n=moved), "ok")
    return redirect(url_for(".villages_index", commune=commune.id), 303)

"""Targets (chỉ tiêu) per commune and village: a form per unit, or a sheet for many at once."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from outreach.campaigns import service as campaigns
from outreach.campaigns.service import CampaignError, CampaignInput
from outreach.campaigns.targets import (
    OutOfScope,
    TargetError,
    TargetImportError,
    clear_target,
    import_targets,
    set_target,
    targets_for,
)
from outreach.core.formatting import parse_day
from outreach.db import committing, get_session
from outreach.models import Campaign, GeoUnit
from outreach.models.codes import Role, UnitKind
from outreach.web.admin import admin_bp
from outreach.web.guards import (
    audit,
    current_scope,
    parse_id,
    roles_required,
)

bp = Blueprint("targets", __name__)

MAX_UPLOAD = 5 * 1024 * 1024  # a targets sheet is a few hundred rows


def _id(value: str | None) -> int | None:
    return parse_id(value)


def _campaign(wanted: str | None) -> Campaign:
    """The campaign asked for (of the user's province only), else the active one."""
    session, province_id = get_session(), current_scope().province_id
    if wanted:
        campaign = session.get(Campaign, _id(wanted)) if _id(wanted) else None
        if campaign is None or campaign.province_id != province_id:
            abort(404)
        return campaign
    campaign = campaigns.active_campaign(session, province_id=province_id)
    if campaign is None:
        abort(404)
    return campaign


def _page(campaign: Campaign, *, commune_id: int | None, edit=None, status: int = 200, **extra):
    session, scope = get_session(), current_scope()
    try:
        lines = targets_for(session, campaign=campaign, scope=scope, commune_id=commune_id)
    except (OutOfScope, TargetError):
        abort(404)
    commune = lines[0].unit if lines and lines[0].unit.kind == UnitKind.COMMUNE else None
    shows_commune = commune is not None and (
        commune_id is not None or scope.unit_kind == UnitKind.COMMUNE
    )
    context = dict(
        campaign=campaign,
        campaigns=campaigns.list_campaigns(session, province_id=scope.province_id),
        lines=lines,
        commune=commune if shows_commune else None,
        edit=edit,
        edit_line=next((line for line in lines if edit and line.unit.id == edit.id), None),
        wide=scope.unit_kind != UnitKind.COMMUNE,
        error=None,
        errors=[],
        form={},
    )
    context.update(extra)
    return render_template("targets/index.html", **context), status


def _unit(unit_id: int | None, campaign: Campaign) -> GeoUnit:
    unit = get_session().get(GeoUnit, unit_id) if unit_id else None
    if unit is None or unit.province_id != campaign.province_id:
        abort(404)
    if unit.kind not in (UnitKind.COMMUNE, UnitKind.VILLAGE):
        abort(404)
    commune_id = unit.parent_id if unit.kind == UnitKind.VILLAGE else unit.id
    if not current_scope().covers_commune(commune_id):
        abort(404)
    return unit


def _commune_of(unit: GeoUnit) -> int:
    return unit.parent_id if unit.kind == UnitKind.VILLAGE else unit.id


@bp.get("/targets")
@roles_required(Role.LEADER, Role.ADMIN)
def index():
    """The units of the scope with their targets; `unit=` opens the form for one of them."""
    campaign = _campaign(request.args.get("campaign"))
    commune_id, unit_id = _id(request.args.get("commune")), _id(request.args.get("unit"))
    if (request.args.get("commune") and commune_id is None) or (
        request.args.get("unit") and unit_id is None
    ):
        abort(404)  # an id that cannot exist names nothing
    edit = None
    if unit_id:
        edit = _unit(unit_id, campaign)
        commune_id = _commune_of(edit)
    return _page(campaign, commune_id=commune_id, edit=edit)


@bp.post("/targets")
@roles_required(Role.LEADER, Role.ADMIN)
def save():
    """Set (or with "Xoá" remove) one unit's target."""
    session = get_session()
    campaign = _campaign(request.form.get("campaign"))
    unit = _unit(_id(request.form.get("unit_id")), campaign)
    try:
        with committing(session):
            if request.form.get("action") == "clear":
                clear_target(session, campaign=campaign, unit=unit, scope=current_scope())
                detail = {"campaign": campaign.id, "cleared": True}
                message = _("Đã xoá chỉ tiêu riêng của %(name)s.", name=unit.name)
            else:
                target = set_target(
                    session,
                    campaign=campaign,
                    unit=unit,
                    new_participants=request.form.get("new_participants", ""),
                    renewals=request.form.get("renewals", ""),
                    scope=current_scope(),
                )
                detail = {
                    "campaign": campaign.id,
                    "new": target.new_participants,
                    "renewals": target.renewals,
                }
                message = _("Đã lưu chỉ tiêu của %(name)s.", name=unit.name)
    except OutOfScope:
        abort(404)
    except TargetError as error:
        return _page(
            campaign,
            commune_id=_commune_of(unit),
            edit=unit,
            status=400,
            error=str(error),
            form=request.form,
        )
    audit(
        "set_target",
        object_type="geo_unit",
        object_id=unit.id,
        detail=detail,
    )
    flash(message, "ok")
    return redirect(url_for(".index", campaign=campaign.id, commune=_commune_of(unit)))


@bp.post("/targets/upload")
@roles_required(Role.LEADER, Role.ADMIN)
def upload():
    """Set many targets from a sheet: every row is checked first, then all are written or none."""
    session = get_session()
    campaign = _campaign(request.form.get("campaign"))
    file = request.files.get("file")
    data = file.read(MAX_UPLOAD + 1) if file and file.filename else b""
    if not data:
        errors = [_("Chưa chọn tệp chỉ tiêu.")]
    elif len(data) > MAX_UPLOAD:
        errors = [_("Tệp quá lớn (tối đa 5 MB).")]
    else:
        try:
            with committing(session):
                count = import_targets(
                    session,
                    campaign=campaign,
                    data=data,
                    filename=file.filename,
                    scope=current_scope(),
                )
        except TargetImportError as error:
            errors = error.errors
        else:
            audit(
                "import_targets",
                object_type="campaign",
                object_id=campaign.id,
                detail={"filename": file.filename, "rows": count},
            )
            flash(_("Đã nhập %(n)s chỉ tiêu từ tệp %(file)s.", n=count, file=file.filename), "ok")
            return redirect(url_for(".index", campaign=campaign.id))
    return _page(campaign, commune_id=None, status=400, errors=errors)


# ---- campaigns -----------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    """A date typed the Vietnamese way (dd/mm/yyyy), or yyyy-mm-dd; None if it is neither."""
    try:
        return parse_day(value or "")
    except ValueError:
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


@admin_bp.get("/campaigns")
def campaigns_index():
    """The province's campaigns."""
    rows = campaigns.list_campaigns(get_session(), province_id=current_scope().province_id)
    return render_template("admin/campaigns.html", campaigns=rows)


@admin_bp.route("/campaigns/new", methods=["GET", "POST"])
def new_campaign():
    """Create a campaign."""
    defaults = {k: campaigns.DEFAULT_WEIGHTS[k] for k in campaigns.TUNABLE_WEIGHTS}
    if request.method == "GET":
        return _campaign_form(campaign=None, values={"is_active": "1"}, weights=defaults)
    session = get_session()
    try:
        with committing(session):
            campaign = campaigns.create_campaign(
                session,
                province_id=current_scope().province_id,
                data=_campaign_input(request.form),
                by_user=current_user,
            )
    except CampaignError as exc:
        return _campaign_form(400, campaign=None, values=request.form, weights=None, error=str(exc))
    flash(_("Đã tạo chiến dịch %(name)s.", name=campaign.name), "ok")
    return redirect(url_for(".campaigns_index"), 303)


def _managed_campaign(campaign_id: int):
    campaign = campaigns.get_campaign(
        get_session(), campaign_id=campaign_id, province_id=current_scope().province_id
    )
    if campaign is None:
        abort(404)
    return campaign


@admin_bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
def edit_campaign(campaign_id: int):
    """Edit a campaign's name, dates, active flag and priority weights."""
    campaign = _managed_campaign(campaign_id)
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
        with committing(session):
            campaigns.update_campaign(
                session,
                campaign_id=campaign.id,
                province_id=current_scope().province_id,
                data=_campaign_input(request.form),
                by_user=current_user,
            )
    except CampaignError as exc:
        return _campaign_form(
            400,
            campaign=_managed_campaign(campaign_id),
            values=request.form,
            weights=None,
            error=str(exc),
        )
    flash(_("Đã lưu chiến dịch."), "ok")
    return redirect(url_for(".edit_campaign", campaign_id=campaign_id), 303)


@admin_bp.route("/campaigns/<int:campaign_id>/targets", methods=["GET", "POST"])
def campaign_targets(campaign_id: int):
    """Targets per commune: new participants and renewals."""
    campaign = _managed_campaign(campaign_id)
    session = get_session()
    error = None
    if request.method == "POST":
        targets: dict[int, tuple[int, int]] = {}
        try:
            with committing(session):
                for commune, _new, _renew in campaigns.commune_targets(session, campaign=campaign):
                    raw = (
                        request.form.get(f"new_{commune.id}", "").strip().replace(".", ""),
                        request.form.get(f"renew_{commune.id}", "").strip().replace(".", ""),
                    )
                    if raw == ("", ""):
                        continue
                    if not all(part.isdigit() for part in raw):
                        raise CampaignError(
                            _(
                                "Chỉ tiêu của %(name)s phải là số nguyên không âm.",
                                name=commune.name,
                            )
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
            error = str(exc)
        else:
            flash(_("Đã lưu chỉ tiêu của %(n)s xã, phường.", n=changed), "ok")
            return redirect(url_for(".campaign_targets", campaign_id=campaign_id), 303)
    rows = campaigns.commune_targets(session, campaign=_managed_campaign(campaign_id))
    return render_template(
        "admin/targets.html",
        campaign=campaign,
        rows=rows,
        error=error,
        values=request.form if error else None,
    ), (400 if error else 200)

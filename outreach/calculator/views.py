"""The contribution calculator a canvasser shows at the door (brief §6)."""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_percent
from flask import Blueprint, abort, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from outreach.calculator.service import (
    CalculatorError,
    Policy,
    clamp_income,
    contribution,
    parse_day,
    parse_income,
    policy_on,
)
from outreach.core.clock import today_local
from outreach.core.formatting import format_day, format_number
from outreach.core.scope import get_in_scope
from outreach.db import get_session
from outreach.models import GeoUnit, Person
from outreach.models.codes import Role, SupportGroup
from outreach.web.guards import (
    audit,
    current_scope,
    parse_id,
    render_page_or_fragment,
    roles_required,
)

bp = Blueprint("calculator", __name__)

GROUP_LABELS = {
    SupportGroup.POOR: _l("Hộ nghèo"),
    SupportGroup.NEAR_POOR: _l("Hộ cận nghèo"),
    SupportGroup.ETHNIC_MINORITY: _l("Người dân tộc thiểu số"),
    SupportGroup.OTHER: _l("Đối tượng khác"),
}
FREQUENCY_LABELS = {
    1: _l("Hằng tháng"),
    3: _l("3 tháng một lần"),
    6: _l("6 tháng một lần"),
    12: _l("12 tháng một lần"),
}
# When each payment is due (Law 41/2024, Art. 36(2)–(3)): told at the door with the amount.
FREQUENCY_DEADLINES = {
    1: _l("nộp trong tháng"),
    3: _l("nộp trong 3 tháng"),
    6: _l("nộp trong 4 tháng đầu"),
    12: _l("nộp trong 7 tháng đầu"),
}
# Incomes people most often choose; the floor is always offered first.
QUICK_PICKS = (2_000_000, 3_000_000, 5_000_000)


@dataclass
class CalculatorForm:
    """The form's values as text, the way they go back into the inputs."""

    income: str
    group: str
    island: bool
    day: str
    prefilled: bool = False  # a first view: the values come from the person's record


def locale_code() -> str:
    """The locale numbers and dates are written in (Vietnamese unless the user chose English)."""
    return str(get_locale() or "vi")


def percent(value: float) -> str:
    """A policy share as people write it: 22%, or 12,5% for a provincial top-up."""
    return format_percent(value, format="#,##0.##%", locale=locale_code())


def _person(session, scope) -> tuple[Person | None, GeoUnit | None]:
    """The person named by ?person=, only if in the user's scope; anything else is a 404."""
    if "person" not in request.args:
        return None, None
    person_id = parse_id(request.args.get("person"))  # past an INTEGER column: no one
    person = get_in_scope(session, Person, person_id, scope) if person_id else None
    if person is None:
        abort(404)
    return person, session.get(GeoUnit, person.commune_id)


def _form(args: MultiDict, person: Person | None, commune: GeoUnit | None) -> CalculatorForm:
    """Submitted values, or a first view pre-filled from the person (or the defaults)."""
    if "income" in args:
        # A quick-pick button submits its own `income` after the text field's: the last one wins.
        return CalculatorForm(
            income=args.getlist("income")[-1],
            group=args.get("group", SupportGroup.OTHER),
            island="island" in args,
            day=args.get("day", "") or today_local().isoformat(),
        )
    return CalculatorForm(
        income=str(person.income_basis) if person and person.income_basis else "",
        group=(person.support_group if person else None) or SupportGroup.OTHER,
        island=bool(commune and commune.is_island),
        day=args.get("day", "") or today_local().isoformat(),
        prefilled=True,
    )


# Which input an error is about, so that field is marked aria-invalid.
ERROR_FIELDS = {
    "not_a_number": "income",
    "out_of_range": "income",
    "unknown_group": "group",
    "bad_day": "day",
}


def _message(error: CalculatorError) -> str:
    """The error in the user's language (the service's own message is Vietnamese only)."""
    if error.code == "not_a_number":
        return _("Hãy nhập mức thu nhập bằng số, ví dụ 1.500.000")
    if error.code == "out_of_range":
        return _(
            "Mức thu nhập phải từ %(floor)s đến %(ceiling)s đồng/tháng",
            floor=format_number(error.params["floor"], locale_code()),
            ceiling=format_number(error.params["ceiling"], locale_code()),
        )
    if error.code == "unknown_group":
        return _("Hãy chọn một nhóm đối tượng trong danh sách.")
    if error.code == "bad_day":
        return _("Ngày không hợp lệ, hãy chọn lại.")
    if error.code == "missing_policy":
        return _(
            "Chưa có số liệu chính sách áp dụng ngày %(day)s. Hãy báo quản trị viên.",
            day=format_day(error.params["day"], locale_code()),
        )
    return _("Số liệu chính sách của tỉnh đang bị nhập sai. Hãy báo quản trị viên.")


def _quick_picks(policy: Policy | None) -> list[int]:
    if policy is None:
        return list(QUICK_PICKS)
    return [policy.floor, *(v for v in QUICK_PICKS if policy.floor < v <= policy.ceiling)]


def _audit_person(person: Person, *, recalculated: bool) -> None:
    # Every answer for a person shows their record (the page: name and income basis; the result:
    # how often they pay), so each is audited like a view, a recalculation as much as the prefill.
    audit(
        "view_person_calculator",
        object_type="person",
        object_id=person.id,
        detail={"recalculated": True} if recalculated else None,
    )


def _income(form: CalculatorForm, policy: Policy) -> int:
    """The income to compute with: typed ones are checked, a record's is brought within range."""
    if not form.income.strip():
        return policy.floor
    income = parse_income(form.income)
    # A record may predate a higher floor (1/1/2027): show the nearest allowed income, not an error.
    return clamp_income(policy=policy, monthly_income=income) if form.prefilled else income


@bp.get("/calculator")
@roles_required(Role.CANVASSER, Role.LEADER, Role.ADMIN)
def index():
    """The calculator page, or just its result for htmx; 400 with the message on bad input."""
    session = get_session()
    scope = current_scope()
    person, commune = _person(session, scope)
    if person is not None:
        _audit_person(person, recalculated="income" in request.args)
    form = _form(request.args, person, commune)
    policy = result = error = error_field = None
    try:
        policy = policy_on(session, day=parse_day(form.day), province_id=scope.province_id)
        income = _income(form, policy)
        result = contribution(
            policy=policy, monthly_income=income, support_group=form.group, is_island=form.island
        )
        form.income = format_number(income, locale_code())
    except CalculatorError as exc:
        error, error_field = _message(exc), ERROR_FIELDS.get(exc.code)
    page = render_page_or_fragment(
        "calculator/index.html",
        "calculator/_result.html",
        form=form,
        person=person,
        policy=policy,
        result=result,
        error=error,
        error_field=error_field,
        picks=_quick_picks(policy),
        groups=GROUP_LABELS,
        frequencies=FREQUENCY_LABELS,
        deadlines=FREQUENCY_DEADLINES,
        percent=percent,
    )
    return page, 400 if error else 200

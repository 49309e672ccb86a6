"""The voluntary-insurance contribution calculator (brief §6), read from the policy table.

Rules (docs/calculator.md): contribution = rate × chosen monthly income, the income lying between
the income floor (the rural poverty line) and `ceiling_multiple` × base salary. The state supports
a share of the contribution *at the poverty line*, only the single highest share that applies (an
island commune gets the `support_island` share). A province may add a top-up, stored as the rows
`province_top_up_<group>` (or `province_top_up_island`) of that province: a share of the same
contribution at the poverty line, so it follows the poverty line when that changes.

Amounts are whole đồng: each monthly figure is rounded half up once, and a period's amounts are
the monthly ones times its months, so 3 months always cost exactly three monthly payments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session

from outreach.calculator.policy import rate_on
from outreach.core.errors import DomainError
from outreach.core.formatting import format_day, format_number
from outreach.core.formatting import parse_day as parse_typed_day
from outreach.core.i18n import _
from outreach.models.codes import PAYMENT_FREQUENCIES, SupportGroup

ISLAND = "island"
# Support categories in the order ties are broken: the person's own group before the island rate.
SUPPORT_CATEGORIES = (*(g.value for g in SupportGroup), ISLAND)
REQUIRED_KEYS = ("contribution_rate", "income_floor", "base_salary", "ceiling_multiple")
TOP_UP_PREFIX = "province_top_up_"
# Digits with the usual thousands separators a person may type: 1.500.000, 1,500,000, 1 500 000.
_INCOME_RE = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+|\d+")


class CalculatorError(DomainError):
    """Input or policy data the calculator cannot use: `message` to show, `code` stable, `params`."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Figure:
    """One policy figure as it stands on a day, with its legal source."""

    key: str
    value: float
    valid_from: date
    source: str
    is_announced: bool = False


@dataclass(frozen=True)
class Policy:
    """Every figure the calculator needs on one day, national or with a province's own rows."""

    day: date
    province_id: int | None
    rate: Figure
    income_floor: Figure
    base_salary: Figure
    ceiling_multiple: Figure
    support: Mapping[str, Figure]  # by support category: poor, …, other, island
    top_ups: Mapping[str, Figure]  # by support category, only those the province has

    @property
    def floor(self) -> int:
        """The lowest monthly income one may choose (the rural poverty line)."""
        return int(self.income_floor.value)

    @property
    def ceiling(self) -> int:
        """The highest monthly income one may choose: the multiple × the base salary."""
        return int(self.ceiling_multiple.value) * int(self.base_salary.value)

    @property
    def contribution_at_floor(self) -> int:
        """The contribution at the poverty line, the base of every support share."""
        return _round(_dec(self.rate.value) * self.floor)


@dataclass(frozen=True)
class Period:
    """What one payment of a given frequency amounts to."""

    months: int
    contribution: int
    support: int
    payable: int


@dataclass(frozen=True)
class Contribution:
    """The monthly contribution, the support that lowers it and what each payment costs."""

    monthly_income: int
    support_group: str
    is_island: bool
    contribution: int  # per month, before support
    support_figure: Figure | None  # the national share applied (None: no support row)
    state_support: int
    top_up_figure: Figure | None  # the provincial share applied, if any
    top_up: int
    payable: int  # per month, after support
    periods: tuple[Period, ...]

    @property
    def support(self) -> int:
        """State support and provincial top-up together, per month."""
        return self.state_support + self.top_up

    def period(self, months: int) -> Period:
        """The amounts of one payment every `months` months."""
        return next(p for p in self.periods if p.months == months)


def _dec(value: float | int) -> Decimal:
    # Through str so that 0.22 stays 0.22 and not the binary float behind it.
    return Decimal(str(value))


def _round(value: Decimal) -> int:
    """Whole đồng, half up (the way amounts are written on a receipt)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _figure(session: Session, key: str, day: date, province_id: int | None) -> Figure | None:
    row = rate_on(session, key=key, day=day, province_id=province_id)
    if row is None:
        return None
    return Figure(row.key, row.value, row.valid_from, row.source, row.is_announced)


def policy_on(session: Session, *, day: date, province_id: int | None = None) -> Policy:
    """The policy in force on a day; a province's own rows (and its top-ups) when one is given."""
    found = {key: _figure(session, key, day, province_id) for key in REQUIRED_KEYS}
    support = {c: _figure(session, f"support_{c}", day, province_id) for c in SUPPORT_CATEGORIES}
    # Every group needs its share; the island share is optional (it only ever raises support).
    missing = [k for k, f in found.items() if f is None]
    missing += [f"support_{g}" for g in SupportGroup if support[g.value] is None]
    if missing:
        raise CalculatorError(
            "missing_policy",
            _(
                "Chưa có số liệu chính sách áp dụng ngày %(day)s: %(keys)s",
                day=format_day(day),
                keys=", ".join(missing),
            ),
            day=day,
            keys=missing,
        )
    top_ups = {}
    if province_id is not None:
        for category in SUPPORT_CATEGORIES:
            figure = _figure(session, TOP_UP_PREFIX + category, day, province_id)
            if figure is not None:
                _check_share(figure)
                top_ups[category] = figure
    return Policy(
        day=day,
        province_id=province_id,
        rate=found["contribution_rate"],
        income_floor=found["income_floor"],
        base_salary=found["base_salary"],
        ceiling_multiple=found["ceiling_multiple"],
        support={c: f for c, f in support.items() if f is not None},
        top_ups=top_ups,
    )


def _check_share(figure: Figure) -> None:
    # A top-up is a share; an amount in đồng typed into it would silently pay people's dues.
    if not 0 <= figure.value <= 1:
        raise CalculatorError(
            "bad_top_up",
            _("Mức hỗ trợ thêm của tỉnh (%(key)s) phải là tỷ lệ từ 0 đến 1", key=figure.key),
            key=figure.key,
        )


def parse_income(text: str) -> int:
    """A monthly income typed by a person (1.500.000, 1500000, "1 500 000 đ") as whole đồng."""
    cleaned = text.strip().removesuffix("đồng").removesuffix("đ").strip()
    # Letters, a minus sign, decimals or an absurdly long string are all "not a number" here.
    if len(cleaned) > 20 or not _INCOME_RE.fullmatch(cleaned):
        raise CalculatorError(
            "not_a_number",
            _("Hãy nhập mức thu nhập bằng số, ví dụ 1.500.000"),
            text=text,
        )
    return int(re.sub(r"\D", "", cleaned))


def parse_day(text: str) -> date:
    """A day typed day-first (15/11/2026) or yyyy-mm-dd; CalculatorError otherwise."""
    try:
        return parse_typed_day(text)
    except ValueError:
        raise CalculatorError("bad_day", _("Ngày không hợp lệ"), text=text) from None


def clamp_income(*, policy: Policy, monthly_income: int) -> int:
    """The nearest income one may choose: raised to the floor or lowered to the ceiling."""
    return max(policy.floor, min(monthly_income, policy.ceiling))


def _check_income(policy: Policy, monthly_income: int) -> None:
    if not policy.floor <= monthly_income <= policy.ceiling:
        raise CalculatorError(
            "out_of_range",
            _(
                "Mức thu nhập phải từ %(floor)s đến %(ceiling)s đồng/tháng",
                floor=format_number(policy.floor),
                ceiling=format_number(policy.ceiling),
            ),
            floor=policy.floor,
            ceiling=policy.ceiling,
        )


def _categories(support_group: str, is_island: bool) -> tuple[str, ...]:
    if support_group not in {g.value for g in SupportGroup}:
        raise CalculatorError(
            "unknown_group", _("Nhóm đối tượng hỗ trợ không hợp lệ"), group=support_group
        )
    return (support_group, ISLAND) if is_island else (support_group,)


def _highest(figures: Mapping[str, Figure], categories: tuple[str, ...]) -> Figure | None:
    """The single highest share among the categories that apply; ties keep the first."""
    best = None
    for category in categories:
        figure = figures.get(category)
        if figure is not None and (best is None or figure.value > best.value):
            best = figure
    return best


def _share_of(base: Decimal, figure: Figure | None, *, limit: int) -> int:
    """A support share of the contribution at the poverty line, in whole đồng, at most `limit`."""
    return min(_round(base * _dec(figure.value)), limit) if figure else 0


def contribution(
    *, policy: Policy, monthly_income: int, support_group: str, is_island: bool = False
) -> Contribution:
    """What a person pays per month and per payment, after state support and provincial top-up."""
    _check_income(policy, monthly_income)
    categories = _categories(support_group, is_island)
    base = _dec(policy.contribution_at_floor)
    monthly = _round(_dec(policy.rate.value) * monthly_income)
    support_figure = _highest(policy.support, categories)
    top_up_figure = _highest(policy.top_ups, categories)
    state_support = _share_of(base, support_figure, limit=monthly)
    # Support never exceeds the contribution itself: a generous top-up cannot make it negative.
    top_up = _share_of(base, top_up_figure, limit=monthly - state_support)
    payable = monthly - state_support - top_up
    periods = tuple(
        Period(m, contribution=monthly * m, support=(monthly - payable) * m, payable=payable * m)
        for m in PAYMENT_FREQUENCIES
    )
    return Contribution(
        monthly_income=monthly_income,
        support_group=support_group,
        is_island=is_island,
        contribution=monthly,
        support_figure=support_figure,
        state_support=state_support,
        top_up_figure=top_up_figure,
        top_up=top_up,
        payable=payable,
        periods=periods,
    )

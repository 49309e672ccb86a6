"""The contribution calculator against the seeded, effective-dated policy table (brief §6)."""

from datetime import date

import pytest
from sqlmodel import select

from outreach.calculator.service import (
    CalculatorError,
    clamp_income,
    contribution,
    parse_day,
    parse_income,
    policy_on,
)
from outreach.models import GeoUnit, PolicyRate
from outreach.models.codes import PAYMENT_FREQUENCIES, UnitKind

DAY = date(2026, 11, 22)  # the worked example's day


@pytest.fixture
def province(session) -> GeoUnit:
    return session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).first()


def add_top_up(session, province, group: str, share: float, valid_from=date(2026, 1, 1)) -> None:
    session.add(
        PolicyRate(
            key=f"province_top_up_{group}",
            value=share,
            valid_from=valid_from,
            province_id=province.id,
            source="Nghị quyết HĐND tỉnh (thử)",
        )
    )
    session.flush()


def test_worked_example_other_group(session):
    result = contribution(
        policy=policy_on(session, day=DAY), monthly_income=1_500_000, support_group="other"
    )
    assert (result.contribution, result.state_support, result.payable) == (330_000, 66_000, 264_000)
    assert [(p.months, p.payable) for p in result.periods] == [
        (1, 264_000),
        (3, 792_000),
        (6, 1_584_000),
        (12, 3_168_000),
    ]
    assert result.period(12).contribution == 12 * 330_000
    assert result.period(3).support == 3 * 66_000


@pytest.mark.parametrize(
    ("group", "is_island", "support", "payable", "applied_key"),
    [
        ("poor", False, 165_000, 165_000, "support_poor"),
        ("near_poor", False, 132_000, 198_000, "support_near_poor"),
        ("ethnic_minority", False, 99_000, 231_000, "support_ethnic_minority"),
        ("other", False, 66_000, 264_000, "support_other"),
        # Island communes get the poor rate; only the single highest rate applies, never a sum.
        ("other", True, 165_000, 165_000, "support_island"),
        ("ethnic_minority", True, 165_000, 165_000, "support_island"),
        ("near_poor", True, 165_000, 165_000, "support_island"),
        ("poor", True, 165_000, 165_000, "support_poor"),  # a tie keeps the person's own group
    ],
)
def test_support_by_group_at_the_floor(session, group, is_island, support, payable, applied_key):
    result = contribution(
        policy=policy_on(session, day=DAY),
        monthly_income=1_500_000,
        support_group=group,
        is_island=is_island,
    )
    assert (result.state_support, result.top_up, result.payable) == (support, 0, payable)
    assert result.support_figure.key == applied_key
    assert result.support_figure.source == "Nghị định 159/2025/NĐ-CP"
    assert [p.payable for p in result.periods] == [payable * m for m in PAYMENT_FREQUENCIES]


@pytest.mark.parametrize(
    ("income", "group", "contribution_", "payable"),
    [
        # Support is a share of the contribution at the poverty line, whatever income is chosen.
        (2_000_000, "other", 440_000, 374_000),
        (3_000_000, "near_poor", 660_000, 528_000),
        (5_000_000, "poor", 1_100_000, 935_000),
        (50_600_000, "other", 11_132_000, 11_066_000),
    ],
)
def test_support_does_not_grow_with_income(session, income, group, contribution_, payable):
    result = contribution(
        policy=policy_on(session, day=DAY), monthly_income=income, support_group=group
    )
    assert (result.contribution, result.payable) == (contribution_, payable)


@pytest.mark.parametrize(
    ("day", "floor", "base_salary", "ceiling"),
    [
        (date(2026, 6, 30), 1_500_000, 2_340_000, 46_800_000),
        (date(2026, 7, 1), 1_500_000, 2_530_000, 50_600_000),
        (date(2026, 12, 31), 1_500_000, 2_530_000, 50_600_000),
        (date(2027, 1, 1), 2_200_000, 2_530_000, 50_600_000),
    ],
)
def test_figures_change_on_their_dates(session, day, floor, base_salary, ceiling):
    policy = policy_on(session, day=day)
    assert (policy.floor, policy.base_salary.value, policy.ceiling) == (floor, base_salary, ceiling)
    assert policy.rate.value == 0.22 and policy.ceiling_multiple.value == 20
    assert policy.base_salary.valid_from <= day and policy.income_floor.valid_from <= day


def test_announced_figures_carry_their_source(session):
    policy = policy_on(session, day=date(2027, 1, 1))
    assert policy.income_floor.is_announced and policy.income_floor.valid_from == date(2027, 1, 1)
    assert "2026–2030" in policy.income_floor.source
    assert policy.base_salary.is_announced and "3/2026" in policy.base_salary.source
    assert not policy.rate.is_announced and "41/2024" in policy.rate.source


@pytest.mark.parametrize(
    ("group", "support", "payable"),
    [("other", 96_800, 387_200), ("poor", 242_000, 242_000), ("near_poor", 193_600, 290_400)],
)
def test_from_2027_support_follows_the_new_poverty_line(session, group, support, payable):
    result = contribution(
        policy=policy_on(session, day=date(2027, 1, 1)),
        monthly_income=2_200_000,
        support_group=group,
    )
    assert (result.contribution, result.state_support, result.payable) == (
        484_000,
        support,
        payable,
    )


@pytest.mark.parametrize(
    ("day", "income", "ok"),
    [
        (DAY, 1_500_000, True),  # the floor itself
        (DAY, 1_499_999, False),
        (DAY, 50_600_000, True),  # the ceiling itself
        (DAY, 50_600_001, False),
        (date(2026, 6, 30), 46_800_000, True),
        (date(2026, 6, 30), 46_800_001, False),  # the old ceiling the day before the rise
        (date(2026, 7, 1), 50_600_000, True),
        (date(2026, 12, 31), 1_500_000, True),
        (date(2027, 1, 1), 1_500_000, False),  # below the new floor
        (date(2027, 1, 1), 2_199_999, False),
        (date(2027, 1, 1), 2_200_000, True),
        (DAY, 0, False),
        (DAY, -1_500_000, False),
    ],
)
def test_income_between_floor_and_ceiling(session, day, income, ok):
    policy = policy_on(session, day=day)
    if ok:
        assert contribution(policy=policy, monthly_income=income, support_group="other")
        return
    with pytest.raises(CalculatorError) as caught:
        contribution(policy=policy, monthly_income=income, support_group="other")
    assert caught.value.code == "out_of_range"
    assert (caught.value.params["floor"], caught.value.params["ceiling"]) == (
        policy.floor,
        policy.ceiling,
    )


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (DAY, "Mức thu nhập phải từ 1.500.000 đến 50.600.000 đồng/tháng"),
        (date(2026, 6, 30), "Mức thu nhập phải từ 1.500.000 đến 46.800.000 đồng/tháng"),
        (date(2027, 1, 1), "Mức thu nhập phải từ 2.200.000 đến 50.600.000 đồng/tháng"),
    ],
)
def test_out_of_range_message_is_vietnamese(session, day, message):
    with pytest.raises(CalculatorError, match=message):
        contribution(policy=policy_on(session, day=day), monthly_income=1, support_group="other")


@pytest.mark.parametrize(
    ("income", "clamped"),
    [(1_000_000, 1_500_000), (2_000_000, 2_000_000), (99_000_000, 50_600_000)],
)
def test_clamp_income(session, income, clamped):
    assert clamp_income(policy=policy_on(session, day=DAY), monthly_income=income) == clamped


@pytest.mark.parametrize(
    ("income", "monthly"),
    [
        (1_500_002, 330_000),  # 330.000,44 rounds down
        (1_500_003, 330_001),  # 330.000,66 rounds up
        (1_500_025, 330_006),  # exactly 330.005,5: half up (a float product would give 330.005)
    ],
)
def test_rounding_to_whole_dong_half_up(session, income, monthly):
    result = contribution(
        policy=policy_on(session, day=DAY), monthly_income=income, support_group="other"
    )
    assert result.contribution == monthly
    assert result.payable == monthly - 66_000
    assert result.period(12).payable == 12 * result.payable  # periods are whole monthly amounts


def test_before_the_2025_rules_there_is_no_policy(session):
    with pytest.raises(CalculatorError) as caught:
        policy_on(session, day=date(2025, 6, 30))
    assert caught.value.code == "missing_policy"
    assert "contribution_rate" in caught.value.params["keys"]
    assert "30/06/2025" in caught.value.message


def test_unknown_group_is_an_error(session):
    with pytest.raises(CalculatorError) as caught:
        contribution(
            policy=policy_on(session, day=DAY), monthly_income=1_500_000, support_group="rich"
        )
    assert caught.value.code == "unknown_group"


@pytest.mark.parametrize(
    ("group", "is_island", "rows", "top_up", "payable"),
    [
        # A provincial top-up is a share of the contribution at the poverty line (330.000).
        ("poor", False, {"poor": 0.25}, 82_500, 82_500),
        ("other", False, {"poor": 0.25}, 0, 264_000),  # another group's top-up does not apply
        ("other", False, {"other": 0.1}, 33_000, 231_000),
        ("other", True, {"island": 0.1}, 33_000, 132_000),
        # Like the national rate, only the single highest top-up applies.
        ("near_poor", True, {"near_poor": 0.2, "island": 0.05}, 66_000, 99_000),
        # Support never exceeds the contribution: the poor pay nothing, not a negative amount.
        ("poor", False, {"poor": 0.6}, 165_000, 0),
    ],
)
def test_provincial_top_up(session, province, group, is_island, rows, top_up, payable):
    for key, share in rows.items():
        add_top_up(session, province, key, share)
    policy = policy_on(session, day=DAY, province_id=province.id)
    result = contribution(
        policy=policy, monthly_income=1_500_000, support_group=group, is_island=is_island
    )
    assert (result.top_up, result.payable) == (top_up, payable)
    assert result.support == result.state_support + result.top_up
    if top_up:
        assert result.top_up_figure.source == "Nghị quyết HĐND tỉnh (thử)"
        assert result.top_up_figure.valid_from == date(2026, 1, 1)


def test_top_up_only_in_its_province_and_from_its_date(session, province):
    add_top_up(session, province, "other", 0.1, valid_from=date(2027, 1, 1))
    other = GeoUnit(kind=UnitKind.PROVINCE, code="99", name="Tỉnh thử")
    session.add(other)
    session.flush()

    def top_up(day, province_id):
        policy = policy_on(session, day=day, province_id=province_id)
        income = policy.floor
        return contribution(policy=policy, monthly_income=income, support_group="other").top_up

    assert top_up(date(2027, 1, 1), province.id) == 48_400  # 10% × 22% × 2.200.000
    assert top_up(date(2026, 12, 31), province.id) == 0  # not yet in force
    assert top_up(date(2027, 1, 1), other.id) == 0  # another province
    assert top_up(date(2027, 1, 1), None) == 0  # the national policy alone


def test_a_top_up_typed_as_an_amount_is_refused(session, province):
    add_top_up(session, province, "poor", 50_000)
    with pytest.raises(CalculatorError) as caught:
        policy_on(session, day=DAY, province_id=province.id)
    assert caught.value.code == "bad_top_up"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1500000", 1_500_000),
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        (" 2 000 000 ", 2_000_000),
        ("3.000.000 đ", 3_000_000),
        ("5.000.000 đồng", 5_000_000),
    ],
)
def test_parse_income_accepts_vietnamese_writing(text, value):
    assert parse_income(text) == value


@pytest.mark.parametrize(
    "text", ["", "abc", "1tr5", "-1500000", "1.5", "1.500.00", "1500000.50", "9" * 30]
)
def test_parse_income_refuses_anything_else(text):
    with pytest.raises(CalculatorError) as caught:
        parse_income(text)
    assert caught.value.code == "not_a_number"
    assert caught.value.message == "Hãy nhập mức thu nhập bằng số, ví dụ 1.500.000"


def test_parse_day():
    assert parse_day("2027-01-01") == date(2027, 1, 1)
    assert parse_day("31/12/2026") == date(2026, 12, 31)  # day first, as typed in Vietnam
    with pytest.raises(CalculatorError) as caught:
        parse_day("12/31/2026")
    assert caught.value.code == "bad_day"

"""What the demo invents: Vietnamese names, mobile numbers, village names and list facts.

Pure functions of a `random.Random`, so the demo province (demo.py) is the same for the same seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from outreach.core.clock import add_months_end
from outreach.models import GeoUnit
from outreach.models.codes import Outcome, RefusalReason

FAMILY = [
    ("Nguyễn", 38),
    ("Trần", 11),
    ("Lê", 9),
    ("Phạm", 7),
    ("Hoàng", 5),
    ("Vũ", 4),
    ("Đỗ", 4),
    ("Ngô", 3),
    ("Bùi", 3),
    ("Đặng", 2),
    ("Dương", 2),
    ("Đào", 2),
    ("Hà", 2),
    ("Thân", 2),
    ("Giáp", 1),
    ("Lương", 1),
    ("Chu", 1),
    ("Trịnh", 1),
    ("Nông", 1),
    ("La", 1),
]
MIDDLE_M = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Xuân", "Công", "Thanh", "Ngọc", "Đình"]
MIDDLE_F = ["Thị", "Thị", "Thị", "Thu", "Thanh", "Ngọc", "Minh", "Hồng", "Kim", "Phương"]
GIVEN_M = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Hải",
    "Hùng",
    "Huy",
    "Khánh",
    "Long",
    "Mạnh",
    "Nam",
    "Phong",
    "Quân",
    "Sơn",
    "Tài",
    "Thắng",
    "Thành",
    "Trung",
    "Tuấn",
    "Việt",
    "Vinh",
]
GIVEN_F = [
    "Anh",
    "Chi",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hoa",
    "Hương",
    "Lan",
    "Liên",
    "Linh",
    "Mai",
    "Nga",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phương",
    "Thảo",
    "Trang",
    "Vân",
    "Yến",
]
VILLAGE_RURAL = [
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Trung",
    "Thượng",
    "Hạ",
    "Chùa",
    "Đình",
    "Giếng",
    "Cầu",
    "Mới",
    "Hòa",
    "An",
    "Phú",
    "Lạc",
    "Tân",
    "Yên",
    "Bến",
    "Đồng",
]
# Mobile prefixes in use since the 2018 renumbering (Viettel, MobiFone, VinaPhone, Vietnamobile, Gmobile).
MOBILE_PREFIXES = [
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "38",
    "39",
    "86",
    "96",
    "97",
    "98",
    "70",
    "76",
    "77",
    "78",
    "79",
    "90",
    "93",
    "81",
    "82",
    "83",
    "84",
    "85",
    "88",
    "91",
    "94",
    "56",
    "58",
    "59",
]

OUTCOME_WEIGHTS = [
    (Outcome.NOT_HOME, 24),
    (Outcome.CONSIDERING, 20),
    (Outcome.PROMISED, 14),
    (Outcome.REFUSED, 14),
    (Outcome.RENEWED, 11),
    (Outcome.ENROLLED_NEW, 9),
    (Outcome.ALREADY_COVERED, 3),
    (Outcome.MOVED, 2),
    (Outcome.WRONG_INFO, 2),
    (Outcome.DECEASED, 1),
]
REFUSALS = [
    (RefusalReason.NO_MONEY, 40),
    (RefusalReason.DISTRUST, 18),
    (RefusalReason.ALREADY_COMPULSORY, 8),
    (RefusalReason.WANTS_WITHDRAWAL, 14),
    (RefusalReason.TOO_OLD, 12),
    (RefusalReason.OTHER, 8),
]


def weighted(rng: random.Random, pairs):
    """One value drawn from (value, weight) pairs."""
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def invented_name(rng: random.Random, sex: str, family: str | None = None) -> str:
    """A plausible Vietnamese full name: family, middle and given name for the sex."""
    family = family or weighted(rng, FAMILY)
    if sex == "male":
        return f"{family} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
    return f"{family} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"


def mobile(rng: random.Random) -> str:
    """A mobile number in E.164 with a prefix in use since the 2018 renumbering."""
    return f"+84{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"


def village_names(commune: GeoUnit, count: int) -> list[tuple[str, str]]:
    """(type, name) of villages: residential groups in wards, thôn elsewhere."""
    if commune.type_name == "Phường":
        return [("Tổ dân phố", f"Tổ dân phố số {i}") for i in range(1, count + 1)]
    return [
        (
            "Thôn",
            f"Thôn {VILLAGE_RURAL[i % len(VILLAGE_RURAL)]}"
            + (f" {i // len(VILLAGE_RURAL) + 1}" if i >= len(VILLAGE_RURAL) else ""),
        )
        for i in range(count)
    ]


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    """Split persons over communes unevenly (wards are denser), summing exactly to `total`."""
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return counts


def person_facts(rng: random.Random, today: date) -> dict:
    """List facts for one person: every category of brief §5 appears in proportion."""
    kind = rng.choices(["participant", "benefit", "reserved", "potential"], [36, 14, 10, 40])[0]
    facts = {
        "is_participant": False,
        "paid_through": None,
        "payment_frequency": None,
        "income_basis": None,
        "benefit_start": None,
        "benefit_end": None,
        "reserved_months": None,
        "is_potential": False,
    }
    if kind == "participant":
        frequency = rng.choices([1, 3, 6, 12], [30, 30, 20, 20])[0]
        # Paid through somewhere from 10 months ago (lapsed for most frequencies) to 11 months ahead.
        facts.update(
            is_participant=True,
            payment_frequency=frequency,
            paid_through=add_months_end(today, rng.randint(-10, 11)),
            income_basis=rng.choice([1_500_000, 1_500_000, 2_000_000, 3_000_000, 5_000_000]),
        )
    elif kind == "benefit":
        months = rng.randint(3, 12)
        end = today + timedelta(days=rng.randint(-20, 200))
        facts.update(benefit_end=end, benefit_start=end - timedelta(days=30 * months))
    elif kind == "reserved":
        facts.update(reserved_months=rng.randint(12, 240))
    else:
        facts.update(is_potential=True)
    return facts


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count with this mean."""
    # Knuth's method is fine for the small means used here (a few visits per household).
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1

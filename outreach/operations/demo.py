"""A realistic, deterministic demo province: the new Bắc Ninh (code 24) with its 99 communes.

Everything derives from `random.Random(seed)` and `today`, so the same arguments give the same
database. Rows are generated commune by commune with ids assigned here and written in bulk, which
keeps memory flat and lets `--persons 1000000` finish in minutes.

The demo holds the rules `record_visit` enforces (docs/figures.md): a person is a new participant
at most once in the campaign and never while their paid-through month covers the visit's day
(`_one_enrollment`), and every receipt number is the province's only one.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from outreach.accounts.passwords import hash_password
from outreach.calculator.policy import seed_policy_rates
from outreach.core.bulk import bulk_insert, next_id, reset_sequence
from outreach.core.clock import VIETNAM
from outreach.core.errors import DomainError
from outreach.core.text import compact_key, fold
from outreach.geography.service import load_province
from outreach.models import Campaign, GeoUnit, Household, Person, Target, User, Visit, VisitOutcome
from outreach.models.codes import Channel, Outcome, Role, SupportGroup, UnitKind
from outreach.operations.demo_data import (
    FAMILY,
    OUTCOME_WEIGHTS,
    REFUSALS,
    invented_name,
    mobile,
    person_facts,
    poisson,
    split,
    village_names,
    weighted,
)
from outreach.tallies.service import rebuild_tallies

DEMO_PASSWORD = "Demo@2026"
PROVINCE_CODE = "24"

HOUSEHOLD_COLS = (
    "id",
    "province_id",
    "commune_id",
    "village_id",
    "code",
    "address",
    "address_key",
    "head_name",
    "phone",
    "latitude",
    "longitude",
    "assigned_canvasser_id",
    "last_visit_at",
    "created_at",
    "updated_at",
)
PERSON_COLS = (
    "id",
    "household_id",
    "province_id",
    "commune_id",
    "full_name",
    "name_key",
    "date_of_birth",
    "sex",
    "bhxh_number",
    "citizen_id",
    "citizen_id_is_legacy",
    "phone",
    "support_group",
    "is_participant",
    "paid_through",
    "payment_frequency",
    "income_basis",
    "benefit_start",
    "benefit_end",
    "reserved_months",
    "is_potential",
    "created_at",
    "updated_at",
)
VISIT_COLS = (
    "id",
    "client_uuid",
    "household_id",
    "canvasser_id",
    "province_id",
    "commune_id",
    "village_id",
    "visited_at",
    "received_at",
    "channel",
    "latitude",
    "longitude",
    "accuracy_m",
    "note",
    "out_of_scope",
    "review_status",
    "review_comment",
)
OUTCOME_COLS = (
    "id",
    "visit_id",
    "person_id",
    "province_id",
    "commune_id",
    "village_id",
    "visited_at",
    "outcome",
    "follow_up_on",
    "amount",
    "months_paid",
    "receipt_number",
    "refusal_reason",
    "created_at",
)


class DemoError(DomainError):
    """The demo cannot be built (for example, the database already holds data)."""


@dataclass(frozen=True)
class DemoLogin:
    """A demo account to print for the person trying the app."""

    username: str
    role: str
    description: str


@dataclass
class DemoReport:
    """What the demo built and how long it took."""

    persons: int = 0
    households: int = 0
    villages: int = 0
    visits: int = 0
    outcomes: int = 0
    users: int = 0
    seconds: float = 0.0
    logins: list[DemoLogin] = field(default_factory=list)


def database_is_empty(session: Session) -> bool:
    """True when there are no users and no households yet (make run loads the demo only then)."""
    users = session.exec(select(func.count()).select_from(User)).one()
    households = session.exec(select(func.count()).select_from(Household)).one()
    return users == 0 and households == 0


def build_demo(
    session: Session,
    *,
    persons: int = 5000,
    seed: int = 1,
    today: date,
    visits_per_person: float = 2.0,
    progress: Callable[[str], None] | None = None,
    province_code: str = PROVINCE_CODE,
    beside_others: bool = False,
) -> DemoReport:
    """Build the demo province (Bắc Ninh, or any province of the official list) into an empty
    database and commit it.

    With `beside_others`, the database may already hold other demo provinces (a country-scale
    benchmark): only this province must have no households yet, and its province-wide accounts
    take the province code as a suffix (`admin.01`), since `admin` belongs to the first one.
    Give each province its own seed: visits' client UUIDs come from the seed."""
    if persons < 200:
        raise DemoError("Cần ít nhất 200 người để có đủ mọi loại danh sách.")
    if persons > 1_000_000:
        raise DemoError("Dữ liệu mẫu tối đa 1.000.000 người (số CCCD mẫu là duy nhất đến mức đó).")
    if beside_others:
        _refuse_if_loaded(session, province_code)
    elif not database_is_empty(session):
        raise DemoError("Cơ sở dữ liệu đã có dữ liệu; dữ liệu mẫu chỉ nạp vào cơ sở dữ liệu trống.")
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    rng = random.Random(seed)
    report = DemoReport()

    province = load_province(session, province_code=province_code, with_old_districts=True)
    seed_policy_rates(session)
    communes = sorted(
        session.exec(
            select(GeoUnit).where(
                GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.province_id == province.id
            )
        ).all(),
        key=lambda u: u.code,
    )
    centers = _commune_centers(province_code)

    # Villages: ~20 per commune at province scale (2,000 for 1,000,000 persons), at least 3.
    per_commune = max(3, min(20, persons // 5000))
    villages: dict[int, list[GeoUnit]] = {}
    for commune in communes:
        villages[commune.id] = []
        for n, (type_name, name) in enumerate(village_names(commune, per_commune), start=1):
            unit = GeoUnit(
                kind=UnitKind.VILLAGE,
                code=f"{commune.code}-{n:02d}",
                name=name,
                type_name=type_name,
                name_key=compact_key(name.removeprefix(type_name)),
                parent_id=commune.id,
                province_id=province.id,
            )
            session.add(unit)
            villages[commune.id].append(unit)
    session.flush()
    report.villages = per_commune * len(communes)

    suffix = f".{province_code}" if beside_others else ""
    users = _create_users(session, rng, province, communes, persons, suffix=suffix)
    report.users = len(users["all"])
    campaign = _create_campaign(session, province, today)
    session.commit()
    say(f"geography and {report.users} users ready")

    conn = session.connection()
    ids = {
        "household": next_id(conn, Household.__table__),
        "person": next_id(conn, Person.__table__),
        "visit": next_id(conn, Visit.__table__),
        "outcome": next_id(conn, VisitOutcome.__table__),
    }
    campaign_start = date(today.year, 7, 1) if today.month >= 7 else date(today.year, 1, 1)
    share = split(persons, len(communes), rng)
    _create_targets(
        session, campaign, province, list(zip(communes, share, strict=True)), visits_per_person
    )
    for index, (commune, count) in enumerate(zip(communes, share, strict=True)):
        built = _build_commune(
            rng,
            province.id,
            commune,
            villages[commune.id],
            users["canvassers"][commune.id],
            count,
            ids,
            today,
            campaign_start,
            visits_per_person,
            centers.get(commune.code),
            province_code=province_code,
        )
        bulk_insert(conn, Household.__table__, HOUSEHOLD_COLS, built["households"])
        bulk_insert(conn, Person.__table__, PERSON_COLS, built["persons"])
        bulk_insert(conn, Visit.__table__, VISIT_COLS, built["visits"])
        bulk_insert(conn, VisitOutcome.__table__, OUTCOME_COLS, built["outcomes"])
        report.households += len(built["households"])
        report.persons += len(built["persons"])
        report.visits += len(built["visits"])
        report.outcomes += len(built["outcomes"])
        if (index + 1) % 10 == 0:
            say(f"{index + 1}/{len(communes)} communes, {report.persons:,} persons")
    for table in (Household, Person, Visit, VisitOutcome, GeoUnit, User):
        reset_sequence(conn, table.__table__)
    say("tallying the visits")
    rebuild_tallies(session, province_id=province.id)
    session.commit()
    _analyze(session)
    report.logins = demo_logins(session)
    report.seconds = time.perf_counter() - started
    return report


def demo_logins(session: Session) -> list[DemoLogin]:
    """The demo accounts worth trying, one per role and scope level, if they exist."""
    first_commune = session.exec(
        select(GeoUnit.code).where(GeoUnit.kind == UnitKind.COMMUNE).order_by(GeoUnit.code)
    ).first()
    wanted = [
        "admin",
        "lanhdao.tinh",
        "lanhdao.cum",
        f"lanhdao.{first_commune}",
        f"canbo.{first_commune}.1",
        f"canbo.{first_commune}.2",
        "baochi",
    ]
    users = {u.username: u for u in session.exec(select(User).where(User.username.in_(wanted)))}
    logins = []
    for username in wanted:
        if (user := users.get(username)) is not None:
            scope = session.get(GeoUnit, user.scope_unit_id)
            logins.append(DemoLogin(username, user.role, f"{user.organization} · {scope.name}"))
    return logins


def _commune_centers(province_code: str) -> dict[str, tuple[float, float]]:
    from outreach.geography.service import official_communes

    return {
        c.code: (c.latitude or 21.2, c.longitude or 106.1) for c in official_communes(province_code)
    }


def _refuse_if_loaded(session: Session, province_code: str) -> None:
    """A province is built once: refuse when it already has households."""
    loaded = session.exec(
        select(Household.id)
        .join(GeoUnit, GeoUnit.id == Household.province_id)
        .where(GeoUnit.code == province_code, GeoUnit.kind == UnitKind.PROVINCE)
        .limit(1)
    ).first()
    if loaded is not None:
        raise DemoError(f"Tỉnh mã {province_code} đã có dữ liệu mẫu.")


def _create_users(session, rng, province, communes, persons, *, suffix: str = "") -> dict:
    # One hash for every demo account: hashing 1,500 passwords one by one adds a minute.
    shared_hash = hash_password(DEMO_PASSWORD)
    created: list[User] = []
    canvassers: dict[int, list[User]] = {}

    def add(username, full_name, role, unit, organization):
        user = User(
            username=username,
            full_name=full_name,
            password_hash=shared_hash,
            role=role,
            scope_unit_id=unit.id,
            organization=organization,
            phone=mobile(rng),
        )
        session.add(user)
        created.append(user)
        return user

    # "Tỉnh Bắc Ninh" -> "tỉnh Bắc Ninh", "Thành phố Hà Nội" -> "thành phố Hà Nội" (as in
    # "BHXH tỉnh Bắc Ninh", "BHXH thành phố Hà Nội"); the media's name takes the bare name.
    level = province.name[:1].lower() + province.name[1:]
    short = province.name.removeprefix("Tỉnh ").removeprefix("Thành phố ")
    org = f"Báo và Phát thanh, Truyền hình {short}"
    add(f"admin{suffix}", "Nguyễn Thị Thu Hà", Role.ADMIN, province, f"BHXH {level}")
    add(f"baochi{suffix}", "Trần Minh Đức", Role.MEDIA, province, org)
    add(f"lanhdao.tinh{suffix}", "Lê Văn Thắng", Role.LEADER, province, f"Ban chỉ đạo {level}")
    group = session.exec(
        select(GeoUnit)
        .where(GeoUnit.kind == UnitKind.GROUP, GeoUnit.province_id == province.id)
        .order_by(GeoUnit.code)
    ).first()
    if group is not None:
        add(
            f"lanhdao.cum{suffix}",
            "Phạm Quang Huy",
            Role.LEADER,
            group,
            f"Tổ công tác {group.name} (cũ)",
        )
    # About 1,500 canvassers for 1,000,000 persons; at least two per commune.
    per_commune = max(2, round(persons / 667 / len(communes)))
    for commune in communes:
        add(
            f"lanhdao.{commune.code}",
            invented_name(rng, rng.choice(["male", "female"])),
            Role.LEADER,
            commune,
            f"UBND {commune.name}",
        )
        canvassers[commune.id] = []
        for n in range(1, per_commune + 1):
            org = f"Bưu điện {commune.name}" if n % 2 else f"UBND {commune.name}"
            canvassers[commune.id].append(
                add(
                    f"canbo.{commune.code}.{n}",
                    invented_name(rng, rng.choice(["male", "female"])),
                    Role.CANVASSER,
                    commune,
                    org,
                )
            )
    session.flush()
    return {"all": created, "canvassers": canvassers}


def _create_campaign(session, province, today: date) -> Campaign:
    year = today.year
    starts = date(year, 7, 1) if today.month >= 7 else date(year, 1, 1)
    ends = date(year, 12, 31) if today.month >= 7 else date(year, 6, 30)
    campaign = Campaign(
        province_id=province.id,
        name=f"Vận động BHXH tự nguyện {year}",
        starts_on=starts,
        ends_on=ends,
        priority_weights=json.dumps({}),
    )
    session.add(campaign)
    session.flush()
    return campaign


def _create_targets(session, campaign, province, persons_of: list, visits_per_person: float):
    """Targets near what the demo's visits will reach, some communes ahead and some behind."""
    weights = dict(OUTCOME_WEIGHTS)
    per_outcome = visits_per_person * 1.3 / sum(weights.values())  # ~1.3 persons met a visit
    total_new = total_renew = 0
    for commune, count in persons_of:
        # A fixed spread by commune code (not the random stream, so the demo data stay the same).
        ambition = 0.8 + (int(commune.code) * 37 % 70) / 100
        new = max(1, round(count * per_outcome * weights[Outcome.ENROLLED_NEW] * ambition))
        renew = max(1, round(count * per_outcome * weights[Outcome.RENEWED] * ambition))
        total_new, total_renew = total_new + new, total_renew + renew
        session.add(
            Target(
                campaign_id=campaign.id, unit_id=commune.id, new_participants=new, renewals=renew
            )
        )
    session.add(
        Target(
            campaign_id=campaign.id,
            unit_id=province.id,
            new_participants=total_new,
            renewals=total_renew,
        )
    )


def _build_commune(
    rng,
    province_id,
    commune,
    villages,
    canvassers,
    count,
    ids,
    today,
    campaign_start,
    visits_per_person,
    center,
    *,
    province_code: str,
) -> dict:
    now = datetime(today.year, today.month, today.day, 1, 0, tzinfo=UTC)
    lat0, lon0 = center or (21.2, 106.1)
    households, persons, visits, outcomes = [], [], [], []
    remaining = count
    house_no = 0
    while remaining > 0:
        size = min(remaining, rng.choices([1, 2, 3, 4, 5], [15, 30, 25, 20, 10])[0])
        remaining -= size
        house_no += 1
        village_index = rng.randrange(len(villages))
        village = villages[village_index]
        hid = ids["household"]
        ids["household"] += 1
        family = weighted(rng, FAMILY)
        head_sex = rng.choice(["male", "female"])
        head = invented_name(rng, head_sex, family)
        address = f"Số {house_no}, {village.name}"
        phone = mobile(rng) if rng.random() < 0.8 else None
        lat = round(lat0 + rng.uniform(-0.03, 0.03), 6) if rng.random() < 0.6 else None
        lon = round(lon0 + rng.uniform(-0.03, 0.03), 6) if lat is not None else None
        canvasser = canvassers[village_index % len(canvassers)]
        members = []
        paid_through: dict[int, date | None] = {}
        for m in range(size):
            pid = ids["person"]
            ids["person"] += 1
            sex = head_sex if m == 0 else rng.choice(["male", "female"])
            name = (
                head if m == 0 else invented_name(rng, sex, family if rng.random() < 0.6 else None)
            )
            born = date(rng.randint(1966, 2006), rng.randint(1, 12), rng.randint(1, 28))
            legacy_id = rng.random() < 0.02
            century = 0 if born.year < 2000 else 2
            sex_digit = century + (0 if sex == "male" else 1)
            citizen = (
                f"12{pid * 7919 % 10**7:07d}"
                if legacy_id
                else f"0{province_code}{sex_digit}{born.year % 100:02d}{pid * 7919 % 10**6:06d}"
            )
            facts = person_facts(rng, today)
            has_bhxh = facts["is_participant"] or facts["reserved_months"] or rng.random() < 0.3
            persons.append(
                (
                    pid,
                    hid,
                    province_id,
                    commune.id,
                    name,
                    fold(name),
                    born,
                    sex,
                    f"{province_code}{pid * 7919 % 10**8:08d}" if has_bhxh else None,
                    citizen,
                    legacy_id,
                    phone if m == 0 else (mobile(rng) if rng.random() < 0.5 else None),
                    rng.choices(list(SupportGroup), [5, 7, 8, 80])[0],
                    facts["is_participant"],
                    facts["paid_through"],
                    facts["payment_frequency"],
                    facts["income_basis"],
                    facts["benefit_start"],
                    facts["benefit_end"],
                    facts["reserved_months"],
                    facts["is_potential"],
                    now,
                    now,
                )
            )
            members.append(pid)
            paid_through[pid] = facts["paid_through"]
        last_visit = None
        household_outcomes = len(outcomes)
        n_visits = poisson(rng, visits_per_person * size)
        span_days = max((today - campaign_start).days, 1)
        for _ in range(n_visits):
            vid = ids["visit"]
            ids["visit"] += 1
            at = datetime.combine(campaign_start, datetime.min.time(), tzinfo=UTC) + timedelta(
                days=rng.randrange(span_days), hours=rng.randint(1, 11), minutes=rng.randrange(60)
            )
            last_visit = max(last_visit, at) if last_visit else at
            channel = rng.choices(list(Channel), [70, 25, 5])[0]
            has_gps = channel == Channel.HOME and lat is not None and rng.random() < 0.7
            visits.append(
                (
                    vid,
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    hid,
                    (rng.choice(canvassers) if rng.random() < 0.1 else canvasser).id,
                    province_id,
                    commune.id,
                    village.id,
                    at,
                    at + timedelta(minutes=rng.randint(0, 600)),
                    channel,
                    round(lat + rng.uniform(-0.0005, 0.0005), 6) if has_gps else None,
                    round(lon + rng.uniform(-0.0005, 0.0005), 6) if has_gps else None,
                    round(rng.uniform(5, 60), 1) if has_gps else None,
                    "",
                    False,
                    "none",
                    "",
                )
            )
            met = rng.sample(members, k=min(len(members), rng.choice([1, 1, 2])))
            for person_id in met:
                outcomes.append(
                    _outcome_row(
                        rng, ids, vid, person_id, (province_id, commune.id, village.id), at
                    )
                )
        outcomes[household_outcomes:] = _one_enrollment(outcomes[household_outcomes:], paid_through)
        households.append(
            (
                hid,
                province_id,
                commune.id,
                village.id,
                f"HGD{commune.code}{house_no:05d}" if rng.random() < 0.7 else None,
                address,
                compact_key(f"{address} {head}"),
                head,
                phone,
                lat,
                lon,
                canvasser.id,
                last_visit,
                now,
                now,
            )
        )
    return {"households": households, "persons": persons, "visits": visits, "outcomes": outcomes}


def _outcome_row(rng, ids, visit_id, person_id, place: tuple, at: datetime) -> tuple:
    oid = ids["outcome"]
    ids["outcome"] += 1
    outcome = weighted(rng, OUTCOME_WEIGHTS)
    follow_up = amount = months = receipt = reason = None
    if outcome in (Outcome.PROMISED, Outcome.CONSIDERING):
        follow_up = at.date() + timedelta(days=rng.randint(1, 30))
        if outcome == Outcome.PROMISED and rng.random() < 0.6:
            amount = 330_000 * rng.choice([1, 3, 6, 12])
    elif outcome in (Outcome.ENROLLED_NEW, Outcome.RENEWED):
        months = rng.choice([1, 3, 6, 12])
        amount = 330_000 * months
        if rng.random() < 0.5:
            # Numbered by the outcome, so no receipt is recorded twice. The random number it
            # once was is still drawn, so the same seed keeps giving the same province.
            rng.randrange(10**8)
            receipt = f"BL{oid:08d}"
    elif outcome == Outcome.REFUSED:
        reason = weighted(rng, REFUSALS)
    return (
        oid,
        visit_id,
        person_id,
        *place,  # province, commune, village
        at,
        outcome,
        follow_up,
        amount,
        months,
        receipt,
        reason,
        at,
    )


# Where an outcome row (OUTCOME_COLS) keeps its person, time and code.
_PERSON, _AT, _OUTCOME = (OUTCOME_COLS.index(c) for c in ("person_id", "visited_at", "outcome"))


def _one_enrollment(rows: list[tuple], paid_through: dict[int, date | None]) -> list[tuple]:
    """One household's outcome rows (all within the campaign), with "enrolled_new" kept only
    where the rule allows it: a person's first one in time, on a day their paid-through month
    does not cover. Any other is what it would really be: a renewal (a payment by a participant).
    """
    enrolled: set[int] = set()
    out = list(rows)
    for index in sorted(range(len(out)), key=lambda i: (out[i][_AT], out[i][0])):
        row = out[index]
        if row[_OUTCOME] != Outcome.ENROLLED_NEW:
            continue
        person = row[_PERSON]
        covered = paid_through.get(person)
        day = row[_AT].astimezone(VIETNAM).date()
        if person in enrolled or (covered is not None and covered >= day):
            out[index] = (*row[:_OUTCOME], Outcome.RENEWED, *row[_OUTCOME + 1 :])
        else:
            enrolled.add(person)
    return out


def _analyze(session: Session) -> None:
    """Refresh planner statistics after a bulk load so the first queries use the indexes."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        for table in SQLModel.metadata.sorted_tables:
            conn.exec_driver_sql(f"ANALYZE {table.name}")
    else:
        conn.exec_driver_sql("ANALYZE")
    session.commit()

"""The security suite's world: the demo province plus the objects every route can be asked about.

The demo has one province, one campaign and no summaries or import batches, so a province-wide
user has nothing "out of scope" to be refused. `world` adds, once per run, a second province with
a commune, village, household, person, visit, canvasser, campaign, published summary and import
batch, and in the demo province a published summary, a draft and an import batch. Tests get apps
on copies of that database: one shared per module for requests that write nothing, and (in the
matrix) one per role for the requests that do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlmodel import Session, select

from outreach import create_app
from outreach.accounts.passwords import hash_password
from outreach.core import files as store
from outreach.core.periods import period_from_key
from outreach.db import make_engine
from outreach.models import (
    BackgroundJob,
    Campaign,
    FollowedUnit,
    GeoUnit,
    Household,
    ImportBatch,
    Person,
    Summary,
    User,
    Visit,
)
from outreach.models.codes import BatchStatus, Role, SummaryStatus, UnitKind
from outreach.operations.demo import DEMO_PASSWORD
from outreach.summaries.service import draft_summary, publish_summary
from tests.conftest import CSRF_RE, DEMO_TODAY, PG_ADMIN_URL, _counter, _pg_admin, _pg_url

from .authz_matrix import (
    ANON,
    GROUP_LEADER,
    LOCAL,
    MEMBER,
    NATIONAL_ADMIN,
    NATIONAL_LEADER,
    NATIONAL_MEDIA,
    USERNAMES,
    Objects,
)

PUBLISHED_KEY = "2026-11-15"  # the summary published in the demo province
DRAFT_KEY = "2026-11-30"  # the period whose draft an admin may publish
FAKE_PDF = b"%PDF-1.4\n% security suite\n"


@dataclass(frozen=True)
class Area:
    """The objects of one commune: what a role may (or may not) reach there."""

    commune: int
    village: int
    other_village: int
    household: int
    person: int
    visit: int
    canvasser: int
    other_canvasser: int


@dataclass(frozen=True)
class World:
    """Ids of the objects the matrix asks about, by area, and the database they live in."""

    url: str
    home: Area  # Phường Bắc Giang (07210): canbo.07210.1 and lanhdao.07210 work here
    group: Area  # a commune of lanhdao.cum's group, outside 07210
    foreign: Area  # a commune of a second province nobody of the demo may see
    campaign: int
    foreign_campaign: int
    summary: int  # published, demo province
    draft: int  # draft, demo province
    foreign_summary: int  # published, second province
    batch: int
    foreign_batch: int
    export: int  # the admin's audit-log export, written
    foreign_export: int  # another admin's

    def objects(self, role: str, which: str) -> Objects:
        """The objects a request by `role` names: in its scope ("in"), or just outside ("out").

        Commune-scoped roles step out into a neighbouring commune of the same province (so the
        campaign, summaries and batches stay theirs); province-wide roles into the second province.
        """
        local = role in LOCAL
        inside = which == "in"
        if role == GROUP_LEADER:
            area = self.group if inside else self.home
        elif local or inside:
            area = self.home if inside else self.group
        else:
            area = self.foreign
        province = inside or local
        return Objects(
            commune=area.commune,
            other_commune=(self.group if area is self.home else self.home).commune,
            village=area.village,
            other_village=area.other_village,
            household=area.household,
            person=area.person,
            visit=area.visit,
            canvasser=area.canvasser,
            other_canvasser=area.other_canvasser,
            campaign=self.campaign if province else self.foreign_campaign,
            summary=self.summary if province else self.foreign_summary,
            draft=self.draft if province else self.foreign_summary,
            batch=self.batch if province else self.foreign_batch,
            export=self.export if inside else self.foreign_export,
            period_key=PUBLISHED_KEY,
            draft_key=DRAFT_KEY,
            home_commune=self.home.commune,
        )


def _first(session: Session, stmt) -> int:
    value = session.exec(stmt.limit(1)).first()
    assert value is not None, f"the demo has no row for {stmt}"
    return value


def _area(session: Session, commune_id: int) -> Area:
    """The lowest-id objects of a demo commune (deterministic for a given demo seed)."""
    canvassers = session.exec(
        select(User.id)
        .where(User.scope_unit_id == commune_id, User.role == Role.CANVASSER)
        .order_by(User.id.desc())  # the highest first: canbo.07210.1 itself is not a target
    ).all()
    household = session.exec(
        select(Household)
        .join(Person, Person.household_id == Household.id)
        .where(Household.commune_id == commune_id, Household.village_id.is_not(None))
        .order_by(Household.id)
        .limit(1)
    ).one()
    return Area(
        commune=commune_id,
        village=household.village_id,
        other_village=_first(
            session,
            select(GeoUnit.id)
            .where(
                GeoUnit.parent_id == commune_id,
                GeoUnit.kind == UnitKind.VILLAGE,
                GeoUnit.id != household.village_id,
            )
            .order_by(GeoUnit.id),
        ),
        household=household.id,
        person=_first(
            session,
            select(Person.id).where(Person.household_id == household.id).order_by(Person.id),
        ),
        visit=_first(
            session, select(Visit.id).where(Visit.commune_id == commune_id).order_by(Visit.id)
        ),
        canvasser=canvassers[0],
        other_canvasser=canvassers[1] if len(canvassers) > 1 else canvassers[0],
    )


def _foreign_province(session: Session, *, figures_json: str, period_id: int) -> dict:
    """A second province with one of everything, so province-wide roles have an outside too."""
    province = GeoUnit(kind=UnitKind.PROVINCE, code="H3", name="Tỉnh Ngoài", type_name="Tỉnh")
    session.add(province)
    session.flush()
    province.province_id = province.id
    commune = GeoUnit(
        kind=UnitKind.COMMUNE,
        code="H3001",
        name="Xã Ngoài",
        type_name="Xã",
        name_key="ngoai",
        parent_id=province.id,
        province_id=province.id,
    )
    session.add(commune)
    session.flush()
    villages = []
    for n in (1, 2):
        village = GeoUnit(
            kind=UnitKind.VILLAGE,
            code=f"H3001-{n}",
            name=f"Thôn Ngoài {n}",
            type_name="Thôn",
            name_key=f"ngoai {n}",
            parent_id=commune.id,
            province_id=province.id,
        )
        session.add(village)
        villages.append(village)
    password = hash_password("Demo@2026")
    canvassers = [
        User(
            username=f"canbo.h3001.{n}",
            full_name=f"Cán Bộ Ngoài {n}",
            password_hash=password,
            role=Role.CANVASSER,
            scope_unit_id=commune.id,
        )
        for n in (1, 2)
    ]
    session.add_all(canvassers)
    session.flush()
    household = Household(
        province_id=province.id,
        commune_id=commune.id,
        village_id=villages[0].id,
        head_name="Hộ Ngoài Phạm Vi",
        address="Thôn Ngoài 1",
        assigned_canvasser_id=canvassers[0].id,
    )
    session.add(household)
    session.flush()
    person = Person(
        household_id=household.id,
        province_id=province.id,
        commune_id=commune.id,
        full_name="Người Ngoài Phạm Vi",
        name_key="nguoi ngoai pham vi",
        income_basis=2_000_000,
    )
    visit = Visit(
        client_uuid=str(uuid.UUID(int=3)),
        household_id=household.id,
        canvasser_id=canvassers[0].id,
        province_id=province.id,
        commune_id=commune.id,
        visited_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        channel="home",
    )
    campaign = Campaign(
        province_id=province.id,
        name="Chiến dịch tỉnh ngoài",
        starts_on=datetime(2026, 7, 1).date(),
        ends_on=datetime(2026, 12, 31).date(),
    )
    session.add_all([person, visit, campaign])
    session.flush()
    summary = Summary(
        period_id=period_id,
        campaign_id=campaign.id,
        province_id=province.id,
        status=SummaryStatus.PUBLISHED,
        cutoff_at=datetime(2026, 11, 16, tzinfo=UTC),
        figures_json=figures_json,
        pdf=FAKE_PDF,
        content_hash=hashlib.sha256(FAKE_PDF).hexdigest(),
        published_at=datetime(2026, 11, 16, tzinfo=UTC),
    )
    batch = ImportBatch(
        kind="participants",
        filename="ngoai.csv",
        file_hash="0" * 64,
        status=BatchStatus.DONE,
        province_id=province.id,
    )
    session.add_all([summary, batch])
    session.flush()
    area = Area(
        commune=commune.id,
        village=villages[0].id,
        other_village=villages[1].id,
        household=household.id,
        person=person.id,
        visit=visit.id,
        canvasser=canvassers[1].id,
        other_canvasser=canvassers[0].id,
    )
    return {"area": area, "campaign": campaign.id, "summary": summary.id, "batch": batch.id}


def _steering_member(
    session: Session, *, province_id: int, home_commune: int, outside_group: int
) -> None:
    """A province leader who follows 07210 and a whole other group (issue 24), never the group
    leader's group: the matrix's "out" commune stays outside their set."""
    home = session.get(GeoUnit, home_commune)
    group = _first(
        session,
        select(GeoUnit.id)
        .where(
            GeoUnit.province_id == province_id,
            GeoUnit.kind == UnitKind.GROUP,
            GeoUnit.id.not_in([outside_group, home.parent_id or 0]),
        )
        .order_by(GeoUnit.id),
    )
    member = User(
        username=USERNAMES[MEMBER],
        full_name="Thành Viên Ban Chỉ Đạo",
        password_hash=hash_password(DEMO_PASSWORD),
        role=Role.LEADER,
        scope_unit_id=province_id,
    )
    session.add(member)
    session.flush()
    session.add_all(
        [FollowedUnit(user_id=member.id, unit_id=unit) for unit in (home_commune, group)]
    )
    session.commit()


def _national_users(session: Session) -> None:
    """A leader, an admin and a media account for the whole country (figures only)."""
    nation = session.exec(select(GeoUnit.id).where(GeoUnit.kind == UnitKind.NATION)).one()
    roles = {NATIONAL_LEADER: Role.LEADER, NATIONAL_ADMIN: Role.ADMIN, NATIONAL_MEDIA: Role.MEDIA}
    session.add_all(
        User(
            username=USERNAMES[key],
            full_name="Nguyễn Văn Quốc",
            password_hash=hash_password(DEMO_PASSWORD),
            role=role,
            scope_unit_id=nation,
        )
        for key, role in roles.items()
    )
    session.commit()


def _export(session: Session, user_id: int | None) -> int:
    """A written audit-log export of this admin (None: of nobody the matrix logs in as)."""
    job = BackgroundJob(
        kind="audit.export",
        subject=f"export:{user_id}:audit.export",
        status="done",
        user_id=user_id,
        params_json='{"filename": "nhat-ky-truy-cap.csv"}',
        finished_at=datetime(2026, 11, 22, 1, 0, tzinfo=UTC),
    )
    session.add(job)
    session.flush()
    store.put(session, ("background_job", job.id), "export", b"\xef\xbb\xbf")
    return job.id


def build_world(session: Session, url: str) -> World:
    """Add the matrix's objects to a copy of the demo database and say where they are."""
    admin = session.exec(select(User).where(User.username == "admin")).one()
    group_leader = session.exec(select(User).where(User.username == "lanhdao.cum")).one()
    home_commune = session.exec(
        select(GeoUnit.id).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.code == "07210")
    ).one()
    group_commune = _first(
        session,
        select(GeoUnit.id)
        .where(GeoUnit.parent_id == group_leader.scope_unit_id, GeoUnit.kind == UnitKind.COMMUNE)
        .order_by(GeoUnit.id),
    )
    _steering_member(
        session,
        province_id=admin.scope_unit_id,
        home_commune=home_commune,
        outside_group=group_leader.scope_unit_id,
    )
    _national_users(session)
    campaign = session.exec(select(Campaign).where(Campaign.province_id == admin.scope_unit_id))
    campaign = campaign.one()
    published = draft_summary(
        session,
        campaign=campaign,
        period=period_from_key(PUBLISHED_KEY),
        user_id=admin.id,
        now=datetime(2026, 11, 16, 1, 0, tzinfo=UTC),
    )
    session.commit()
    publish_summary(session, summary_id=published.id, user_id=admin.id)
    session.commit()
    draft = draft_summary(
        session,
        campaign=campaign,
        period=period_from_key(DRAFT_KEY),
        user_id=admin.id,
        now=datetime(2026, 11, 22, 1, 0, tzinfo=UTC),
    )
    session.commit()
    batch = ImportBatch(
        kind="participants",
        filename="danh-sach.csv",
        file_hash="1" * 64,
        status=BatchStatus.DONE,
        province_id=admin.scope_unit_id,
        uploaded_by_id=admin.id,
    )
    session.add(batch)
    session.flush()
    foreign = _foreign_province(
        session, figures_json=published.figures_json, period_id=published.period_id
    )
    world = World(
        url=url,
        home=_area(session, home_commune),
        group=_area(session, group_commune),
        foreign=foreign["area"],
        campaign=campaign.id,
        foreign_campaign=foreign["campaign"],
        summary=published.id,
        draft=draft.id,
        foreign_summary=foreign["summary"],
        batch=batch.id,
        foreign_batch=foreign["batch"],
        export=_export(session, admin.id),
        foreign_export=_export(session, None),
    )
    session.commit()
    return world


def copy_database(databases, url: str) -> str:
    """A private copy of any test database (its engine must be disposed on PostgreSQL)."""
    name = f"t{os.getpid()}_{next(_counter)}"
    if PG_ADMIN_URL:
        _pg_admin(f"CREATE DATABASE {name} TEMPLATE {url.rsplit('/', 1)[1]}")
        databases.created.append(name)
        return _pg_url(name)
    source = Path(url.removeprefix("sqlite:///"))
    target = source.parent / f"{name}.sqlite3"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def world(databases) -> World:
    """The demo province plus the matrix's objects, built once per run; never opened by an app."""
    url = databases.copy_of_template()
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        built = build_world(session, url)
    engine.dispose()
    if url.startswith("sqlite"):
        raw = create_engine(url)
        with raw.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.dispose()
    return built


def make_app(url: str):
    """An app like tests/conftest.py's, but a crash answers 500 instead of raising in the test."""
    return create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,
            "SECRET_KEY": "test-secret",
            "OUTREACH_TODAY": DEMO_TODAY,
        }
    )


@pytest.fixture(scope="module")
def shared_app(world, databases, tmp_path_factory):
    """One app per module on a copy of the world, for requests that must write nothing."""
    app = make_app(copy_database(databases, world.url))
    yield app
    app.extensions["engine"].dispose()


def page_token(client, path: str = "/login") -> str:
    """The CSRF token of the client's session (read from a page, or /session.json)."""
    response = client.get(path)
    if response.is_json:
        return response.get_json()["csrf_token"]
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def logged_in(app, role: str):
    """A test client logged in as the demo user of `role` (anonymous: no login at all)."""
    client = app.test_client()
    if role == ANON:
        return client
    response = client.post(
        "/login",
        data={
            "username": USERNAMES[role],
            "password": "Demo@2026",
            "csrf_token": page_token(client),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def csrf_for(client) -> str:
    """A valid CSRF token for the client's session, whoever is (or is not) logged in."""
    return page_token(client, "/session.json") if _has_session(client) else page_token(client)


def _has_session(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def fingerprint(app, tables: tuple[str, ...] | None = None) -> dict:
    """Row counts of every table, plus a hash of the rows of `tables` (all tables if None)."""
    engine = app.extensions["engine"]
    if "security_columns" not in app.extensions:
        inspector = inspect(engine)
        app.extensions["security_columns"] = {
            name: len(inspector.get_columns(name)) for name in inspector.get_table_names()
        }
    columns = app.extensions["security_columns"]
    result: dict = {}
    with engine.connect() as conn:
        # Plain DB-API cursors: this runs twice around hundreds of requests.
        cursor = conn.connection.dbapi_connection.cursor()
        for name in sorted(columns):
            cursor.execute(f'SELECT COUNT(*) FROM "{name}"')
            result[name] = cursor.fetchone()[0]
        for name in sorted(columns) if tables is None else tables:
            # Every column in the ORDER BY: the same rows always hash the same.
            order = ", ".join(str(i + 1) for i in range(columns[name]))
            cursor.execute(f'SELECT * FROM "{name}" ORDER BY {order}')
            result[f"{name}#"] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
        cursor.close()
    return result

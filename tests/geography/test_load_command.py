"""`outreach geography load`: any province, or the whole country, from the official 2025 list."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from outreach import create_app
from outreach.migrate import upgrade
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind


@pytest.fixture
def runner(databases):
    url = databases.empty()
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "cli"})
    yield app, app.test_cli_runner()
    app.extensions["engine"].dispose()


def _units(app) -> str:
    """A fingerprint of every geography row, in id order."""
    with app.extensions["engine"].connect() as conn:
        rows = conn.execute(
            text("SELECT id, kind, code, name, parent_id, province_id FROM geo_unit ORDER BY id")
        ).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _communes(session: Session, province: GeoUnit) -> int:
    return session.exec(
        select(func.count())
        .select_from(GeoUnit)
        .where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.province_id == province.id)
    ).one()


def test_two_provinces_load_under_the_country_and_a_second_run_changes_nothing(runner):
    app, cli = runner
    result = cli.invoke(args=["geography", "load", "--province", "01", "--province", "24"])
    assert result.exit_code == 0, result.output
    assert "01 Thành phố Hà Nội: 126 xã" in result.output
    assert "24 Tỉnh Bắc Ninh: 99 xã" in result.output
    first = _units(app)
    with Session(app.extensions["engine"]) as session:
        nation = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.NATION)).one()
        provinces = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).all()
        assert {p.code: _communes(session, p) for p in provinces} == {"01": 126, "24": 99}
        assert {p.parent_id for p in provinces} == {nation.id} and nation.code == "VN"

    again = cli.invoke(args=["geography", "load", "--province", "24", "--province", "01"])
    assert again.exit_code == 0, again.output
    assert "0 đơn vị mới" in again.output and "126 xã" in again.output
    assert _units(app) == first  # same rows, same ids


def test_the_whole_country_loads_its_34_provinces_and_3321_communes(runner):
    app, cli = runner
    assert cli.invoke(args=["geography", "load", "--province", "24"]).exit_code == 0
    result = cli.invoke(args=["geography", "load", "--all"])
    assert result.exit_code == 0, result.output
    with Session(app.extensions["engine"]) as session:
        count = {
            kind: session.exec(
                select(func.count()).select_from(GeoUnit).where(GeoUnit.kind == kind)
            ).one()
            for kind in (UnitKind.NATION, UnitKind.PROVINCE, UnitKind.COMMUNE)
        }
    assert count == {UnitKind.NATION: 1, UnitKind.PROVINCE: 34, UnitKind.COMMUNE: 3321}
    # Ids came from the database: a unit added by hand afterwards takes the next one, no clash.
    with Session(app.extensions["engine"]) as session:
        extra = GeoUnit(kind=UnitKind.GROUP, code="x", name="x")
        session.add(extra)
        session.commit()
        highest = session.exec(select(func.max(GeoUnit.id))).one()
        assert extra.id == highest


def test_an_unknown_province_is_refused_and_nothing_is_written(runner):
    app, cli = runner
    result = cli.invoke(args=["geography", "load", "--province", "24", "--province", "99"])
    assert result.exit_code != 0 and "Không có tỉnh mã 99" in result.output
    with Session(app.extensions["engine"]) as session:
        assert session.exec(select(func.count()).select_from(GeoUnit)).one() == 0
    nothing = cli.invoke(args=["geography", "load"])
    assert nothing.exit_code != 0 and "--all" in nothing.output

"""Bulk inserts write what the ORM itself would: the rows read back equal, byte for byte."""

from datetime import UTC, datetime

from sqlalchemy import select, text

from outreach.core.bulk import bulk_insert, next_id, sqlite_bulk_settings
from outreach.models import GeoUnit, Household
from outreach.models.codes import UnitKind


def test_bulk_rows_read_back_as_orm_rows(session):
    commune = session.execute(select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE)).scalar()
    stamp = datetime(2026, 11, 22, 7, 0, 39, 452827, tzinfo=UTC)
    orm = Household(
        province_id=commune.parent_id or commune.id,
        commune_id=commune.id,
        address="Số 1",
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(orm)
    session.flush()
    conn = session.connection()
    bulk_id = next_id(conn, Household.__table__)
    columns = ("id", "province_id", "commune_id", "address", "address_key", "head_name")
    columns += ("priority_score", "priority_reasons", "priority_top", "created_at", "updated_at")
    bulk_insert(
        conn,
        Household.__table__,
        columns,
        [(bulk_id, orm.province_id, commune.id, "Số 1", "so1", "", 0, "", "", stamp, stamp)],
    )
    raw = "SELECT created_at FROM household WHERE id IN (:a, :b) ORDER BY id"
    written = session.execute(text(raw), {"a": orm.id, "b": bulk_id}).scalars().all()
    assert written[0] == written[1]  # the same text (or timestamp) either way
    session.expire_all()
    assert session.get(Household, bulk_id).created_at.replace(tzinfo=UTC) == stamp


def test_bulk_settings_hold_only_for_the_job(session):
    """A bigger cache and in-memory temporary storage for an import, the defaults afterwards
    (in-memory temporary storage slowed the summaries' grouped queries)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        with sqlite_bulk_settings(conn, 1024):  # nothing to tune elsewhere, and no error
            return
    pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
    before = (pragma("cache_size"), pragma("temp_store"))
    with sqlite_bulk_settings(conn, 1024):
        assert (pragma("cache_size"), pragma("temp_store")) == (-1024, 2)
    assert (pragma("cache_size"), pragma("temp_store")) == before
    assert before[1] != 2  # connections keep SQLite's default otherwise

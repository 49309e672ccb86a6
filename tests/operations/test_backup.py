"""Backups round-trip the demo province exactly; a restore refuses every file it should, changing nothing."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, delete, select, text
from sqlmodel import Session

from outreach import create_app
from outreach.core.scope import scope_for
from outreach.db import make_engine
from outreach.migrate import upgrade
from outreach.models import Household, Person, User, VisitOutcome
from outreach.operations import backup
from outreach.operations.backup import (
    BackupError,
    backup_database,
    inspect_backup,
    restore_database,
)
from outreach.visits.sync import ItemStatus, sync_visits
from tests.conftest import DEMO_TODAY, PG_ADMIN_URL, _pg_admin, backend

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a SHA-256 of its rows in primary-key order."""
    engine = make_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        result = {}
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                digest = hashlib.sha256()
                count = 0
                for row in conn.execute(select(table).order_by(*order)):
                    digest.update(repr(tuple(row)).encode())
                    count += 1
                result[table.name] = (count, digest.hexdigest())
        return result
    finally:
        engine.dispose()


def change_data(url: str) -> None:
    """What happens after a backup: a canvasser syncs visits, a row goes away."""
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.username == "canbo.07210.1")).scalar_one()
        households = session.exec(
            select(Household).where(Household.commune_id == user.scope_unit_id).limit(3)
        ).scalars()
        items = []
        for household in households:
            member = session.exec(
                select(Person).where(Person.household_id == household.id).limit(1)
            ).scalar_one()
            items.append(
                {
                    "client_uuid": str(uuid.uuid4()),
                    "household_id": household.id,
                    "channel": "home",
                    "visited_at": "2026-11-22T09:15:00+07:00",
                    "outcomes": [{"person_id": member.id, "outcome": "not_home"}],
                }
            )
        results = sync_visits(
            session,
            canvasser=user,
            scope=scope_for(session, user),
            items=items,
            today=DEMO_TODAY,
            now=NOW,
            secret="backup-test",
        )
        assert [r.status for r in results] == [ItemStatus.STORED] * 3
        first = session.exec(select(VisitOutcome.id).order_by(VisitOutcome.id).limit(1)).scalar()
        session.exec(delete(VisitOutcome).where(VisitOutcome.id == first))
        session.commit()
    engine.dispose()


def _changed_tables(before: dict, after: dict) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def test_backup_then_restore_brings_back_every_row_exactly(db_url, tmp_path):
    before = fingerprint(db_url)
    assert before["person"][0] > 1000 and before["visit"][0] > 0  # the demo province is there
    info = backup_database(db_url, target=tmp_path / "outreach.backup")
    assert info.backend == backend() and info.revision == backup.head_revision(db_url)
    assert info.size == (tmp_path / "outreach.backup").stat().st_size > 0

    change_data(db_url)
    changed = _changed_tables(before, fingerprint(db_url))
    assert {"visit", "visit_outcome"} <= changed  # the change is real, so the restore must undo it

    restored = restore_database(db_url, source=tmp_path / "outreach.backup")
    assert not restored.upgraded
    assert fingerprint(db_url) == before
    # The restored database is the app's database again: it serves a page.
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t"})
    assert app.test_client().get("/login").status_code == 200
    app.extensions["engine"].dispose()


def test_the_cli_backs_up_and_restores_after_asking(db_url, tmp_path):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "cli"})
    runner = app.test_cli_runner()
    path = tmp_path / "sao-luu.backup"
    before = fingerprint(db_url)
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "Đã sao lưu" in result.output and path.is_file()
    app.extensions["engine"].dispose()
    change_data(db_url)
    changed = fingerprint(db_url)

    answered_no = runner.invoke(args=["restore", str(path)], input="n\n")
    assert answered_no.exit_code != 0 and "chưa có gì thay đổi" in answered_no.output
    assert fingerprint(db_url) == changed

    answered_yes = runner.invoke(args=["restore", str(path)], input="y\n")
    assert answered_yes.exit_code == 0, answered_yes.output
    assert "Đã phục hồi" in answered_yes.output
    assert fingerprint(db_url) == before

    change_data(db_url)
    unasked = runner.invoke(args=["restore", str(path), "--yes"])  # scripts: no question
    assert unasked.exit_code == 0 and "Tiếp tục?" not in unasked.output, unasked.output
    assert fingerprint(db_url) == before
    missing = runner.invoke(args=["restore", str(tmp_path / "khong-co.backup"), "--yes"])
    assert missing.exit_code != 0 and "Không tìm thấy tệp sao lưu" in missing.output
    assert fingerprint(db_url) == before


# --- refusals: each leaves the database exactly as it was --------------------------------------


@pytest.fixture
def good_backup(db_url, tmp_path) -> Path:
    path = tmp_path / "good.backup"
    backup_database(db_url, target=path)
    change_data(db_url)  # so a restore that wrongly went ahead would show
    return path


def _check_refused(db_url: str, source: Path, message: str) -> None:
    before = fingerprint(db_url)
    with pytest.raises(BackupError, match=message):
        restore_database(db_url, source=source)
    assert fingerprint(db_url) == before


def test_a_missing_or_empty_file_is_refused(db_url, tmp_path):
    _check_refused(db_url, tmp_path / "khong-co.backup", "Không tìm thấy tệp sao lưu")
    (tmp_path / "rong.backup").write_bytes(b"")
    _check_refused(db_url, tmp_path / "rong.backup", "rỗng")


def test_a_file_that_is_not_a_backup_is_refused(db_url, tmp_path):
    (tmp_path / "ghi-chu.txt").write_text("Danh sách hộ cần thăm\n" * 100)
    _check_refused(db_url, tmp_path / "ghi-chu.txt", "không phải bản sao lưu của outreach")


def test_a_truncated_backup_is_refused(db_url, good_backup, tmp_path):
    data = good_backup.read_bytes()
    for share in (0.5, 0.99):
        cut = tmp_path / f"cut-{share}.backup"
        cut.write_bytes(data[: int(len(data) * share)])
        _check_refused(db_url, cut, "cắt cụt|hỏng")


def test_a_backup_of_the_other_backend_is_refused(db_url, tmp_path):
    other = tmp_path / "other.backup"
    if backend() == "sqlite":
        other.write_bytes(b"PGDMP\x01\x0f\x00" + bytes(5000))
        _check_refused(db_url, other, "bản sao lưu PostgreSQL")
    else:
        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES ('0007')")
        conn.commit()
        conn.close()
        _check_refused(db_url, other, "bản sao lưu SQLite")


def test_a_database_of_another_application_is_refused(db_url, tmp_path):
    other = tmp_path / "other.backup"
    if backend() == "sqlite":
        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.commit()
        conn.close()
    else:
        name = f"other_{uuid.uuid4().hex[:8]}"
        _pg_admin(f"CREATE DATABASE {name}")
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE notes (body TEXT)"))
        engine.dispose()
        backup._pg_backup(url, other)
        _pg_admin(f"DROP DATABASE {name}")
    _check_refused(db_url, other, "không phải bản sao lưu của outreach")


def test_a_backup_from_newer_code_is_refused(databases, db_url, tmp_path):
    newer_db = databases.copy_of_template()
    engine = make_engine(newer_db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_tuong_lai'"))
    engine.dispose()
    newer = tmp_path / "newer.backup"
    if backend() == "sqlite":
        backup._sqlite_backup(newer_db, newer)
    else:
        backup._pg_backup(newer_db, newer)
    with pytest.raises(BackupError, match="9999_tuong_lai, mới hơn phần mềm"):
        inspect_backup(db_url, source=newer)
    _check_refused(db_url, newer, "mới hơn phần mềm")


def test_an_older_backup_is_migrated_after_the_restore(db_url, databases, tmp_path):
    older_db = databases.empty()
    upgrade(older_db, "0006")
    older = tmp_path / "older.backup"
    info = backup_database(older_db, target=older)
    assert info.revision == "0006"
    restored = restore_database(db_url, source=older)
    assert restored.upgraded
    engine = make_engine(db_url)
    with engine.connect() as conn:
        head = backup.head_revision(db_url)
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        assert conn.execute(text("SELECT count(*) FROM person")).scalar() == 0  # the backup's data
    engine.dispose()


@pytest.mark.skipif(bool(PG_ADMIN_URL), reason="SQLite only: PostgreSQL serves many connections")
def test_a_sqlite_restore_refuses_while_the_database_is_open(db_url, good_backup):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM person")).scalar()
        before = fingerprint(db_url)
        with pytest.raises(BackupError, match="đang được dùng"):
            restore_database(db_url, source=good_backup)
    engine.dispose()
    assert fingerprint(db_url) == before
    restore_database(db_url, source=good_backup)  # once closed, it goes ahead


@pytest.mark.skipif(bool(PG_ADMIN_URL), reason="SQLite only")
def test_a_sqlite_backup_is_taken_while_a_writer_holds_a_transaction(db_url, tmp_path):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        conn.execute(text("UPDATE person SET phone = '+84900000000'"))  # not committed
        info = backup_database(db_url, target=tmp_path / "online.backup")
        conn.rollback()
    engine.dispose()
    copy = sqlite3.connect(info.path)
    assert copy.execute("SELECT count(*) FROM person WHERE phone = '+84900000000'").fetchone() == (
        0,
    )
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy.close()

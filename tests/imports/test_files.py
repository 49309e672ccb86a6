"""A batch's files live in the database, for every server; uploads are deleted after the
retention period, each deletion audited (imports/files.py)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core import files as store
from outreach.imports import batches as import_batches
from outreach.imports import files
from outreach.imports.reading import read_table
from outreach.models import AuditLog, ImportBatch, StoredFile
from outreach.models.base import utcnow
from tests.conftest import csrf_token
from tests.imports.test_views import _batch_id, _settled, _upload
from tests.imports.test_writer import ROWS, _csv
from tests.workers import run_immediately


def _stored(app, batch_id: int, purpose: str) -> int:
    with Session(app.extensions["engine"]) as s:
        return s.exec(
            select(func.count())
            .select_from(StoredFile)
            .where(
                StoredFile.owner_type == "import_batch",
                StoredFile.owner_id == batch_id,
                StoredFile.purpose == purpose,
            )
        ).one()


def test_an_upload_is_kept_in_pieces_and_read_back_whole(app, session, monkeypatch):
    monkeypatch.setattr(store, "PIECE_BYTES", 1000)
    data = _csv(ROWS) * 20
    batch = import_batches.store_upload(
        session,
        data=data,
        filename="ds.csv",
        kind="participants",
        office="",
        user_id=None,
        username="test",
        province_id=1,
    )
    assert _stored(app, batch.id, "upload") == -(-len(data) // 1000) > 1
    with Session(app.extensions["engine"]) as s, files.upload_on_disk(s, batch) as path:
        assert path.suffix == ".csv" and path.read_bytes() == data
        kept = path
    assert not kept.exists()  # the temporary copy goes with the block
    assert hashlib.sha256(data).hexdigest() == batch.file_hash


def test_the_error_sheet_comes_from_the_database(app, login_as, worker):
    """Every server reads the same errors: nothing of the batch is on any disk."""
    client = login_as("admin")
    batch_id = _batch_id(_upload(client, _csv(ROWS)))
    assert _settled(app, batch_id).status == "previewed"
    assert _stored(app, batch_id, "errors") == 1
    sheet = client.get(f"/imports/{batch_id}/errors.xlsx")
    rows = read_table(sheet.data, "loi.xlsx").rows
    assert {r[0] for r in rows[1:3]} == {7, 8}


@pytest.fixture
def three_batches(app, login_as, worker):
    """An old finished batch, an old one still running, a recent one."""
    client = login_as("admin")
    ids = [_batch_id(_upload(client, _csv(ROWS), office=f"BHXH {i}")) for i in range(3)]
    for batch_id in ids:
        _settled(app, batch_id)
    with Session(app.extensions["engine"]) as s:
        for batch_id, age, status in zip(
            ids, (40, 40, 5), ("previewed", "checking", "previewed"), strict=True
        ):
            batch = s.get(ImportBatch, batch_id)
            batch.created_at = utcnow() - timedelta(days=age)
            batch.status = status
            s.add(batch)
        s.commit()
    return client, ids


def test_uploads_past_the_retention_period_are_deleted_and_audited(app, three_batches):
    client, (old, running, recent) = three_batches
    runner = app.test_cli_runner()
    result = runner.invoke(args=["purge-uploads"])  # the default: 30 days
    assert result.exit_code == 0 and "Đã xóa tệp của 1 lô" in result.output, result.output
    assert _stored(app, old, "upload") == 0 and _stored(app, old, "errors") == 0
    assert _stored(app, running, "upload") == 1  # a job may be reading it
    assert _stored(app, recent, "upload") == 1
    with Session(app.extensions["engine"]) as s:
        assert s.get(ImportBatch, old).files_deleted_at is not None
        events = s.exec(select(AuditLog).where(AuditLog.action == "import.files_deleted")).all()
    assert [(e.object_id, e.username) for e in events] == [(str(old), "system")]
    assert events[0].detail and "retention_days" in events[0].detail
    # Nothing left to import: the batch says why instead of failing in a worker.
    answer = client.post(
        f"/imports/{old}/import",
        data={"csrf_token": csrf_token(client, f"/imports/{old}"), "skip_rejected": "1"},
        follow_redirects=True,
    )
    assert "đã được xóa sau thời hạn lưu giữ" in answer.get_data(as_text=True)
    again = runner.invoke(args=["purge-uploads"])
    assert "Đã xóa tệp của 0 lô" in again.output  # each batch deleted (and audited) once


def test_the_purge_task_deletes_what_the_command_does(app, three_batches):
    """The scheduled job's body (huey's immediate mode: the task, not the queue)."""
    _client, (old, _running, recent) = three_batches
    run_immediately(app, "purge_uploads")
    assert _stored(app, old, "upload") == 0 and _stored(app, recent, "upload") == 1

"""kill -9 the server (master, workers, children) in the middle of an import, a sync and a publish.

Each test drives the operation until it is provably in flight (the import's heartbeat says it is
writing; visits of the batch are landing; the worker has burnt CPU on the PDF), kills the whole
process group, checks the database as the crash left it, starts the server again and checks that
the operation can simply be done again, with nothing lost, doubled or half-written.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid

import pytest
from sqlalchemy import func, inspect
from sqlmodel import Session, select

from outreach.core.queue import JobBoard, make_queue
from outreach.db import make_engine
from outreach.geography.service import official_communes
from outreach.models import (
    AuditLog,
    BackgroundJob,
    Household,
    ImportBatch,
    Person,
    Summary,
    User,
    Visit,
    VisitOutcome,
)
from outreach.models.codes import BatchStatus, SummaryStatus

from .conftest import GUNICORN, Client, Server, forget_the_checks_rows

pytestmark = pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed")

IMPORT_ROWS = 30_000
BHXH_BASE = 2_480_000_000  # "248…": numbers the demo province does not use (checked below)


def _engine(server: Server):
    return make_engine(server.database_url)


def _count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def _wait(predicate, *, timeout: float, what: str, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


# --- during an import -----------------------------------------------------------------------------

HEADER = (
    "STT,Họ và tên,Ngày sinh,Giới tính,Mã số BHXH,Số CCCD,Số điện thoại,Địa chỉ,Thôn,Xã/Phường,"
    "Huyện cũ,Đóng đến tháng,Phương thức đóng,Mức thu nhập"
)
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
GIVEN = ("Văn An", "Thị Bình", "Văn Cường", "Thị Dung", "Đức Em", "Thị Hoa", "Văn Nam", "Thị Lan")


def participants_csv(
    rows: int,
    seed: int = 1,
    *,
    province_code: str = "24",
    first_number: int = BHXH_BASE,
    citizen_ids: bool = True,
) -> tuple[bytes, list[str]]:
    """A participants list of `rows` new people spread over the province's communes, BHXH numbers
    from `first_number` on (and CCCDs, unless not wanted); and their BHXH numbers."""
    rng = random.Random(seed)
    communes = [c.name for c in official_communes(province_code)]
    lines = ["DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN", HEADER]
    numbers = []
    for i in range(rows):
        female = i % 2 == 1
        year = rng.randint(1965, 2005)
        bhxh = str(first_number + i)
        numbers.append(bhxh)
        cccd = f"027{(0 if year < 2000 else 2) + female}{year % 100:02d}{i:06d}" * citizen_ids
        group = i // 3  # three people at one address: one household
        village = f"Thôn {('Đông', 'Đoài', 'Trung', 'Hạ', 'Thượng')[group % 5]}"
        lines.append(
            ",".join(
                (
                    str(i + 1),
                    f"{rng.choice(SURNAMES)} {GIVEN[(i % 4) * 2 + female]}",
                    f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}",
                    "Nữ" if female else "Nam",
                    bhxh,
                    cccd,
                    "",
                    f"Số {group}",
                    village,
                    communes[group * 7919 % len(communes)],
                    "",
                    f"{rng.randint(1, 12):02d}/2026",
                    "3 tháng",
                    "2.000.000",
                )
            )
        )
    return ("\n".join(lines) + "\n").encode("utf-8"), numbers


def _from_file(engine) -> int:
    """People holding one of the list's BHXH numbers (all ten digits: text order is number order)."""
    last = str(BHXH_BASE + IMPORT_ROWS - 1)
    return _count(engine, Person, Person.bhxh_number.between(str(BHXH_BASE), last))


def _batch(engine, batch_id: int) -> ImportBatch:
    with Session(engine) as s:
        return s.get(ImportBatch, batch_id)


def _schema(engine) -> dict[str, list[str]]:
    """Each table's index names (a large import drops and rebuilds some inside its transaction)."""
    inspector = inspect(engine)
    return {t: sorted(i["name"] for i in inspector.get_indexes(t)) for t in ("person", "household")}


def _check_then_import(client: Client, engine, batch_id: int) -> None:
    """Wait for the check (the preview), then ask for the import, as the admin's page does."""
    _wait(
        lambda: _batch(engine, batch_id).status == BatchStatus.PREVIEWED,
        timeout=120,
        what="the check",
        every=0.1,
    )
    batch = _batch(engine, batch_id)
    assert batch.rejected == 0 and batch.rows_read == IMPORT_ROWS, batch.message
    forget_the_checks_rows(engine, batch_id)
    answer = client.post_form(  # the new villages the preview lists, confirmed
        f"/imports/{batch_id}/import", {"create_villages": "1"}, token_from=f"/imports/{batch_id}"
    )
    assert answer.status == 302, answer.text[:500]


def test_kill_during_an_import_writes_nothing_and_the_file_imports_again(server):
    data, _numbers = participants_csv(IMPORT_ROWS)
    engine = _engine(server)
    persons, households = _count(engine, Person), _count(engine, Household)
    assert _from_file(engine) == 0  # the file's numbers are new to the demo province
    schema = _schema(engine)
    server.start()
    admin = Client(server).login("admin")
    answer = admin.post_file(
        "/imports", {"kind": "participants", "office": ""}, "ds-30000.csv", data,
        token_from="/imports",
    )  # fmt: skip
    assert answer.status == 302, answer.text[:500]
    batch_id = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    _check_then_import(admin, engine, batch_id)

    # The job's board entry says how far the write has gone: kill once a few chunks are in.
    board = JobBoard(make_queue(server.database_url, fallback_dir=server.instance))
    key = f"import-{batch_id}"

    def writing():
        progress = board.read(key)
        if progress and progress["stage"] == "importing" and progress["rows"] >= 4000:
            return progress
        return None

    at_kill = _wait(writing, timeout=120, what="the write phase")
    server.kill()
    # Killed mid-write: the batch was still "importing" (its "done" commits with the data).
    assert _batch(engine, batch_id).status == BatchStatus.IMPORTING
    assert 4000 <= at_kill["rows"] < IMPORT_ROWS
    # Nothing of the file was written, and the indexes the import rebuilds are all there.
    engine.dispose()
    assert _count(engine, Person) == persons and _count(engine, Household) == households
    assert _from_file(engine) == 0
    assert _schema(engine) == schema

    # A recent beat from another machine could be a live job there: left alone (by the pages and
    # by the worker's sweep)…
    elsewhere = {**at_kill, "host": "another-server", "at": time.time()}
    board.storage.put_data(f"board:{key}", json.dumps(elsewhere).encode())
    server.start()
    admin = Client(server).login("admin")
    assert "gián đoạn" not in admin.get(f"/imports/{batch_id}").text
    assert _batch(engine, batch_id).status == BatchStatus.IMPORTING
    # …until it is older than the limit (as if the admin came back later).
    stale = {**elsewhere, "at": time.time() - 600}
    board.storage.put_data(f"board:{key}", json.dumps(stale).encode())
    page = admin.get(f"/imports/{batch_id}")
    assert page.status == 200 and "gián đoạn" in page.text
    failed = _batch(engine, batch_id)
    assert failed.status == BatchStatus.FAILED and "không có dữ liệu nào được ghi" in failed.message

    # The same file again: check, import, done, every row in.
    answer = admin.post_form(f"/imports/{batch_id}/retry", {}, token_from=f"/imports/{batch_id}")
    assert answer.status == 302, answer.text[:500]
    _check_then_import(admin, engine, batch_id)
    _wait(
        lambda: _batch(engine, batch_id).status in (BatchStatus.DONE, BatchStatus.FAILED),
        timeout=180,
        what="the import",
        every=0.2,
    )
    done = _batch(engine, batch_id)
    assert done.status == BatchStatus.DONE, done.message
    # A few generated people match demo people by name, birth date and commune: updated.
    assert done.inserted + done.updated == IMPORT_ROWS and done.inserted > IMPORT_ROWS * 0.99
    assert _count(engine, Person) == persons + done.inserted
    assert _from_file(engine) >= done.inserted
    assert _count(engine, Household) > households
    assert server.kills == 1
    engine.dispose()


# --- during a sync ------------------------------------------------------------------------------

BATCHES, PER_BATCH = 2, 100


def _visit_items(engine, username: str) -> tuple[int, list[list[dict]]]:
    """Batches of distinct visits to the canvasser's households, marked by a note of this run."""
    marker = f"crash-{uuid.uuid4().hex[:8]}"
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == username)).one()
        rows = s.exec(
            select(Household.id, func.min(Person.id))
            .join(Person, Person.household_id == Household.id)
            .where(Household.commune_id == user.scope_unit_id)
            .group_by(Household.id)
            .order_by(Household.id)
        ).all()
    assert rows
    items = [
        {
            "client_uuid": str(uuid.uuid4()),
            "household_id": rows[i % len(rows)][0],
            "channel": "home",
            "visited_at": "2026-11-22T08:00:00+07:00",
            "outcomes": [{"person_id": rows[i % len(rows)][1], "outcome": "not_home"}],
            "note": f"{marker} {i}",
        }
        for i in range(BATCHES * PER_BATCH)
    ]
    return user.id, [items[i : i + PER_BATCH] for i in range(0, len(items), PER_BATCH)]


def test_kill_during_a_sync_loses_no_visit_and_doubles_none(server):
    engine = _engine(server)
    server.start()
    canvasser = Client(server).login("canbo.07210.1")
    user_id, batches = _visit_items(engine, "canbo.07210.1")
    keys = [item["client_uuid"] for batch in batches for item in batch]

    with Session(engine) as s:
        last_before = s.exec(select(func.max(Visit.id))).one()

    def landed() -> int:  # visits stored since the test began (only this test writes visits)
        return _count(engine, Visit, Visit.id > last_before)

    answers: dict[int, list[dict]] = {}
    errors: list[Exception] = []

    def send_all() -> None:
        csrf = canvasser.get("/session.json").json()["csrf_token"]
        for index, batch in enumerate(batches):
            try:
                response = canvasser.post_json("/api/visits/sync", {"visits": batch}, csrf=csrf)
            except OSError as error:  # the server died under this request
                errors.append(error)
                return
            assert response.status == 200, response.text[:500]
            answers[index] = response.json()["results"]

    phone = threading.Thread(target=send_all)
    phone.start()
    # Kill in the middle of the second batch: some of its visits stored, the rest not yet.
    _wait(lambda: landed() >= PER_BATCH + 20, timeout=120, what="visits to land")
    server.kill()
    phone.join(timeout=30)
    stored_at_kill = landed()
    assert errors, "the phone's request should have died with the server"
    assert PER_BATCH < stored_at_kill < 2 * PER_BATCH  # killed mid-batch
    assert len(answers) == 1  # the first batch answered, the second cut off
    # None lost: every visit the server answered "stored" for is in the database.
    answered = [r for index in answers for r in answers[index]]
    assert all(r["status"] == "stored" for r in answered)
    with Session(engine) as s:
        stored_keys = set(s.exec(select(Visit.client_uuid).where(Visit.client_uuid.in_(keys))))
    assert {r["client_uuid"] for r in answered} <= stored_keys

    # The phone kept its whole outbox and sends it all again after the restart.
    server.start()
    csrf = canvasser.get("/session.json").json()["csrf_token"]  # the session cookie survived
    results = []
    for batch in batches:
        response = canvasser.post_json("/api/visits/sync", {"visits": batch}, csrf=csrf)
        assert response.status == 200, response.text[:500]
        results += response.json()["results"]
    status = {r["client_uuid"]: r["status"] for r in results}
    assert set(status.values()) <= {"stored", "duplicate"}
    assert {k for k, v in status.items() if v == "duplicate"} == stored_keys
    assert sum(v == "stored" for v in status.values()) == len(keys) - stored_at_kill
    # Every visit exactly once, each with exactly its one outcome.
    with Session(engine) as s:
        visits = s.exec(select(Visit.id).where(Visit.client_uuid.in_(keys))).all()
        outcomes = s.exec(
            select(func.count()).select_from(VisitOutcome).where(VisitOutcome.visit_id.in_(visits))
        ).one()
    assert len(visits) == len(set(visits)) == len(keys) and outcomes == len(keys)
    assert _count(engine, Visit, Visit.canvasser_id == user_id, Visit.client_uuid.in_(keys)) == len(
        keys
    )
    engine.dispose()


# --- during publishing --------------------------------------------------------------------------

PERIOD = "2026-11-15"


def _draft_id(engine) -> int:
    with Session(engine) as s:
        return s.exec(
            select(Summary.id).where(Summary.status == SummaryStatus.DRAFT).order_by(Summary.id)
        ).one()


def _published(engine) -> list[Summary]:
    with Session(engine) as s:
        return list(s.exec(select(Summary).where(Summary.status == SummaryStatus.PUBLISHED)))


def _job_ended(engine) -> bool:
    """Whether the publish job has ended (its row no longer queued or running)."""
    with Session(engine) as s:
        return bool(
            s.exec(select(BackgroundJob).where(BackgroundJob.status.in_(("done", "failed")))).all()
        )


def _assert_whole(summary: Summary) -> None:
    """A published version is whole: its PDF complete and matching the stored hash."""
    assert summary.pdf and summary.pdf.startswith(b"%PDF") and b"%%EOF" in summary.pdf[-64:]
    assert summary.content_hash == hashlib.sha256(summary.pdf).hexdigest()
    assert summary.published_at is not None and summary.figures_json


def test_kill_while_the_pdf_renders_leaves_no_half_published_version(server):
    engine = _engine(server)
    published_before = {s.id for s in _published(engine)}
    for summary in _published(engine):
        _assert_whole(summary)
    server.start()
    admin = Client(server).login("admin")
    answer = admin.post_form(f"/summaries/{PERIOD}/draft", {}, token_from=f"/summaries/{PERIOD}")
    assert answer.status == 302, answer.text[:500]
    draft_id = _draft_id(engine)
    # How much CPU one rendering of this PDF takes (measured: ~2 s; a worker's first one, which
    # also loads the fonts, ~15% more, so a third of it is mid-render on a warm worker too).
    cpu = server.workers_cpu()
    pdf = admin.get(f"/summaries/versions/{draft_id}.pdf")
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
    render_cpu = server.workers_cpu() - cpu
    assert render_cpu > 0.1

    form = {"summary_id": draft_id, "reason": "Kiểm thử khởi động lại máy chủ"}
    cpu = server.job_worker_cpu()
    # The page answers at once: the job worker renders and publishes (docs/summaries.md).
    answer = admin.post_form(
        f"/summaries/{PERIOD}/publish", form, token_from=f"/summaries/{PERIOD}"
    )
    assert answer.status == 302, answer.text[:500]
    # Mid-render: the job worker has done a third of a rendering's CPU work for this job.
    _wait(
        lambda: server.job_worker_cpu() - cpu >= render_cpu / 3 or _job_ended(engine),
        timeout=60,
        what="the rendering to start",
        every=0.005,
    )
    assert not _job_ended(engine), "the publish finished before the kill"
    server.kill()

    new = [s for s in _published(engine) if s.id not in published_before]
    assert not new  # killed before the commit: nothing published …
    with Session(engine) as s:
        draft = s.get(Summary, draft_id)
        assert draft.status == SummaryStatus.DRAFT and draft.pdf is None  # … not half of it
        assert draft.content_hash is None
        events = s.exec(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "summary.publish", AuditLog.object_id == str(draft_id))
        ).one()
        assert events == 0

    server.start()
    admin = Client(server).login("admin")
    # The page sees the killed job's worker gone: it says so, and offers to publish again.
    page = admin.get(f"/summaries/{PERIOD}").text
    assert "Việc bị gián đoạn" in page and 'name="summary_id"' in page
    answer = admin.post_form(
        f"/summaries/{PERIOD}/publish", form, token_from=f"/summaries/{PERIOD}"
    )
    assert answer.status == 302, answer.text[:500]
    _wait(
        lambda: "Đã công bố phiên bản" in admin.get(f"/summaries/{PERIOD}").text,
        timeout=120,
        what="the worker to publish",
        every=0.5,
    )
    (version,) = [s for s in _published(engine) if s.id not in published_before]
    assert version.id == draft_id
    _assert_whole(version)
    download = admin.get(f"/summaries/versions/{version.id}.pdf")
    assert download.status == 200 and download.body == version.pdf
    engine.dispose()


def test_generated_list_is_a_valid_participants_list():
    """The crash test's list parses cleanly (a list with errors would never reach the write)."""
    from outreach.imports.reading import read_table, stream_rows

    data, numbers = participants_csv(300)
    sheet, rows = stream_rows(read_table(data, "ds.csv"), "participants")
    parsed = list(rows)
    assert sheet.match.ok and len(parsed) == 300 and len(set(numbers)) == 300
    assert all(row.ok for row in parsed), [row.errors for row in parsed if not row.ok][:3]

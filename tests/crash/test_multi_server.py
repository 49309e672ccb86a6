"""Two app servers, a worker, one PostgreSQL and a real Redis, all on loopback (issue 23).

Server A and server B are separate gunicorns with instance folders of their own (nothing shared
on disk); the `outreach worker` is a third process; the queue is a real `redis-server`. An admin
uploads on one server and follows on the other; the error sheet comes from either; the worker is
killed with SIGKILL in the middle of an import and the batch recovers cleanly; two provinces'
admins import at the same time.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from outreach.accounts.service import create_user
from outreach.core.queue import JobBoard, make_queue
from outreach.db import make_engine
from outreach.geography.service import load_province
from outreach.imports.reading import read_table
from outreach.models import GeoUnit, ImportBatch, Person, User
from outreach.models.codes import BatchStatus, UnitKind
from tests.conftest import backend
from tests.imports.test_concurrent_imports import people_list
from tests.imports.test_writer import ROWS, _csv

from .conftest import (
    GUNICORN,
    REDIS,
    Client,
    Server,
    forget_the_checks_rows,
    two_servers_and_a_worker,
)
from .test_kill9 import participants_csv

pytestmark = [
    pytest.mark.skipif(
        backend() != "postgresql",
        reason="several app servers share a PostgreSQL database (SQLite is one machine's file)",
    ),
    pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed"),
    pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (make system-deps)"),
]


@pytest.fixture
def deployment(databases, tmp_path, redis_url):
    """Two app servers (not sharing a folder) and a worker on one database and one Redis."""
    url = databases.copy_of_template()
    env = {"OUTREACH_QUEUE_URL": redis_url}
    with two_servers_and_a_worker(url, tmp_path, env) as (servers, worker):
        yield servers, worker, url, redis_url


def _batch(engine, batch_id: int) -> ImportBatch:
    with Session(engine) as s:
        return s.get(ImportBatch, batch_id)


def _wait(predicate, *, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
    return value


def _upload(client: Client, data: bytes, name: str) -> int:
    answer = client.post_file(
        "/imports", {"kind": "participants", "office": name}, name, data, token_from="/imports"
    )
    assert answer.status == 302, answer.text[:500]
    return int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _follow(client: Client, batch_id: int, until: set[str], timeout: float = 300) -> str:
    """Poll the batch's page as the browser does (htmx, every second) until it shows a status."""
    labels = {
        "previewed": "Đã kiểm tra, chờ nhập",
        "done": "Đã nhập xong",
        "failed": "Không thành công",
    }

    def shown():
        page = client.request("GET", f"/imports/{batch_id}", headers={"HX-Request": "true"})
        assert page.status == 200, page.text[:500]
        return next((s for s in until if labels[s] in page.text), None)

    return _wait(shown, timeout=timeout, what=f"batch {batch_id} to be {until}", every=0.5)


def _on(server: Server, logged_in: Client) -> Client:
    """The same browser (its session cookie) talking to another server."""
    other = Client(server)
    other.opener = logged_in.opener
    return other


def _import(client: Client, batch_id: int, *, skip: bool = False) -> None:
    fields = {"create_villages": "1"}  # the new villages the preview lists, confirmed
    if skip:
        fields["skip_rejected"] = "1"
    answer = client.post_form(
        f"/imports/{batch_id}/import", fields, token_from=f"/imports/{batch_id}"
    )
    assert answer.status == 302, answer.text[:500]


def _persons(engine, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Person).where(*where)).one()


def test_upload_on_one_server_follow_and_import_on_the_other(deployment):
    (a, b), _worker, url, _redis = deployment
    engine = make_engine(url)
    before = _persons(engine)
    on_a = Client(a).login("admin")
    on_b = _on(b, on_a)  # one secret key: A's session is good on B
    batch_id = _upload(on_a, _csv(ROWS), "ds.csv")
    # B follows the check the worker runs: never "interrupted", never a 500.
    assert _follow(on_b, batch_id, {"previewed", "failed"}) == "previewed"
    sheets = [c.get(f"/imports/{batch_id}/errors.xlsx") for c in (on_a, on_b)]
    assert [s.status for s in sheets] == [200, 200] and sheets[0].body and sheets[1].body
    for sheet in sheets:  # the same two rejected rows, from either server
        rows = read_table(sheet.body, "loi.xlsx").rows
        assert {r[0] for r in rows[1:3]} == {7, 8}
    _import(on_b, batch_id, skip=True)
    assert _follow(on_a, batch_id, {"done", "failed"}) == "done"
    assert _persons(engine) == before + 3
    engine.dispose()


def test_the_worker_killed_mid_import_leaves_a_clean_failed_batch_that_imports_again(
    deployment,
):
    (a, b), worker, url, redis_url = deployment
    engine = make_engine(url)
    board = JobBoard(make_queue(url, redis_url, fallback_dir=a.instance))
    rows = 30_000
    data, _numbers = participants_csv(rows, seed=5)
    before = _persons(engine)
    on_a = Client(a).login("admin")
    on_b = _on(b, on_a)
    batch_id = _upload(on_a, data, "ds-30000.csv")
    assert _follow(on_b, batch_id, {"previewed", "failed"}) == "previewed"
    forget_the_checks_rows(engine, batch_id)
    _import(on_b, batch_id)
    _wait(
        lambda: (e := board.read(f"import-{batch_id}")) and e["stage"] == "importing"
        and e["rows"] >= 2000,
        timeout=300,
        what="the import to be writing",
    )  # fmt: skip
    worker.kill()
    assert _batch(engine, batch_id).status == BatchStatus.IMPORTING
    # Either server's page sees the job is gone (its process on this machine no longer exists).
    page = on_a.get(f"/imports/{batch_id}")
    assert page.status == 200 and "gián đoạn" in page.text
    assert _batch(engine, batch_id).status == BatchStatus.FAILED
    assert _persons(engine) == before  # one transaction: nothing half-written

    worker.start(workers=2)
    answer = on_b.post_form(f"/imports/{batch_id}/retry", {}, token_from=f"/imports/{batch_id}")
    assert answer.status == 302, answer.text[:500]
    assert _follow(on_a, batch_id, {"previewed", "failed"}) == "previewed"
    _import(on_a, batch_id)
    assert _follow(on_b, batch_id, {"done", "failed"}) == "done"
    done = _batch(engine, batch_id)
    assert _persons(engine) == before + done.inserted and done.inserted > rows * 0.99
    engine.dispose()


def test_two_provinces_import_at_the_same_time(deployment):
    (a, b), _worker, url, redis_url = deployment
    engine = make_engine(url)
    with Session(engine) as s:
        ha_noi = load_province(s, province_code="01")
        demo_admin = s.exec(select(User).where(User.username == "admin")).one()
        create_user(  # logs in with the demo password, as `Client.login` does
            s,
            username="admin.hanoi",
            full_name="Quản trị Hà Nội",
            password_hash=demo_admin.password_hash,
            role="admin",
            scope_unit_id=ha_noi.id,
        )
        s.commit()
        provinces = {
            code: s.exec(
                select(GeoUnit.id).where(GeoUnit.kind == UnitKind.PROVINCE, GeoUnit.code == code)
            ).one()
            for code in ("24", "01")
        }
    before = {code: _persons(engine, Person.province_id == pid) for code, pid in provinces.items()}
    rows = 8000  # a few seconds of writing each: long enough to overlap
    bac_ninh_admin = Client(a).login("admin")
    ha_noi_admin = Client(b).login("admin.hanoi")
    first = _upload(
        bac_ninh_admin, people_list("24", rows, first_number=2_450_000_000, seed=7), "bn.csv"
    )
    second = _upload(
        ha_noi_admin, people_list("01", rows, first_number=2_440_000_000, seed=8), "hn.csv"
    )
    assert _follow(bac_ninh_admin, first, {"previewed", "failed"}) == "previewed"
    assert _follow(ha_noi_admin, second, {"previewed", "failed"}) == "previewed"
    board = JobBoard(make_queue(url, redis_url, fallback_dir=a.instance))
    _import(bac_ninh_admin, first)
    _import(ha_noi_admin, second)

    def both_running() -> set[int] | None:
        entries = [board.read(f"import-{batch_id}") for batch_id in (first, second)]
        if all(e and e["stage"] == "importing" for e in entries):
            return {e["pid"] for e in entries}
        return None

    # Both under way at once, in the worker's two processes: neither waited for the other.
    assert len(_wait(both_running, timeout=120, what="both imports running", every=0.02)) == 2
    assert _follow(bac_ninh_admin, first, {"done", "failed"}) == "done"
    assert _follow(ha_noi_admin, second, {"done", "failed"}) == "done"
    after = {code: _persons(engine, Person.province_id == pid) for code, pid in provinces.items()}
    assert {code: after[code] - before[code] for code in after} == {"24": rows, "01": rows}
    engine.dispose()

"""The operator's trial of a national deployment, as docs/operations.md ("Trying it on one
machine") writes it (issue 23, "Done when"): on an empty PostgreSQL database, the `outreach`
commands load two provinces and create their admins and a national leader; two app servers, a
worker, a real Redis and a streaming replica (`pg_basebackup -R`) come up; each province's admin
imports a list on a different server at the same time; every page then answers as on one server,
the figures read from the replica included.
"""

from __future__ import annotations

import os
import subprocess
import threading

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from outreach.db import make_engine
from outreach.models import GeoUnit, Household, Person
from outreach.models.codes import UnitKind
from tests.imports.test_concurrent_imports import people_list
from tests.test_postgres_topology import _same_database, _started, _wait_for_replay

from .conftest import REPO, Client, two_servers_and_a_worker
from .test_multi_server import _follow, _import, _upload, pytestmark  # noqa: F401 (the same skips)

OUTREACH = REPO / ".venv" / "bin" / "outreach"
SECRET = "national-trial-secret"
PASSWORD = "Matkhau-thu-2026"  # the operator's choice: create-user asks for 10 characters
ROWS = 3000  # per province: enough for both imports to overlap on a loaded machine
USERS = (  # username, full name, role, scope: the commands docs/operations.md gives
    ("quantri.hanoi", "Quản trị Hà Nội", "admin", "01"),
    ("quantri.bacninh", "Quản trị Bắc Ninh", "admin", "24"),
    ("lanhdao.quocgia", "Lãnh đạo quốc gia", "leader", "VN"),
)


def _outreach(url: str, folder, *args: str) -> str:
    """One `outreach` command as the operator types it (only the documented settings set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env |= {"DATABASE_URL": url, "OUTREACH_SECRET_KEY": SECRET, "OUTREACH_INSTANCE_DIR": folder}
    done = subprocess.run(
        [str(OUTREACH), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def country(databases, tmp_path, redis_url):
    """The documented trial: commands, a replica, two servers and a worker."""
    url = databases.empty()
    cli = str(tmp_path / "cli")
    _outreach(url, cli, "db", "upgrade")
    loaded = _outreach(url, cli, "geography", "load", "--province", "01", "--province", "24")
    assert "126 xã" in loaded and "99 xã" in loaded, loaded
    for username, full_name, role, scope in USERS:
        _outreach(
            url, cli, "create-user", "--username", username, "--full-name", full_name,
            "--role", role, "--scope", scope, "--password", PASSWORD,
        )  # fmt: skip
    with _started("standby") as standby:
        replica = _same_database(standby, url)
        env = {
            "OUTREACH_SECRET_KEY": SECRET,
            "OUTREACH_QUEUE_URL": redis_url,
            "OUTREACH_RATELIMIT_STORAGE": redis_url.rsplit("/", 1)[0] + "/1",
            "OUTREACH_APP_SERVERS": "2",
            "DATABASE_REPLICA_URL": replica,
        }
        with two_servers_and_a_worker(url, tmp_path, env) as (servers, _worker):
            yield servers, url, standby


def _persons_by_province(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            rows = s.exec(
                select(GeoUnit.code, func.count(Person.id))
                .join(Person, Person.province_id == GeoUnit.id)
                .where(GeoUnit.kind == UnitKind.PROVINCE)
                .group_by(GeoUnit.code)
            ).all()
    finally:
        engine.dispose()
    return dict(rows)


def _heads_by_province(url: str) -> dict[int, list[str]]:
    """A hundred household heads' names of each province."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            provinces = s.exec(select(GeoUnit.id).where(GeoUnit.kind == UnitKind.PROVINCE)).all()
            return {
                pid: s.exec(
                    select(Household.head_name).where(Household.province_id == pid).limit(100)
                ).all()
                for pid in provinces
            }
    finally:
        engine.dispose()


def test_two_provinces_two_servers_a_worker_and_a_replica_as_the_guide_says(country):
    (a, b), url, standby = country
    ha_noi = Client(a).login("quantri.hanoi", PASSWORD)
    bac_ninh = Client(b).login("quantri.bacninh", PASSWORD)
    lists = {
        "01": (ha_noi, people_list("01", ROWS, first_number=2_460_000_000, seed=11)),
        "24": (bac_ninh, people_list("24", ROWS, first_number=2_470_000_000, seed=12)),
    }
    batches = {code: _upload(client, data, f"{code}.csv") for code, (client, data) in lists.items()}
    for code, (client, _data) in lists.items():
        assert _follow(client, batches[code], {"previewed", "failed"}) == "previewed"

    # Both admins press "Nhập" at the same moment, each on their own server.
    presses = [
        threading.Thread(target=_import, args=(client, batches[code]))
        for code, (client, _data) in lists.items()
    ]
    for press in presses:
        press.start()
    for press in presses:
        press.join(timeout=120)
    for code, (client, _data) in lists.items():
        other = Client(b if client.server is a else a)
        other.opener = client.opener  # the same browser, on the other server
        assert _follow(other, batches[code], {"done", "failed"}) == "done"
    assert _persons_by_province(url) == {"01": ROWS, "24": ROWS}

    # The national leader, on either server, reads both provinces' figures from the replica.
    _wait_for_replay(standby)
    leader = Client(a).login("lanhdao.quocgia", PASSWORD)
    for server in (a, b):
        on = Client(server)
        on.opener = leader.opener
        page = on.get("/dashboard")
        assert page.status == 200, page.text[:500]
        assert "Thành phố Hà Nội" in page.text and "Tỉnh Bắc Ninh" in page.text
        for province_id, heads in _heads_by_province(url).items():  # figures, never persons
            listing = on.get(f"/dashboard/list?kind=never_visited&unit={province_id}")
            # The lists behind the figures are closed to national accounts (an allowlist).
            assert listing.status == 403 and not [h for h in heads if h in listing.text]
    # Each admin's own province on the other server: its pages answer, no 500 anywhere.
    for code, (client, _data) in lists.items():
        other = Client(b if client.server is a else a)
        other.opener = client.opener
        for path in ("/dashboard", "/imports", f"/imports/{batches[code]}", "/summaries"):
            page = other.get(path)
            assert page.status == 200, (path, page.status, page.text[:300])

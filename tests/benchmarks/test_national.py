"""The national benchmark part, end to end at a tiny scale on PostgreSQL: three provinces built,
dumped and restored, every row measured with a sane value, and the dump reused the next time."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import create_engine

from benchmarks.imports_file import make_participants_xlsx
from benchmarks.national import RATIO_BUDGET, national_section
from benchmarks.national_data import PROVINCES, country_dataset
from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.skipif(not PG_ADMIN_URL, reason="needs OUTREACH_TEST_POSTGRES")

PERSONS = 300  # per province: build_demo's smallest
LIST_ROWS = 1500
SCALE = "small"  # names the databases and the cache folder; PERSONS decides the size


@pytest.fixture
def cleanup():
    yield
    engine = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as conn:
        for name in (f"bench_{SCALE}", f"bench_national_{SCALE}"):
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    engine.dispose()


def test_the_national_part_measures_every_row(tmp_path, cleanup):
    listed = make_participants_xlsx(tmp_path / "list.xlsx", LIST_ROWS, seed=1)
    said: list[str] = []
    rows = national_section(
        SCALE,
        PG_ADMIN_URL,
        said.append,
        persons=PERSONS,
        iterations=4,
        list_path=listed,
        cache_dir=tmp_path / "cache",
    )
    by_name = {row.name: row for row in rows}
    assert len(by_name) == len(rows), "row names repeat"
    for row in rows:
        counted = row.unit == "visits"  # visits answered busy: none is a fine answer
        assert math.isfinite(row.value) and (row.value > 0 or counted and row.value == 0), row
        assert row.backend == "postgresql"
    for page in ("worklist", "dashboard (commune)"):
        one = by_name[f"national: {page} p95, one province"].value
        three = by_name[f"national: {page} p95, three provinces"].value
        ratio = by_name[f"national: {page} p95, three / one"]
        assert ratio.value == pytest.approx(three / one)
        assert ratio.budget == RATIO_BUDGET
    assert by_name["national: dashboard (national) p95"].budget == 2000.0
    for pdf in ("p50", "p95"):
        assert f"national: bulletin PDF (national) {pdf}" in by_name
    (refresh,) = [
        r
        for n, r in by_name.items()
        if n.startswith("national: nightly refresh") and n.endswith("next night")
    ]
    assert refresh.unit == "s" and refresh.budget == 10.0 and refresh.value > 0
    for phase in ("idle", "during import"):
        for page in ("worklist", "household page", "visit POST", "dashboard (commune)"):
            assert by_name[f"national: {phase}: {page} p95"].unit == "ms"
        assert by_name[f"national: {phase}: visit POSTs answered busy (503)"].value >= 0
    assert by_name["national: import in a worker"].unit == "rows/s"
    assert by_name["national: page rounds during import"].value >= 1
    assert any("pg_dump -Fc" in message for message in said)

    # A second run restores the cached dump instead of building again.
    said.clear()
    dataset, again = country_dataset(
        PG_ADMIN_URL, SCALE, said.append, persons=PERSONS, cache_dir=tmp_path / "cache"
    )
    assert dataset.build.persons == PERSONS * len(PROVINCES)
    assert any(message.startswith("reusing") for message in said)
    assert not any("pg_dump -Fc into" in message for message in said)
    built = "national: build, 3 provinces (build_demo)"
    assert {r.name: r for r in again}[built].measured_at == by_name[built].measured_at

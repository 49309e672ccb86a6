"""The size on disk of the big append-only tables, per million rows, on PostgreSQL.

    python -m benchmarks.table_sizes postgresql://postgres@127.0.0.1:PORT/postgres [--persons N]

Builds the demo province (its visits and outcomes are the app's own rows, generated as a year of
canvassing makes them), adds audit entries shaped like the real ones (views of a person's record
with their detail), VACUUMs, and prints `pg_total_relation_size` (table + indexes + TOAST) per
million rows for `visit`, `visit_outcome` and `audit_log`. The numbers are in docs/operations.md.
"""

from __future__ import annotations

import argparse
from datetime import date

from sqlalchemy import create_engine, text
from sqlmodel import Session

from outreach.db import make_engine
from outreach.migrate import upgrade
from outreach.operations.demo import build_demo

TABLES = ("visit", "visit_outcome", "audit_log")
# An audit entry as the app writes one for a view of a person's record (the most common event).
AUDIT_ROWS = """
INSERT INTO audit_log (at, user_id, username, action, object_type, object_id, ip, detail)
SELECT now() - make_interval(secs => n), (SELECT min(id) FROM app_user) + n % (SELECT count(*) FROM app_user),
       'canbo.' || lpad((7000 + n % 99)::text, 5, '0') || '.' || (1 + n % 3),
       'view_person', 'person', (n % 250000)::text, '113.161.' || (n % 256) || '.' || (n % 200),
       '{"household": ' || (n % 120000) || ', "page": "visit_form"}'
FROM generate_series(1, :count) AS n
"""


def measure(admin_url: str, *, persons: int, audit_rows: int) -> dict[str, tuple[int, int]]:
    """Build the rows in a new database; (rows, total bytes) of each table."""
    admin = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS outreach_sizes WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE outreach_sizes"))
    url = admin_url.rsplit("/", 1)[0] + "/outreach_sizes"
    try:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            build_demo(session, persons=persons, seed=1, today=date(2026, 11, 22))
        with engine.begin() as conn:
            conn.execute(text(AUDIT_ROWS), {"count": audit_rows})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            sizes = {}
            for table in TABLES:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
                rows = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                size = conn.exec_driver_sql(f"SELECT pg_total_relation_size('{table}')").scalar()
                sizes[table] = (rows, size)
        engine.dispose()
        return sizes
    finally:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS outreach_sizes WITH (FORCE)"))
        admin.dispose()


def main() -> None:
    """Print each table's rows, total size and size per million rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("admin_url")
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--audit-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    sizes = measure(args.admin_url, persons=args.persons, audit_rows=args.audit_rows)
    for table, (rows, size) in sizes.items():
        per_million = size / rows * 1_000_000 / 2**20
        print(f"{table:<14} {rows:>10,} rows {size / 2**20:>9.1f} MiB  {per_million:>7.0f} MiB/M")


if __name__ == "__main__":
    main()

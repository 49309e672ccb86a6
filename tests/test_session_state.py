"""Nothing in the app outlives a transaction on its PostgreSQL connection, so it runs behind
pgbouncer in transaction mode (docs/operations.md): a guard on the code, on every backend."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "outreach"
# What would tie state to a server connection that pgbouncer hands to someone else next.
SESSION_STATE = {
    "a session advisory lock (use pg_advisory_xact_lock)": re.compile(
        r"pg_(try_)?advisory_lock(_shared)?\s*\("
    ),
    "SET outside a transaction (use SET LOCAL)": re.compile(
        r"""["']\s*SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_]+\s*(=|TO\b)""", re.I
    ),
    "LISTEN": re.compile(r"""["']\s*LISTEN\s""", re.I),
    "a temporary table kept past its transaction (add ON COMMIT DROP)": re.compile(
        r"CREATE\s+TEMP(ORARY)?\s+TABLE(?![^\"']*ON\s+COMMIT\s+DROP)", re.I
    ),
    "a statement prepared on the server (prepare=True)": re.compile(r"prepare\s*=\s*True"),
}


def offenders(text: str) -> list[str]:
    """The kinds of session state a piece of source code keeps."""
    return [name for name, pattern in SESSION_STATE.items() if pattern.search(text)]


def test_the_guard_recognises_session_state():
    assert offenders('conn.exec_driver_sql("SELECT pg_advisory_lock(42)")')
    assert offenders("conn.execute(text(\"SET statement_timeout = '5s'\"))")
    assert offenders('cur.execute("CREATE TEMP TABLE staging (id int)")')
    assert not offenders('conn.exec_driver_sql("SELECT pg_advisory_xact_lock(42)")')
    assert not offenders("conn.execute(text(\"SET LOCAL statement_timeout = '5s'\"))")
    assert not offenders('cur.execute("CREATE TEMP TABLE staging (id int) ON COMMIT DROP")')
    assert not offenders('"UPDATE household SET priority = 0"')


def test_no_code_keeps_state_on_a_postgresql_connection():
    found = {
        str(path.relative_to(PACKAGE)): kinds
        for path in sorted(PACKAGE.rglob("*.py"))
        if (kinds := offenders(path.read_text(encoding="utf-8")))
    }
    assert found == {}, f"breaks pgbouncer's transaction mode: {found}"

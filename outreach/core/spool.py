"""What a web request writes while a long import holds SQLite's only write lock (issue 19 #5).

On the embedded SQLite default one writer at a time may write, and an import writes its whole
file in one transaction (all of it or nothing), for up to a minute on a million rows. Meanwhile
canvassers log in and open household pages, and each of those appends audit entries. Those
writes are kept here instead, in a small SQLite file of their own beside the database (its own
lock, so never held up by the import), and moved into the database once it is free: at the end
of the import, and after the next write that gets through.

Only changes that can wait are kept here: audit entries, and a user's login bookkeeping (last
login, failed-login count, a re-hashed password, the session version a logout raises). A visit or
any other change is refused with "busy, try again" instead: the phone keeps its visit in the
outbox and sends it again (visits.sync), so nothing is lost and nothing is counted late by us.

PostgreSQL locks rows, not the database: none of this applies there.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from outreach.models import AuditLog, User

# What a spooled user change may touch: the login bookkeeping, nothing an admin decides.
_USER_SETS = ("last_login_at", "password_hash")
_USER_COUNTS = ("failed_logins", "session_version")
_AUDIT_FIELDS = ("user_id", "username", "action", "object_type", "object_id", "ip", "detail")


class NotDeferrable(Exception):
    """The unit of work holds a change that must not wait (a visit, an admin's edit)."""


def database_path(bind: Engine) -> Path | None:
    """The SQLite file behind an engine, or None (PostgreSQL, or SQLite in memory)."""
    if bind.dialect.name != "sqlite" or not bind.url.database or bind.url.database == ":memory:":
        return None
    return Path(bind.url.database)


def spool_path(bind: Engine) -> Path | None:
    """The spool file beside the database, or None where there is none to keep."""
    path = database_path(bind)
    return path.with_name(path.name + "-spool") if path is not None else None


# PostgreSQL's lock_not_available: a web request's lock_timeout ran out (db.make_engine).
_PG_LOCK_NOT_AVAILABLE = "55P03"


def is_locked(error: BaseException) -> bool:
    """Whether an error is SQLite's "database is locked" (another writer holds the lock), or
    PostgreSQL's lock wait running out for a web request."""
    if not isinstance(error, OperationalError):
        return False
    if getattr(error.orig, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE:
        return True
    text = str(error.orig).lower()
    return "database is locked" in text or "database table is locked" in text


# ---- the long writer's mark --------------------------------------------------------------------
#
# A web request should not wait out its busy timeout behind a write it knows will last: while an
# import writes, the file below names its process, and web connections stop waiting (db.py).


def _mark_path(bind: Engine) -> Path | None:
    path = database_path(bind)
    return path.with_name(path.name + "-writing") if path is not None else None


@contextmanager
def long_write(bind: Engine) -> Iterator[None]:
    """Mark, for as long as the block runs, that this process holds a long write transaction."""
    mark = _mark_path(bind)
    if mark is None:
        yield
        return
    mark.write_text(str(os.getpid()))
    try:
        yield
    finally:
        mark.unlink(missing_ok=True)


def long_write_under_way(bind: Engine) -> bool:
    """Whether a live process has marked a long write on this database."""
    mark = _mark_path(bind)
    if mark is None:
        return False
    try:
        pid = int(mark.read_text() or 0)
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:  # the importer died with its transaction: the mark means nothing
        return False
    except PermissionError:
        return True
    return True


# ---- keeping and replaying changes -------------------------------------------------------------


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
        "body TEXT NOT NULL)"
    )
    return conn


def _stamp(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _audit_row(entry: AuditLog) -> dict:
    row = {name: getattr(entry, name) for name in _AUDIT_FIELDS}
    row["at"] = _stamp(entry.at)
    return row


def _user_change(user: User) -> dict:
    state = inspect(user)
    change: dict = {"id": user.id, "set": {}, "add": {}}
    for name in _USER_SETS:
        history = state.attrs[name].history
        if history.added:
            change["set"][name] = _stamp(history.added[0])
    for name in _USER_COUNTS:
        history = state.attrs[name].history
        if history.added:
            before = history.deleted[0] if history.deleted else 0
            change["add"][name] = history.added[0] - (before or 0)
    return change


def _pending_changes(session: Session) -> list[tuple[str, dict]]:
    """The session's unflushed changes as spool rows, or NotDeferrable."""
    changes = []
    for obj in session.new:
        if not isinstance(obj, AuditLog):
            raise NotDeferrable(type(obj).__name__)
        changes.append(("audit", _audit_row(obj)))
    for obj in session.dirty:
        if not session.is_modified(obj):
            continue
        if not isinstance(obj, User) or _touches_more(obj):
            raise NotDeferrable(type(obj).__name__)
        changes.append(("user", _user_change(obj)))
    if session.deleted:
        raise NotDeferrable("delete")
    return changes


def _touches_more(user: User) -> bool:
    state = inspect(user)
    allowed = set(_USER_SETS) | set(_USER_COUNTS)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in allowed)


def keep(session: Session) -> int:
    """Move the session's pending changes into the spool (raises NotDeferrable if one can't
    wait); the caller then rolls the session back. Returns how many were kept."""
    path = spool_path(session.get_bind())
    if path is None:
        raise NotDeferrable("no spool on this database")
    changes = _pending_changes(session)
    with closing(_open(path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO pending (kind, body) VALUES (?, ?)",
            [(kind, json.dumps(body, ensure_ascii=False)) for kind, body in changes],
        )
        conn.execute("COMMIT")
    return len(changes)


def _rows(path: Path) -> list[tuple[int, str, dict]]:
    if not path.exists():
        return []
    with closing(_open(path)) as conn:
        return [
            (row_id, kind, json.loads(body))
            for row_id, kind, body in conn.execute("SELECT id, kind, body FROM pending ORDER BY id")
        ]


def kept_audit_rows(bind: Engine) -> list[dict]:
    """The audit entries waiting in the spool (the login lock counts them too)."""
    path = spool_path(bind)
    return [body for _id, kind, body in _rows(path) if kind == "audit"] if path else []


def _replay(session: Session, kind: str, body: dict) -> None:
    if kind == "audit":
        entry = AuditLog(**{name: body[name] for name in _AUDIT_FIELDS})
        entry.at = datetime.fromisoformat(body["at"])
        session.add(entry)
        return
    user = session.get(User, body["id"])
    if user is None:  # deleted since: its bookkeeping has nothing left to update
        return
    for name, value in body["set"].items():
        setattr(user, name, datetime.fromisoformat(value) if name.endswith("_at") else value)
    for name, delta in body["add"].items():
        setattr(user, name, (getattr(user, name) or 0) + delta)
    session.add(user)


def replay_kept(session: Session) -> int:
    """Write the spool's changes into the database and empty it; returns how many were moved.

    Commits (it is its own unit of work). The spool stays locked meanwhile, so two processes
    never replay the same rows. The database commit comes first and the spool's delete after
    it: a crash in between writes them twice on the next replay, never loses one (an audit log
    may repeat an entry; it must not miss one).
    """
    path = spool_path(session.get_bind())
    if path is None or not path.exists():
        return 0
    with closing(_open(path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute("SELECT id, kind, body FROM pending ORDER BY id").fetchall()
            for _row_id, kind, body in rows:
                _replay(session, kind, json.loads(body))
            if rows:
                session.commit()
                conn.execute("DELETE FROM pending WHERE id <= ?", (rows[-1][0],))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(rows)


def replay_if_any(session: Session) -> int:
    """`replay_kept`, skipped quietly when the database is busy again (the next try will do)."""
    try:
        return replay_kept(session)
    except OperationalError as error:
        with suppress(Exception):
            session.rollback()
        if is_locked(error):
            return 0
        raise


def has_kept(bind: Engine) -> bool:
    """Whether anything waits in the spool (cheap when nothing was ever kept: one stat)."""
    path = spool_path(bind)
    if path is None or not path.exists():
        return False
    with closing(_open(path)) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM pending)").fetchone()[0] == 1

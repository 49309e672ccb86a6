"""The database engine and one session per request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from outreach.core import spool
from outreach.core.bulk import FOREIGN_KEYS_OFF

T = TypeVar("T")

JOB_WAIT_MS = 30_000  # a job or a command waits for the lock as long as it takes


def make_engine(url: str, *, wait_ms: int = JOB_WAIT_MS, yield_to_long_writes: bool = False):
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so writers wait, not fail.

    A web engine (`yield_to_long_writes`) waits `wait_ms` at most, and not at all while an import
    holds the write lock for its whole file (`spool.long_write`): its request then keeps what can
    wait in the spool, or answers "busy" (issue 19 #5), rather than hanging past its budget.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": wait_ms / 1000}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
            cur.close()

        if yield_to_long_writes:

            @event.listens_for(engine, "checkout")
            def _wait_unless_long_write(dbapi_conn, _record, _proxy):
                wait = 0 if spool.long_write_under_way(engine) else int(wait_ms)
                dbapi_conn.execute(f"PRAGMA busy_timeout={wait}")

        @event.listens_for(engine, "checkin")
        def _foreign_keys_back(dbapi_conn, record):
            # A bulk load turned them off (`bulk.begin_trusted_load`); its transaction is over.
            if record.info.pop(FOREIGN_KEYS_OFF, False) and dbapi_conn is not None:
                dbapi_conn.execute("PRAGMA foreign_keys=ON")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # A web request waits `wait_ms` at most for a lock (a first load holds its tables until it
    # commits, docs/imports.md), then answers "busy" (503) rather than hanging past gunicorn's
    # timeout. Set at connection start: pgbouncer in transaction mode ignores it (no SET that
    # would outlive the transaction on a shared server connection).
    connect_args = {"options": f"-c lock_timeout={int(wait_ms)}"} if yield_to_long_writes else {}
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args
    )


def vacuum(engine: Engine, table: str) -> None:
    """Clear the dead row versions a whole-table update leaves behind (PostgreSQL only).

    Autovacuum would get there on its own, but until it does every worklist query wades through
    the old versions of the rows (measured: 3x slower right after a full refresh).
    """
    if engine.dialect.name != "postgresql":
        return  # SQLite rewrites rows in place; nothing to clear
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


def transaction_pooled(engine: Engine) -> Engine:
    """Make a PostgreSQL engine safe behind pgbouncer in transaction mode.

    Each transaction may run on another server connection, so nothing may outlive one: psycopg 3
    prepares a statement on the server after 5 runs (`prepare_threshold`), and the next
    transaction would ask a connection that never saw it. The app keeps no other session state
    (no SET, advisory locks, LISTEN or temporary tables outside a transaction).
    """
    if engine.dialect.name != "postgresql":
        return engine

    @event.listens_for(engine, "connect")
    def _no_server_prepared_statements(dbapi_conn, _record):
        dbapi_conn.prepare_threshold = None

    return engine


def make_replica_engine(app) -> Engine:
    """The engine of the streaming replica (DATABASE_REPLICA_URL), else the primary's own."""
    url = app.config.get("DATABASE_REPLICA_URL") or ""
    if not url:
        return app.extensions["engine"]
    engine = make_engine(url)
    return transaction_pooled(engine) if app.config.get("DATABASE_PGBOUNCER") else engine


def init_app(app) -> None:
    """Attach the engines to the app and close each request's sessions when the request ends."""
    from flask import g

    url = app.config["DATABASE_URL"]
    engine = make_engine(url, wait_ms=app.config["OUTREACH_WEB_WAIT_MS"], yield_to_long_writes=True)
    if app.config.get("DATABASE_PGBOUNCER"):
        transaction_pooled(engine)
    app.extensions["engine"] = engine
    # Background jobs in this process (an import's check and write) wait for the lock as long as
    # it takes, and never stop waiting because of their own mark.
    app.extensions["job_engine"] = make_engine(url) if url.startswith("sqlite") else engine
    app.extensions["read_engine"] = make_replica_engine(app)

    @app.teardown_appcontext
    def _close_session(_exc):
        for name in ("db_session", "read_session"):
            session = g.pop(name, None)
            if session is not None:
                session.close()


def get_session() -> Session:
    """The current request's session, opened on first use."""
    from flask import current_app, g

    if "db_session" not in g:
        g.db_session = RequestSession(current_app.extensions["engine"], expire_on_commit=False)
    return g.db_session


class RequestSession(Session):
    """A request's session; while `write_or_defer` replays a unit of work for the spool, its
    flushes do nothing, so the work runs (and reads) without touching the locked database."""

    def flush(self, objects=None) -> None:
        """Flush, unless this unit of work is being kept in the spool."""
        if not self.info.get("deferring"):
            super().flush(objects)


def read_session() -> Session:
    """The request's session for reads that may lag a few seconds: the replica's, if one is set.

    Only for read-only pages (dashboards, rankings, figures, exports), never for a write nor for
    the page that shows a write just made (docs/operations.md lists which pages use it). Without
    DATABASE_REPLICA_URL it is the request's own session.
    """
    from flask import current_app, g

    engine = current_app.extensions["read_engine"]
    if engine is current_app.extensions["engine"]:
        return get_session()
    if "read_session" not in g:
        g.read_session = Session(engine, expire_on_commit=False)
    return g.read_session


@contextmanager
def committing(session: Session) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back (and re-raised) if it raises.

    The rule (docs/architecture.md, "Transactions"): services flush, never commit; the request's
    view, the CLI command or the job that called them commits here, once.
    """
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def write_or_defer(session: Session, work: Callable[[Session], T]) -> T:
    """Run `work` and commit it; when a long import holds SQLite's lock, keep its changes in the
    spool instead (core/spool.py), if they can wait: audit entries and login bookkeeping.

    Anything else that cannot be written re-raises the lock error (the page answers "busy, try
    again", 503). After a write that went through, whatever the spool kept is moved in.
    """
    try:
        with committing(session):
            result = work(session)
    except OperationalError as error:
        session.rollback()  # a commit that failed leaves the session to roll back
        if not spool.is_locked(error):
            raise
        return _kept_for_later(session, work, error)
    if spool.has_kept(session.get_bind()):
        spool.replay_if_any(session)
    return result


def _kept_for_later(session: Session, work: Callable[[Session], T], error: Exception) -> T:
    session.info["deferring"] = True
    try:
        result = work(session)
        spool.keep(session)
    except spool.NotDeferrable:
        raise error from None
    finally:
        session.info.pop("deferring", None)
        session.rollback()
    return result

"""The database engine and one session per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from outreach.core.bulk import FOREIGN_KEYS_OFF


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so writers wait, not fail."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "checkin")
        def _foreign_keys_back(dbapi_conn, record):
            # A bulk load turned them off (`bulk.begin_trusted_load`); its transaction is over.
            if record.info.pop(FOREIGN_KEYS_OFF, False) and dbapi_conn is not None:
                dbapi_conn.execute("PRAGMA foreign_keys=ON")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


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

    engine = make_engine(app.config["DATABASE_URL"])
    if app.config.get("DATABASE_PGBOUNCER"):
        transaction_pooled(engine)
    app.extensions["engine"] = engine
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
        g.db_session = Session(current_app.extensions["engine"], expire_on_commit=False)
    return g.db_session


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

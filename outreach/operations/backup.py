"""Whole-database backups and restores: SQLite's online backup API, pg_dump/pg_restore on PostgreSQL.

A SQLite backup is itself a SQLite file (rollback journal, so it is one self-contained file),
taken page by page by `sqlite3.Connection.backup` while the app keeps serving. A PostgreSQL
backup is a plain `pg_dump -Fc` archive, so operators can also use the stock tools on it.

A restore first checks the file completely (right backend, complete, an outreach database whose
Alembic revision this code knows) and changes nothing if any check fails. On SQLite it works on a
copy next to the database and swaps it in with one atomic rename; on PostgreSQL pg_restore runs in
a single transaction. Either way a failed restore leaves the old database as it was. A backup from
an older version of the code is brought up to date by the migrations after the restore.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url

from outreach import migrate
from outreach.core.errors import DomainError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
PG_BIN_FALLBACK = Path("/usr/lib/postgresql/15/bin")
SQLITE_PAGES_PER_STEP = 1024  # copy 4 MB at a time, letting the app's writers in between


class BackupError(DomainError):
    """A backup or restore that cannot go ahead, with the Vietnamese reason (nothing changed)."""


@dataclass
class BackupInfo:
    """What a backup file holds: its backend, its schema revision and its size."""

    backend: str  # "sqlite" or "postgresql"
    revision: str
    path: Path
    size: int
    upgraded: bool = False  # set by a restore that had to migrate an older backup


def backend_of(database_url: str) -> str:
    """ "sqlite" or "postgresql", from a database URL."""
    name = make_url(database_url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"Không hỗ trợ sao lưu cơ sở dữ liệu loại {name}.")
    return name


# --- revisions --------------------------------------------------------------------------------


def _scripts(database_url: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config(database_url))


def head_revision(database_url: str) -> str:
    """The newest Alembic revision this code knows."""
    return _scripts(database_url).get_current_head()


def _check_revision(database_url: str, revision: str | None) -> None:
    """Refuse a backup without a schema revision, or from a newer version of the code."""
    if not revision:
        raise BackupError("Tệp không phải bản sao lưu của outreach (không có phiên bản cấu trúc).")
    try:
        script = _scripts(database_url).get_revision(revision)
        known = script is not None and script.revision == revision  # no prefix matches
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"Bản sao lưu có cấu trúc phiên bản {revision}, mới hơn phần mềm này "
            f"({head_revision(database_url)}): hãy cập nhật phần mềm trước khi phục hồi."
        )


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
    return Path(database)


def _sqlite_backup(database_url: str, target: Path) -> None:
    source_path = _sqlite_path(database_url)
    if not source_path.is_file():
        raise BackupError(f"Không tìm thấy cơ sở dữ liệu {source_path}.")
    partial = _partial_name(target)
    try:
        source = sqlite3.connect(source_path, timeout=30)
        copy = sqlite3.connect(partial)
        try:
            # The online backup API: a consistent snapshot, restarted by SQLite if a writer
            # changes a page already copied, while the app keeps reading and writing.
            source.backup(copy, pages=SQLITE_PAGES_PER_STEP)
            # One self-contained file: a rollback journal instead of WAL (the app switches
            # a restored database back to WAL when it opens it).
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            source.close()
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def _sqlite_expected_size(header: bytes) -> int | None:
    """The file size a complete database has, from its header (None if the header cannot say)."""
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count, valid_for = (
        struct.unpack(">I", header[24:28])[0],
        struct.unpack(">I", header[28:32])[0],
        struct.unpack(">I", header[92:96])[0],
    )
    if page_count == 0 or change_counter != valid_for:
        return None  # an old writer left the count unset: integrity_check still reads every page
    return page_size * page_count


def _sqlite_inspect(database_url: str, path: Path) -> BackupInfo:
    """Check a SQLite backup file (complete, intact, an outreach database) without changing it."""
    header = _head(path, 100)
    if not header.startswith(SQLITE_MAGIC):
        _refuse_other(header, "sqlite")
    expected = _sqlite_expected_size(header) if len(header) == 100 else None
    size = path.stat().st_size
    if len(header) < 100 or (expected is not None and size != expected):
        raise BackupError("Tệp sao lưu bị cắt cụt hoặc hỏng (thiếu dữ liệu); không phục hồi.")
    # Checked on a private copy: opening the file itself could create -wal/-shm files beside it.
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "check.sqlite3"
        shutil.copyfile(path, copy)
        revision = _sqlite_check_copy(copy)
    _check_revision(database_url, revision)
    return BackupInfo("sqlite", revision, path, size)


def _sqlite_check_copy(copy: Path) -> str | None:
    """integrity_check on a copy of a backup, then its Alembic revision."""
    try:
        conn = sqlite3.connect(copy)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                raise BackupError(
                    "Tệp sao lưu bị hỏng (kiểm tra toàn vẹn không đạt); không phục hồi."
                )
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        if "alembic_version" in str(error):
            return None
        raise BackupError(
            f"Tệp sao lưu bị hỏng hoặc bị cắt cụt; không phục hồi. (SQLite: {error})"
        ) from error
    return row[0] if row else None


def _sqlite_restore(database_url: str, info: BackupInfo) -> bool:
    """Swap the backup in for the database file; returns whether migrations had to run."""
    target = _sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = _partial_name(target)
    try:
        shutil.copyfile(info.path, staged)
        upgraded = info.revision != head_revision(database_url)
        if upgraded:  # an older backup: migrate the copy, so the swap stays all-or-nothing
            migrate.upgrade(f"sqlite:///{staged}")
            _sqlite_to_rollback_journal(Path(staged))
        if target.exists():
            _sqlite_release(target)
        os.replace(staged, target)
    finally:
        Path(staged).unlink(missing_ok=True)
    return upgraded


def _sqlite_to_rollback_journal(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


def _sqlite_release(target: Path) -> None:
    """Fold the live database's WAL into it and drop the -wal/-shm files before the swap.

    A WAL left beside the new file would be replayed onto it. Leaving WAL mode needs the only
    connection, so this also proves no app server has the database open.
    """
    conn = sqlite3.connect(target, timeout=5)
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError:
        mode = "busy"
    finally:
        conn.close()
    if mode.lower() != "delete":
        raise BackupError(
            "Cơ sở dữ liệu đang được dùng: hãy dừng máy chủ ứng dụng rồi phục hồi lại. "
            "Chưa có gì thay đổi."
        )


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """The path of pg_dump / pg_restore: on PATH, else PostgreSQL 15's Debian folder."""
    found = shutil.which(name)
    if found:
        return found
    fallback = PG_BIN_FALLBACK / name
    if fallback.is_file():
        return str(fallback)
    raise BackupError(f"Không tìm thấy chương trình {name} (cài gói postgresql-client).")


def _pg_connection(database_url: str) -> tuple[list[str], dict[str, str]]:
    """libpq options and environment for a URL (the password goes in the environment, not argv)."""
    url = make_url(database_url)
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def _pg_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"mã lỗi {result.returncode}"


def _pg_backup(database_url: str, target: Path) -> None:
    args, env = _pg_connection(database_url)
    partial = _partial_name(target)
    try:
        result = _run([pg_tool("pg_dump"), "--format=custom", "--file", partial, *args], env)
        if result.returncode != 0:
            raise BackupError(f"pg_dump không chạy được: {_pg_error(result)}")
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def _pg_inspect(database_url: str, path: Path) -> BackupInfo:
    """Check a pg_dump archive: the whole of it must read back, and its Alembic revision."""
    header = _head(path, len(PG_MAGIC))
    if header != PG_MAGIC:
        _refuse_other(header, "postgresql")
    restore = pg_tool("pg_restore")
    # Reading every table's data out to nowhere finds a truncated or damaged archive.
    whole = _run([restore, "--file", os.devnull, str(path)])
    if whole.returncode != 0:
        raise BackupError(
            f"Tệp sao lưu bị cắt cụt hoặc hỏng; không phục hồi. (pg_restore: {_pg_error(whole)})"
        )
    data = _run([restore, "--data-only", "--table", "alembic_version", "--file", "-", str(path)])
    revision = _copy_value(data.stdout)
    _check_revision(database_url, revision)
    return BackupInfo("postgresql", revision or "", path, path.stat().st_size)


def _copy_value(script: str) -> str | None:
    """The first value of the first COPY block of a pg_restore script (the revision)."""
    lines = iter(script.splitlines())
    for line in lines:
        if line.startswith("COPY "):
            value = next(lines, "\\.")
            return None if value == "\\." else value.split("\t")[0]
    return None


# A backup older than the code lacks the tables added since, and their references to the old
# tables stop `pg_restore --clean` from dropping those. So the schema is emptied first, in the
# same transaction as the restore: psql runs this prelude, then the backup's script, as one.
PG_PRELUDE = b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"


def _pg_restore(database_url: str, info: BackupInfo) -> bool:
    args, env = _pg_connection(database_url)
    with tempfile.TemporaryFile() as dump_err, tempfile.TemporaryFile() as psql_err:
        script = subprocess.Popen(
            [pg_tool("pg_restore"), "--no-owner", "--file", "-", str(info.path)],
            stdout=subprocess.PIPE,
            stderr=dump_err,
        )
        psql = subprocess.Popen(
            [pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction"]
            + ["--set", "ON_ERROR_STOP=1", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=env,
        )
        # A BrokenPipeError means psql stopped on an error: its exit status says so below.
        with contextlib.suppress(BrokenPipeError):
            psql.stdin.write(PG_PRELUDE)
            shutil.copyfileobj(script.stdout, psql.stdin, 1 << 20)
        if script.wait() != 0:
            psql.kill()  # the connection drops before COMMIT: nothing of it stays
            psql.wait()
            dump_err.seek(0)
            raise BackupError(
                "Tệp sao lưu không đọc được; cơ sở dữ liệu giữ nguyên như trước. "
                f"(pg_restore: {_last_line(dump_err.read())})"
            )
        with contextlib.suppress(BrokenPipeError):
            psql.stdin.close()
        if psql.wait() != 0:
            psql_err.seek(0)
            raise BackupError(
                "Phục hồi không thành công, cơ sở dữ liệu giữ nguyên như trước. "
                f"(psql: {_last_line(psql_err.read())})"
            )
    upgraded = info.revision != head_revision(database_url)
    if upgraded:
        migrate.upgrade(database_url)
    return upgraded


def _last_line(output: bytes) -> str:
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "?"


# --- shared -----------------------------------------------------------------------------------


def _partial_name(target: Path) -> str:
    """A temporary name beside the target, so the final rename stays on one file system."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    return name


def _head(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def _refuse_other(header: bytes, backend: str) -> None:
    """Explain why a file that is not a backup for this backend is refused."""
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    other = {SQLITE_MAGIC[:5]: "sqlite", PG_MAGIC: "postgresql"}.get(header[:5])
    if other is None or other == backend:
        raise BackupError("Tệp không phải bản sao lưu của outreach; không phục hồi.")
    raise BackupError(
        f"Tệp là bản sao lưu {names[other]}, còn cơ sở dữ liệu đang dùng là {names[backend]}: "
        "không phục hồi được. Chưa có gì thay đổi."
    )


def backup_database(database_url: str, *, target: Path) -> BackupInfo:
    """Write a consistent backup of the whole database to `target` (replaced only when complete)."""
    target = Path(target)
    if target.is_dir():
        raise BackupError(f"{target} là một thư mục; hãy ghi tên tệp sao lưu.")
    if not target.parent.is_dir():
        raise BackupError(f"Không có thư mục {target.parent}.")
    backend = backend_of(database_url)
    if backend == "sqlite":
        _sqlite_backup(database_url, target)
    else:
        _pg_backup(database_url, target)
    return inspect_backup(database_url, source=target)


def inspect_backup(database_url: str, *, source: Path) -> BackupInfo:
    """Check that `source` is a complete outreach backup this database and code can take."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"Không tìm thấy tệp sao lưu {source}.")
    if source.stat().st_size == 0:
        raise BackupError("Tệp sao lưu rỗng; không phục hồi.")
    if backend_of(database_url) == "sqlite":
        return _sqlite_inspect(database_url, source)
    return _pg_inspect(database_url, source)


def restore_database(database_url: str, *, source: Path) -> BackupInfo:
    """Replace the whole database with a checked backup (all or nothing); app servers stopped."""
    info = inspect_backup(database_url, source=source)
    if info.backend == "sqlite":
        info.upgraded = _sqlite_restore(database_url, info)
    else:
        info.upgraded = _pg_restore(database_url, info)
    return info

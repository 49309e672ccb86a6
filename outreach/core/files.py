"""Files in the database, for every server and worker: rows of `stored_file`, in pieces of a few
megabytes, each owned by a row of another table (an import batch, a background job).

No server's disk holds them (issue 23): any app server serves what a worker wrote. A piece is at
most `PIECE_BYTES`, well under any blob limit; a file is written in its writer's transaction, so a
job killed mid-way leaves none of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import delete
from sqlmodel import Session, select

from outreach.models import StoredFile

PIECE_BYTES = 4 * 1024 * 1024  # a 200 MB upload is 50 rows


def put(session: Session, owner: tuple[str, int], purpose: str, data: bytes) -> None:
    """Store (or replace) one of an owner's files (flushed, not committed)."""
    put_pieces(session, owner, purpose, _split(data))


def _split(data: bytes) -> Iterator[bytes]:
    for start in range(0, max(len(data), 1), PIECE_BYTES):
        yield data[start : start + PIECE_BYTES]


def put_pieces(
    session: Session, owner: tuple[str, int], purpose: str, pieces: Iterable[bytes]
) -> int:
    """Store (or replace) a file from its pieces as they come (never whole in memory); returns
    its size (flushed, not committed)."""
    remove(session, owner, purpose)
    owner_type, owner_id = owner
    size = 0
    for seq, piece in enumerate(pieces):
        session.add(
            StoredFile(
                owner_type=owner_type, owner_id=owner_id, purpose=purpose, seq=seq, data=piece
            )
        )
        session.flush()
        size += len(piece)
    return size


def pieces(session: Session, owner: tuple[str, int], purpose: str) -> Iterator[bytes]:
    """An owner's file, a piece at a time, in order."""
    owner_type, owner_id = owner
    query = (
        select(StoredFile.data)
        .where(
            StoredFile.owner_type == owner_type,
            StoredFile.owner_id == owner_id,
            StoredFile.purpose == purpose,
        )
        .order_by(StoredFile.seq)
    )
    yield from session.execute(query.execution_options(yield_per=1)).scalars()


def get(session: Session, owner: tuple[str, int], purpose: str) -> bytes | None:
    """One of an owner's files whole, or None if it has none (never stored, or deleted)."""
    found = list(pieces(session, owner, purpose))
    return b"".join(found) if found else None


def remove(session: Session, owner: tuple[str, int], purpose: str | None = None) -> None:
    """Delete one of an owner's files, or all of them (flushed)."""
    owner_type, owner_id = owner
    stmt = delete(StoredFile).where(
        StoredFile.owner_type == owner_type, StoredFile.owner_id == owner_id
    )
    if purpose is not None:
        stmt = stmt.where(StoredFile.purpose == purpose)
    session.execute(stmt)

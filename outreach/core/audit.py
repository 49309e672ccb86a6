"""The audit log: appending events, and reading them back for the admins (never changing them).

There is deliberately no function here that updates or deletes an entry: the app only appends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain

from sqlalchemy import func, tuple_
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.formatting import excel_csv
from outreach.core.i18n import _l
from outreach.core.periods import local_midnight
from outreach.models import AuditLog, GeoUnit, User

# The address of the request being served, set by the web layer for each request, so that
# services that audit deep inside (assignments, publishing, reviews) record "from where" too.
request_ip: ContextVar[str] = ContextVar("audit_request_ip", default="")

EXPORT_LIMIT = 100_000
PAGE_SIZE = 50


def record_event(
    session: Session,
    *,
    action: str,
    user_id: int | None = None,
    username: str = "",
    object_type: str = "",
    object_id: str | int = "",
    ip: str = "",
    detail: dict | None = None,
) -> AuditLog:
    """Append one event; the caller's transaction commits it with the change it describes."""
    entry = AuditLog(
        action=action,
        user_id=user_id,
        username=username[:80],
        object_type=object_type,
        object_id=str(object_id),
        ip=(ip or request_ip.get())[:64],
        detail=json.dumps(detail, ensure_ascii=False) if detail else "",
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """What the admin narrows the log to; empty fields do not filter."""

    username: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    ip: str = ""
    date_from: date | None = None
    date_to: date | None = None  # included

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (dates as dd/mm/yyyy), empty ones left out."""
        args = {
            "user": self.username,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "ip": self.ip,
            "from": self.date_from.strftime("%d/%m/%Y") if self.date_from else "",
            "to": self.date_to.strftime("%d/%m/%Y") if self.date_to else "",
        }
        return {k: v for k, v in args.items() if v}


@dataclass
class AuditPage:
    """One page of entries (newest first), with the cursor of the next page if there is one."""

    entries: list[AuditLog] = field(default_factory=list)
    next_before: int | None = None


def _filtered(stmt, filters: AuditFilter, province_id: int):
    """Apply the filters and the province scope to a select over AuditLog."""
    # "Not by a user of another province" rather than "by a user of this one": the deployment
    # usually has no other province, and an expression the planner cannot match to an index keeps
    # it walking the (at) index newest first instead of gathering and sorting every entry.
    elsewhere = (
        select(User.id)
        .join(GeoUnit, GeoUnit.id == User.scope_unit_id)
        .where(func.coalesce(GeoUnit.province_id, GeoUnit.id) != province_id)
    )
    # Failed logins of unknown names have no user: every admin of the deployment sees them.
    stmt = stmt.where(func.coalesce(AuditLog.user_id, 0).not_in(elsewhere))
    if filters.username:
        stmt = stmt.where(AuditLog.username == filters.username.strip().lower())
    if filters.action:
        stmt = stmt.where(AuditLog.action == filters.action)
    if filters.object_type:
        stmt = stmt.where(AuditLog.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditLog.object_id == filters.object_id.strip())
    if filters.ip:
        stmt = stmt.where(AuditLog.ip == filters.ip.strip())
    if filters.date_from:
        stmt = stmt.where(AuditLog.at >= local_midnight(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditLog.at < local_midnight(filters.date_to + timedelta(days=1)))
    return stmt


def search_events(
    session: Session,
    *,
    filters: AuditFilter,
    province_id: int,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """A page of matching entries, newest first, after the entry `before` (keyset paging).

    Keyset rather than OFFSET: the log grows by millions of rows and a deep OFFSET reads them all.
    """
    stmt = _filtered(select(AuditLog), filters, province_id)
    if before is not None:
        cursor = session.get(AuditLog, before)
        if cursor is not None:
            # A row-value comparison, which both databases answer from the (at) index.
            stmt = stmt.where(tuple_(AuditLog.at, AuditLog.id) < tuple_(cursor.at, before))
    rows = list(
        session.exec(stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit + 1))
    )
    page = AuditPage(entries=rows[:limit])
    if len(rows) > limit:
        page.next_before = rows[limit - 1].id
    return page


# Translated when written: in the language of the request, if the rows are made within one.
EXPORT_HEADER = (
    _l("Thời điểm (giờ Việt Nam)"),
    _l("Tên đăng nhập"),
    _l("Mã người dùng"),
    _l("Thao tác"),
    _l("Loại đối tượng"),
    _l("Mã đối tượng"),
    _l("Địa chỉ IP"),
    _l("Chi tiết"),
)


def export_csv(
    session: Session,
    *,
    filters: AuditFilter,
    province_id: int,
    labels: dict[str, str],
    limit: int = EXPORT_LIMIT,
) -> Iterator[str]:
    """The matching entries as CSV text chunks that Excel set to Vietnamese opens (";" between
    cells, UTF-8 with BOM: `formatting.excel_csv`), newest first, bounded.

    Every cell goes through safe_cell: a user name or detail starting with =, +, - or @ is text.
    Every field is quoted, so a separator inside a value ("a;=1+1;b") can never split it into a
    cell that starts a formula.
    """
    stmt = _filtered(select(AuditLog), filters, province_id)
    stmt = stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    entries = (
        (
            vietnam_time(entry.at),
            entry.username,
            entry.user_id or "",
            labels.get(entry.action, entry.action),
            entry.object_type,
            entry.object_id,
            entry.ip,
            entry.detail,
        )
        for entry in session.exec(stmt.execution_options(yield_per=1000))
    )
    # The header's lazy titles become plain text in safe_cell, in the request's language.
    yield from excel_csv(chain([EXPORT_HEADER], entries))


def vietnam_time(moment: datetime) -> str:
    """dd/mm/yyyy HH:MM:SS in Vietnam for a stored moment (naive ones are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S")

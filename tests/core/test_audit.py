"""The audit service: appends only, takes the request's address, filters and pages the log."""

from __future__ import annotations

import csv
import inspect
import io
import re
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from outreach.core import audit
from outreach.core.audit import AuditFilter, export_csv, record_event, search_events
from outreach.models import AuditLog, GeoUnit, User


def _province(session) -> int:
    return session.exec(select(GeoUnit).where(GeoUnit.kind == "province")).first().id


def _admin(session) -> User:
    return session.exec(select(User).where(User.username == "admin")).one()


def test_the_service_only_appends():
    source = inspect.getsource(audit)
    assert not re.search(r"\b(update|delete)\s*\(|\.delete\b|session\.merge", source)
    public = {
        name
        for name, value in vars(audit).items()
        if inspect.isfunction(value)
        and value.__module__ == audit.__name__
        and not name.startswith("_")
    }
    assert public == {"record_event", "search_events", "export_csv", "vietnam_time"}


def test_the_request_address_is_used_when_the_caller_gives_none(session):
    token = audit.request_ip.set("192.0.2.5")
    try:
        implicit = record_event(session, action="assign", username="lanhdao.07210")
        explicit = record_event(session, action="login", username="admin", ip="192.0.2.9")
    finally:
        audit.request_ip.reset(token)
    outside = record_event(session, action="assign", username="cli")
    session.commit()
    assert (implicit.ip, explicit.ip, outside.ip) == ("192.0.2.5", "192.0.2.9", "")


def test_filters_and_province_scope(session):
    admin = _admin(session)
    at = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)  # 10:00 on the 10th in Vietnam
    rows = [
        ("login", "admin", admin.id, "", "", "10.0.0.1"),
        ("view_household", "admin", admin.id, "household", "7", "10.0.0.2"),
        ("login_failed", "ai.do", None, "", "", "10.0.0.3"),
    ]
    for n, (action, username, user_id, otype, oid, ip) in enumerate(rows):
        record_event(
            session,
            action=action,
            username=username,
            user_id=user_id,
            object_type=otype,
            object_id=oid,
            ip=ip,
        ).at = at + timedelta(hours=n)
    session.commit()
    province = _province(session)

    def found(**kwargs) -> list[str]:
        page = search_events(session, filters=AuditFilter(**kwargs), province_id=province)
        return [e.action for e in page.entries]

    assert found(username="ADMIN ")[:2] == ["view_household", "login"]
    assert found(action="login_failed") == ["login_failed"]
    assert found(object_type="household", object_id="7") == ["view_household"]
    assert found(ip="10.0.0.3") == ["login_failed"]
    assert found(date_from=date(2026, 11, 10), date_to=date(2026, 11, 10)) == [
        "login_failed",
        "view_household",
        "login",
    ]
    assert found(date_to=date(2026, 11, 9)) == []
    # Another province's entries belong to its own admins.
    # Another province's admins see only the entries of no user (failed logins of unknown names).
    elsewhere = search_events(session, filters=AuditFilter(), province_id=-1).entries
    assert elsewhere and all(e.user_id is None for e in elsewhere)


def test_keyset_paging_breaks_ties_by_id(session):
    admin = _admin(session)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(7):
        record_event(session, action="logout", user_id=admin.id, object_id=n).at = at
    session.commit()
    seen, before = [], None
    while True:
        page = search_events(
            session,
            filters=AuditFilter(action="logout"),
            province_id=_province(session),
            before=before,
            limit=3,
        )
        seen += [e.object_id for e in page.entries]
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == [str(n) for n in reversed(range(7))]


def test_export_is_bounded_labelled_and_in_vietnam_time(session):
    admin = _admin(session)
    for n in range(5):
        record_event(session, action="login", user_id=admin.id, username="admin").at = datetime(
            2026, 11, 21, 17, n, tzinfo=UTC
        )
    session.commit()
    text = "".join(
        export_csv(
            session,
            filters=AuditFilter(action="login"),
            province_id=_province(session),
            labels={"login": "Đăng nhập"},
            limit=3,
        )
    )
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 1 + 3 and rows[0] == list(audit.EXPORT_HEADER)
    assert rows[1][0] == "22/11/2026 00:04:00" and rows[1][3] == "Đăng nhập"


def test_the_log_table_has_indexes_for_each_filter():
    indexed = {tuple(c.name for c in index.columns) for index in AuditLog.__table__.indexes}
    for columns in [
        ("at",),
        ("user_id", "at"),
        ("action", "at"),
        ("username", "at"),
        ("object_type", "object_id", "at"),
        ("ip", "at"),
    ]:
        assert columns in indexed, columns

"""Writing to the audit log (it is only ever appended to)."""

from __future__ import annotations

import json

from sqlmodel import Session

from ..models import AuditLog


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
        ip=ip[:64],
        detail=json.dumps(detail, ensure_ascii=False) if detail else "",
    )
    session.add(entry)
    return entry

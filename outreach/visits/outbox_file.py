"""The last resort: a phone's unsent visits, exported as a file, imported by an admin.

When a phone cannot send (a broken browser, no signal for weeks), the canvasser presses "Xuất dữ
liệu chưa gửi" and passes the file on. Each visit in it goes through the same `sync_visits` as the
phone's own sending, as the canvasser who recorded it: the same checks, the same scope tokens, and
the same UUIDs, so a visit the phone did manage to send is a duplicate, never stored twice.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.scope import scope_for
from outreach.models import User
from outreach.models.codes import Role
from outreach.visits.sync import MAX_BATCH, ItemResult, counts, sync_visits

FORMAT = "outreach-outbox"


class OutboxFileError(DomainError):
    """A file that is not an exported outbox, with the reason (in the user's language)."""


@dataclass
class OutboxImport:
    """What the file's visits became, and why the refused ones were refused."""

    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def read_outbox_file(data: bytes) -> dict[int | None, list]:
    """The file's visits by the id of the canvasser who recorded them."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise OutboxFileError(_("Tệp không phải dữ liệu lượt thăm xuất từ ứng dụng.")) from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise OutboxFileError(_("Tệp không phải dữ liệu lượt thăm xuất từ ứng dụng."))
    entries = document.get("visits")
    if not isinstance(entries, list):
        raise OutboxFileError(_("Tệp không có danh sách lượt thăm."))
    by_user: dict[int | None, list] = defaultdict(list)
    for entry in entries:
        if isinstance(entry, dict):
            user_id = entry.get("user_id")
            by_user[user_id if isinstance(user_id, int) else None].append(entry.get("visit"))
    return dict(by_user)


def import_outbox(
    session: Session, *, data: bytes, today: date, secret: str, now: datetime | None = None
) -> OutboxImport:
    """Store an exported outbox's visits as their canvassers would have sent them."""
    outcome = OutboxImport()
    for user_id, visits in read_outbox_file(data).items():
        canvasser = session.get(User, user_id) if user_id is not None else None
        if canvasser is None or canvasser.role != Role.CANVASSER:
            outcome.counts["rejected"] += len(visits)
            outcome.problems.append(
                _(
                    "%(count)s lượt thăm không rõ của cán bộ nào (mã người dùng %(user_id)s).",
                    count=len(visits),
                    user_id=user_id,
                )
            )
            continue
        scope = scope_for(session, canvasser)
        for start in range(0, len(visits), MAX_BATCH):
            results = sync_visits(
                session,
                canvasser=canvasser,
                scope=scope,
                items=visits[start : start + MAX_BATCH],
                today=today,
                now=now,
                secret=secret,
            )
            outcome.counts.update(counts(results))
            outcome.problems += [_problem(canvasser, r) for r in results if r.errors]
    return outcome


def _problem(canvasser: User, result: ItemResult) -> str:
    reasons = " ".join(result.errors.values())
    return _(
        "%(username)s, lượt thăm %(uuid)s: %(reasons)s",
        username=canvasser.username,
        uuid=result.client_uuid or "?",
        reasons=reasons,
    )

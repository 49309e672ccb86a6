"""The last resort: a phone's unsent visits, exported as a file, imported by an admin.

When a phone cannot send (a broken browser, no signal for weeks), the canvasser presses "Xuất dữ
liệu chưa gửi" and passes the file on. Each visit in it goes through the same `sync_visits` as the
phone's own sending, as the canvasser who recorded it: the same checks, the same scope tokens, and
the same UUIDs, so a visit the phone did manage to send is a duplicate, never stored twice.

Whose visits they are is not the file's word for it: the server hands each logged-in canvasser a
signed token (`outbox_token`, in /session.json), the phone keeps it with the visits that user
records and writes it next to each of them in the export. A file whose entry carries no token
signed with the app's secret for that entry's user_id is refused whole, before anything is stored
(issue 19 #14: a canvasser could otherwise store visits as a canvasser of another commune). Every
import, refused or not, is audited: who ran it, the file's SHA-256, and what became of its visits.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlmodel import Session

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.scope import scope_for
from outreach.models import User
from outreach.models.codes import Role
from outreach.visits.sync import MAX_BATCH, ItemResult, counts, sync_visits

FORMAT = "outreach-outbox"
OUTBOX_TOKEN_SALT = "outbox-export"
# A phone that cannot send for weeks still exports with the token it last received.
OUTBOX_TOKEN_MAX_AGE_DAYS = 90
MAX_OUTBOX_TOKEN = 200


def outbox_token(*, secret: str, user_id: int) -> str:
    """A signed, dated proof that this user was logged in on the phone: the export's signature."""
    return URLSafeTimedSerializer(secret, salt=OUTBOX_TOKEN_SALT).dumps(user_id)


def token_user(
    *, secret: str, token: object, max_age_days: int = OUTBOX_TOKEN_MAX_AGE_DAYS
) -> int | None:
    """The user a token was signed for within max_age_days; None for anything else."""
    if not isinstance(token, str) or not token or len(token) > MAX_OUTBOX_TOKEN:
        return None
    try:
        user_id = URLSafeTimedSerializer(secret, salt=OUTBOX_TOKEN_SALT).loads(
            token, max_age=max_age_days * 86400
        )
    except BadData:  # another secret, another salt, expired, or garbage
        return None
    return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None


class OutboxFileError(DomainError):
    """A file that is not an exported outbox, with the reason (in the user's language)."""


@dataclass
class OutboxImport:
    """What the file's visits became, and why the refused ones were refused."""

    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def read_outbox_file(data: bytes, *, secret: str) -> dict[int, list]:
    """The file's visits by the id of the canvasser who recorded them, each signature checked.

    Raises OutboxFileError, and nothing is stored, when any entry is not signed for its user.
    """
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise OutboxFileError(_("Tệp không phải dữ liệu lượt thăm xuất từ ứng dụng.")) from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise OutboxFileError(_("Tệp không phải dữ liệu lượt thăm xuất từ ứng dụng."))
    entries = document.get("visits")
    if not isinstance(entries, list):
        raise OutboxFileError(_("Tệp không có danh sách lượt thăm."))
    by_user: dict[int, list] = defaultdict(list)
    unsigned: Counter = Counter()
    for entry in entries:
        if not isinstance(entry, dict):
            unsigned["?"] += 1
            continue
        user_id = entry.get("user_id")
        signed_for = token_user(secret=secret, token=entry.get("signature"))
        if signed_for is None or signed_for != user_id:
            unsigned[str(user_id)] += 1
            continue
        by_user[signed_for].append(entry.get("visit"))
    if unsigned:
        raise OutboxFileError(
            _(
                "Tệp có %(count)s lượt thăm không có chữ ký hợp lệ của cán bộ đã ghi "
                "(mã người dùng %(user_ids)s): không lưu lượt thăm nào. Hãy để cán bộ đăng nhập "
                "trên máy đó rồi gửi hoặc xuất lại.",
                count=sum(unsigned.values()),
                user_ids=", ".join(sorted(unsigned)),
            )
        )
    return dict(by_user)


def import_outbox(
    session: Session,
    *,
    data: bytes,
    today: date,
    secret: str,
    now: datetime | None = None,
    run_by: User | None = None,
    run_as: str = "",
) -> OutboxImport:
    """Store an exported outbox's visits as their canvassers would have sent them.

    A job that is its own unit of work (each visit is committed alone, as a sync's). The audit entry
    of the import (`outbox.import`, or `outbox.import_refused` with the reason before the
    OutboxFileError is raised) is added last, for the caller to commit whatever the result.
    `run_by` is the admin who ran it, when known; `run_as` the system account that did.
    """
    digest = hashlib.sha256(data).hexdigest()
    detail: dict = {"sha256": digest, "bytes": len(data)}
    if run_as:
        detail["run_as"] = run_as

    def audit(action: str, **more) -> None:
        record_event(
            session,
            action=action,
            user_id=run_by.id if run_by else None,
            username=run_by.username if run_by else "cli",
            object_type="outbox_file",
            object_id=digest[:40],
            ip="cli",
            detail={**detail, **more},
        )

    try:
        by_user = read_outbox_file(data, secret=secret)
    except OutboxFileError as error:
        audit("outbox.import_refused", reason=str(error))
        raise
    outcome = OutboxImport()
    for user_id, visits in by_user.items():
        canvasser = session.get(User, user_id)
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
    audit(
        "outbox.import",
        canvassers=sorted(by_user),
        visits=sum(len(visits) for visits in by_user.values()),
        stored=outcome.counts["stored"],
        duplicates=outcome.counts["duplicates"],
        rejected=outcome.counts["rejected"],
    )
    return outcome


def _problem(canvasser: User, result: ItemResult) -> str:
    reasons = " ".join(result.errors.values())
    return _(
        "%(username)s, lượt thăm %(uuid)s: %(reasons)s",
        username=canvasser.username,
        uuid=result.client_uuid or "?",
        reasons=reasons,
    )

"""Syncing the visits a phone recorded offline: each JSON item checked by the contract, stored alone.

The browser keeps an outbox of visits and sends it in batches when the signal returns. Each item is
independent: a bad item is rejected with its reasons and the others are still stored; a replay of
an item already stored is reported as a duplicate, never stored twice (the client's UUID is the
key), and the same UUID with other content is a conflict: not stored, and kept on the phone with
its message, never dropped as if it were on the server. A visit that arrives later than the
offline window (`OUTREACH_OFFLINE_WINDOW_DAYS`) is stored and counts on the day it arrived, flagged
"late" for the leader (tallies/service.py, `counted_day`). A visit to a household that left the
canvasser's scope between the page being served and the sync is kept and flagged
(`Visit.out_of_scope`) when the item carries the scope token the household page embedded; without
it, an out-of-scope household is refused like on the form.

What an item may hold is `contract.VisitItem`, the model the OpenAPI document is generated from.
"""

from __future__ import annotations

from datetime import date, datetime

from itsdangerous import BadData, URLSafeTimedSerializer
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.scope import Scope
from outreach.models import User
from outreach.models.base import utcnow
from outreach.tallies.service import OFFLINE_WINDOW_DAYS, offline_window
from outreach.visits.contract import (
    MAX_BATCH,
    MAX_TOKEN,
    ItemResult,
    ItemStatus,
    VisitItem,
    canonical_uuid,
    item_errors,
)
from outreach.visits.service import OutcomeInput, VisitError, VisitInput, record_visit

SCOPE_TOKEN_SALT = "visit-scope"
SCOPE_TOKEN_MAX_AGE_DAYS = 30


class SyncItemError(DomainError):
    """A malformed item; `errors` maps a field to its Vietnamese message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SCOPE_TOKEN_SALT)


def scope_token(*, secret: str, canvasser_id: int, household_id: int) -> str:
    """A signed, dated proof that this household was in this canvasser's scope right now."""
    return _serializer(secret).dumps([canvasser_id, household_id])


def token_allows(
    *,
    secret: str,
    token: object,
    canvasser_id: int,
    household_id: int,
    max_age_days: int = SCOPE_TOKEN_MAX_AGE_DAYS,
) -> bool:
    """True when the token was signed for this canvasser and household within max_age_days."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        return False
    try:
        payload = _serializer(secret).loads(token, max_age=max_age_days * 86400)
    except BadData:  # bad signature, expired, or garbage
        return False
    return payload == [canvasser_id, household_id]


# --- one JSON item --------------------------------------------------------------------------------


def parse_item(item: object) -> VisitInput:
    """Turn one JSON visit into a VisitInput, or raise SyncItemError naming every bad field."""
    try:
        visit = VisitItem.model_validate(item)
    except ValidationError as error:
        raise SyncItemError(item_errors(error)) from None
    return VisitInput(
        client_uuid=str(visit.client_uuid),
        household_id=visit.household_id,
        channel=str(visit.channel),
        outcomes=tuple(
            OutcomeInput(
                person_id=o.person_id,
                outcome=str(o.outcome),
                follow_up_on=o.follow_up_on,
                refusal_reason=o.refusal_reason,
                months_paid=o.months_paid,
                amount=o.amount,
                receipt_number=(o.receipt_number or "").strip() or None,
            )
            for o in visit.outcomes
        ),
        visited_at=visit.visited_at,
        note=visit.note or "",
        latitude=visit.latitude,
        longitude=visit.longitude,
        accuracy_m=visit.accuracy_m,
    )


# --- the batch ------------------------------------------------------------------------------------


def _echo(item: object) -> str | None:
    """The item's UUID exactly as the phone sent it (to match its outbox), when it is one."""
    raw = item.get("client_uuid") if isinstance(item, dict) else None
    return raw if canonical_uuid(raw) is not None else None


def _sync_one(
    session: Session,
    *,
    canvasser: User,
    scope: Scope,
    item: object,
    today: date,
    now: datetime,
    secret: str,
) -> ItemResult:
    echo = _echo(item)
    try:
        data = parse_item(item)
    except SyncItemError as exc:
        return ItemResult(client_uuid=echo, status=ItemStatus.REJECTED, errors=exc.errors)
    allow = token_allows(
        secret=secret,
        token=item.get("scope_token"),
        canvasser_id=canvasser.id,
        household_id=data.household_id,
    )
    for attempt in range(2):
        try:
            recorded = record_visit(
                session,
                canvasser=canvasser,
                scope=scope,
                data=data,
                today=today,
                now=now,
                allow_out_of_scope=allow,
            )
        except VisitError as exc:
            session.rollback()
            if set(exc.errors) == {"client_uuid"}:
                # The UUID (valid: parse_item checked it) is already stored with other content,
                # or by another canvasser: `record_visit` refuses it with this key alone.
                return ItemResult(client_uuid=echo, status=ItemStatus.CONFLICT, errors=_conflict())
            return ItemResult(client_uuid=echo, status=ItemStatus.REJECTED, errors=exc.errors)
        except IntegrityError:
            # Another request stored the same UUID between our look-up and our insert (a phone
            # retrying while its first request still runs): the second try finds it and answers
            # "duplicate" or a conflict.
            session.rollback()
            if attempt:
                raise
            continue
        except Exception:
            # Anything else is the server's fault, not the item's: undo this item and let the whole
            # request fail, so the phone keeps its outbox and retries (stored items then come back
            # as duplicates).
            session.rollback()
            raise
        # Each item is its own unit of work (docs/architecture.md): stored alone, or not at all.
        session.commit()
        status = ItemStatus.DUPLICATE if recorded.replayed else ItemStatus.STORED
        return ItemResult(
            client_uuid=echo,
            status=status,
            visit_id=recorded.visit.id,
            out_of_scope=recorded.visit.out_of_scope,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _conflict() -> dict[str, str]:
    return {
        "client_uuid": _(
            "Máy chủ đã có một lượt thăm mang mã này với nội dung khác, nên lượt thăm này chưa "
            "được lưu. Lượt thăm vẫn được giữ trên máy; hãy báo trưởng nhóm để đối chiếu."
        )
    }


def sync_visits(
    session: Session,
    *,
    canvasser: User,
    scope: Scope,
    items: list,
    today: date,
    now: datetime | None = None,
    secret: str,
    offline_window_days: int = OFFLINE_WINDOW_DAYS,
) -> list[ItemResult]:
    """Store each visit of a batch in its own transaction and say what became of each, in order.

    A visit made more than `offline_window_days` before `now` is late: stored, counted on the day
    it arrived and flagged for the leader, never in the period it happened.
    """
    if len(items) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} visits per batch, got {len(items)}")
    now = now or utcnow()
    with offline_window(session, offline_window_days):
        return [
            _sync_one(
                session,
                canvasser=canvasser,
                scope=scope,
                item=item,
                today=today,
                now=now,
                secret=secret,
            )
            for item in items
        ]


def counts(results: list[ItemResult]) -> dict[str, int]:
    """How many items were stored, duplicates, not stored (rejected, conflicts included) and, of
    those, conflicts (the API's summary fields)."""
    return {
        "stored": sum(r.status == ItemStatus.STORED for r in results),
        "duplicates": sum(r.status == ItemStatus.DUPLICATE for r in results),
        "rejected": sum(r.status in (ItemStatus.REJECTED, ItemStatus.CONFLICT) for r in results),
        "conflicts": sum(r.status == ItemStatus.CONFLICT for r in results),
    }

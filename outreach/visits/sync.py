"""Syncing the visits a phone recorded offline: JSON items checked field by field, each stored alone.

The browser keeps an outbox of visits and sends it in batches when the signal returns. Each item is
independent: a bad item is rejected with its reasons and the others are still stored; a replay of
an item already stored is reported as a duplicate, never stored twice (the client's UUID is the
key). A visit to a household that left the canvasser's scope between the page being served and the
sync is kept and flagged (`Visit.out_of_scope`) when the item carries the scope token the household
page embedded; without it, an out-of-scope household is refused like on the form.
"""

from __future__ import annotations

import math
import re
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from outreach.core.errors import DomainError
from outreach.core.scope import Scope
from outreach.models import User
from outreach.models.base import utcnow
from outreach.visits.service import MAX_NOTE, OutcomeInput, VisitError, VisitInput, record_visit

MAX_BATCH = 200
# More than anyone meets in one household; bounds the work one item can ask for.
MAX_OUTCOMES = 50
SCOPE_TOKEN_SALT = "visit-scope"
SCOPE_TOKEN_MAX_AGE_DAYS = 30
# A signed token is ~80 characters; anything much longer is not one of ours.
MAX_TOKEN = 500
# Integer columns are 32-bit on PostgreSQL: a larger id must be refused here, not by the database.
MAX_INT32 = 2**31 - 1
MAX_AMOUNT = 1_000_000_000
MAX_ACCURACY_M = 1_000_000
# Sanity bounds that also keep the UTC conversion of an odd offset from overflowing.
MIN_YEAR, MAX_YEAR = 2000, 2100
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ItemStatus(StrEnum):
    """What became of one item of a batch."""

    STORED = "stored"
    DUPLICATE = "duplicate"  # the same visit was stored before (a replay); nothing new stored
    REJECTED = "rejected"  # not stored; `errors` says why, field by field


class SyncItemError(DomainError):
    """A malformed item; `errors` maps a field to its Vietnamese message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class ItemResult:
    """The answer for one item: its UUID as sent, its status, the stored visit and any errors."""

    client_uuid: str | None
    status: ItemStatus
    visit_id: int | None = None
    out_of_scope: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The item's result as the API returns it."""
        return {
            "client_uuid": self.client_uuid,
            "status": str(self.status),
            "visit_id": self.visit_id,
            "out_of_scope": self.out_of_scope,
            "errors": dict(self.errors),
        }


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


# --- parsing one JSON item ------------------------------------------------------------------------


def _text_ok(value: str) -> bool:
    """Storable text: no NUL (PostgreSQL refuses it) and no lone surrogate (not UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_int(value: object) -> bool:
    # JSON true/false arrive as bool, which Python counts as int.
    return isinstance(value, int) and not isinstance(value, bool)


def _canonical_uuid(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 64 or not value.isascii():
        return None
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        return None


def _id(value: object, key: str, errors: dict[str, str], *, missing: str) -> int:
    if value is None:
        errors[key] = missing
    elif not _is_int(value) or not 1 <= value <= MAX_INT32:
        errors[key] = "Mã phải là một số nguyên dương."
    else:
        return value
    return 0


def _optional_int(
    value: object, key: str, errors: dict[str, str], *, high: int, message: str
) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or not 0 <= value <= high:
        errors[key] = message
        return None
    return value


def _optional_text(value: object, key: str, errors: dict[str, str], *, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _text_ok(value):
        errors[key] = "Phải là một chuỗi ký tự hợp lệ."
        return None
    if len(value) > limit:
        errors[key] = f"Tối đa {limit} ký tự."
        return None
    return value


def _optional_number(
    value: object, key: str, errors: dict[str, str], *, low: float, high: float, message: str
) -> float | None:
    if value is None:
        return None
    # A huge JSON integer would overflow float(); NaN and Infinity are accepted by json.loads.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, int) and abs(value) > 10**9)
        or not math.isfinite(float(value))
        or not low <= float(value) <= high
    ):
        errors[key] = message
        return None
    return float(value)


def _visited_at(value: object, errors: dict[str, str]) -> datetime | None:
    if value is None:
        errors["visited_at"] = "Thiếu thời gian thăm."
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 40 and value.isascii() and DATE_RE.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None or parsed.utcoffset() is None:
        errors["visited_at"] = (
            "Thời gian thăm phải theo ISO 8601, có múi giờ (vd. …T09:30:00+07:00)."
        )
        return None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        errors["visited_at"] = "Thời gian thăm không hợp lệ."
        return None
    return parsed


def _follow_up(value: object, key: str, errors: dict[str, str]) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors[key] = "Ngày phải theo dạng YYYY-MM-DD."
    return None


def _outcome(value: object, index: int, errors: dict[str, str]) -> OutcomeInput | None:
    key = f"outcomes[{index}]"
    if not isinstance(value, dict):
        errors[key] = "Mỗi kết quả phải là một đối tượng JSON."
        return None
    before = len(errors)
    person_id = _id(
        value.get("person_id"), f"{key}.person_id", errors, missing="Thiếu mã người được gặp."
    )
    code = value.get("outcome")
    if not isinstance(code, str) or not code or len(code) > 20 or not code.isascii():
        errors[f"{key}.outcome"] = "Kết quả không hợp lệ."
    follow_up_on = _follow_up(value.get("follow_up_on"), f"{key}.follow_up_on", errors)
    reason = value.get("refusal_reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 24):
        errors[f"{key}.refusal_reason"] = "Lý do từ chối không hợp lệ."
    months_paid = _optional_int(
        value.get("months_paid"),
        f"{key}.months_paid",
        errors,
        high=MAX_INT32,
        message="Số tháng đóng phải là một số nguyên.",
    )
    # The service checks the amounts of payments only; a promised amount is stored as sent.
    amount = _optional_int(
        value.get("amount"),
        f"{key}.amount",
        errors,
        high=MAX_AMOUNT,
        message="Số tiền phải là số nguyên đồng, từ 0 đến 1.000.000.000.",
    )
    receipt = _optional_text(value.get("receipt_number"), f"{key}.receipt_number", errors, limit=40)
    if len(errors) > before:
        return None
    return OutcomeInput(
        person_id=person_id,
        outcome=code,
        follow_up_on=follow_up_on,
        refusal_reason=reason,
        months_paid=months_paid,
        amount=amount,
        receipt_number=(receipt or "").strip() or None,
    )


def parse_item(item: object) -> VisitInput:
    """Turn one JSON visit into a VisitInput, or raise SyncItemError naming every bad field."""
    if not isinstance(item, dict):
        raise SyncItemError({"item": "Mỗi lượt thăm phải là một đối tượng JSON."})
    errors: dict[str, str] = {}

    raw_uuid = item.get("client_uuid")
    client_uuid = _canonical_uuid(raw_uuid)
    if raw_uuid is None:
        errors["client_uuid"] = "Thiếu mã lượt thăm (client_uuid)."
    elif client_uuid is None:
        errors["client_uuid"] = "Mã lượt thăm không hợp lệ (phải là UUID)."

    household_id = _id(
        item.get("household_id"), "household_id", errors, missing="Thiếu mã hộ (household_id)."
    )
    channel = item.get("channel")
    if not isinstance(channel, str) or not channel or len(channel) > 16:
        errors["channel"] = "Hãy chọn hình thức: đến nhà, gọi điện hoặc họp."
    visited_at = _visited_at(item.get("visited_at"), errors)

    outcomes: list[OutcomeInput] = []
    raw_outcomes = item.get("outcomes")
    if not isinstance(raw_outcomes, list):
        errors["outcomes"] = "Kết quả phải là một danh sách (outcomes)."
    elif len(raw_outcomes) > MAX_OUTCOMES:
        errors["outcomes"] = f"Tối đa {MAX_OUTCOMES} kết quả cho một lượt thăm."
    else:
        for index, raw in enumerate(raw_outcomes):
            parsed = _outcome(raw, index, errors)
            if parsed is not None:
                outcomes.append(parsed)

    note = item.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str) or not _text_ok(note):
        errors["note"] = "Ghi chú phải là một chuỗi ký tự hợp lệ."
    elif len(note) > MAX_NOTE:
        errors["note"] = f"Ghi chú tối đa {MAX_NOTE} ký tự."
    latitude = _optional_number(
        item.get("latitude"), "latitude", errors, low=-90, high=90, message="Vĩ độ không hợp lệ."
    )
    longitude = _optional_number(
        item.get("longitude"),
        "longitude",
        errors,
        low=-180,
        high=180,
        message="Kinh độ không hợp lệ.",
    )
    accuracy = _optional_number(
        item.get("accuracy_m"),
        "accuracy_m",
        errors,
        low=0,
        high=MAX_ACCURACY_M,
        message="Độ chính xác vị trí không hợp lệ.",
    )
    token = item.get("scope_token")
    if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
        errors["scope_token"] = "Mã phạm vi không hợp lệ."

    if errors:
        raise SyncItemError(errors)
    return VisitInput(
        client_uuid=client_uuid,
        household_id=household_id,
        channel=channel,
        outcomes=tuple(outcomes),
        visited_at=visited_at,
        note=note,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy,
    )


# --- the batch ------------------------------------------------------------------------------------


def _echo(item: object) -> str | None:
    """The item's UUID exactly as the phone sent it (to match its outbox), when it is one."""
    raw = item.get("client_uuid") if isinstance(item, dict) else None
    return raw if _canonical_uuid(raw) is not None else None


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
        return ItemResult(echo, ItemStatus.REJECTED, errors=exc.errors)
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
            return ItemResult(echo, ItemStatus.REJECTED, errors=exc.errors)
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
            echo, status, visit_id=recorded.visit.id, out_of_scope=recorded.visit.out_of_scope
        )
    raise AssertionError("unreachable")  # pragma: no cover


def sync_visits(
    session: Session,
    *,
    canvasser: User,
    scope: Scope,
    items: list,
    today: date,
    now: datetime | None = None,
    secret: str,
) -> list[ItemResult]:
    """Store each visit of a batch in its own transaction and say what became of each, in order."""
    if len(items) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} visits per batch, got {len(items)}")
    now = now or utcnow()
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
    """How many items were stored, duplicates and rejected (the API's summary fields)."""
    return {
        "stored": sum(r.status == ItemStatus.STORED for r in results),
        "duplicates": sum(r.status == ItemStatus.DUPLICATE for r in results),
        "rejected": sum(r.status == ItemStatus.REJECTED for r in results),
    }

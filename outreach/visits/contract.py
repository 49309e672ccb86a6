"""The sync API's one contract: pydantic models that both check what the phone sends and describe it.

`VisitItem.model_validate` checks one visit of a batch (`sync.parse_item`), `SyncRequest` the body
around them (`api.py`), and `ItemResult`/`SyncResponse`/`ApiError` build the answers. The same
models give the JSON Schemas of the OpenAPI document (`component_schemas`, served by `api.py`), so
the document and the checks say the same (tests/visits/test_api.py holds them to it, and lists the
few things JSON Schema cannot say). A refused item gets its errors field by field, with the
Vietnamese messages the outbox shows (`item_errors`).

The models check what one item says on its own: types, bounds, lengths, formats. The rules that need
the database or the clock (the household's scope and members, a follow-up date from today to a
year ahead, a payment's months and amount, at most 10 minutes in the future) stay in
`service.validate_visit`; the field descriptions say them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import PydanticCustomError

from outreach.core.i18n import _
from outreach.models.codes import Channel, Outcome
from outreach.visits.service import MAX_NOTE

MAX_BATCH = 200
# More than anyone meets in one household; bounds the work one item can ask for.
MAX_OUTCOMES = 50
# A signed scope token is ~80 characters; anything much longer is not one of ours.
MAX_TOKEN = 500
# Integer columns are 32-bit on PostgreSQL: a larger id must be refused here, not by the database.
MAX_INT32 = 2**31 - 1
MAX_AMOUNT = 1_000_000_000
MAX_ACCURACY_M = 1_000_000
MAX_RECEIPT = 40
MAX_REASON = 24
# Sanity bounds that also keep the UTC conversion of an odd offset from overflowing.
MIN_YEAR, MAX_YEAR = 2000, 2100
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What `visited_at` looks like, for readers of the document (the check is `_aware_datetime`).
VISITED_AT_PATTERN = (
    r"^(?:20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}T[0-9:.,]+(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)$"
)
REF = "#/components/schemas/"


# --- checks pydantic has no type for (each refuses exactly what the hand-written ones did) --------


def _invalid(kind: str = "invalid") -> PydanticCustomError:
    # The text is for logs only: `item_errors` gives the user's message from the field and kind.
    return PydanticCustomError(kind, "not a valid value ({kind})", {"kind": kind})


def canonical_uuid(value: object) -> UUID | None:
    """The UUID a string spells (any spelling Python's uuid reads), or None."""
    if not isinstance(value, str) or len(value) > 64 or not value.isascii():
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def _uuid(value: object) -> UUID:
    parsed = canonical_uuid(value)
    if parsed is None:
        raise _invalid()
    return parsed


def _aware_datetime(value: object) -> datetime:
    parsed = None
    if isinstance(value, str) and len(value) <= 40 and value.isascii() and DATE_RE.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise _invalid()
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _invalid("out_of_range")
    return parsed


def _date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _invalid()


def _storable(value: object) -> object:
    """Text PostgreSQL can store: no NUL and no lone surrogate (checked before the length)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise _invalid()
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid() from None
    return value


Id = Annotated[int, Field(ge=1, le=MAX_INT32)]
StorableText = Annotated[str | None, BeforeValidator(_storable)]
NO_NUL = r"^[^\u0000]*$"


# --- the request ----------------------------------------------------------------------------------


class OutcomeItem(BaseModel):
    """What the canvasser recorded for one person met. Unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")

    person_id: Id = Field(description="A member of the visited household.")
    outcome: Outcome = Field(strict=False)
    follow_up_on: Annotated[date | None, BeforeValidator(_date)] = Field(
        None,
        description="YYYY-MM-DD; required for promised and considering, from today to one year "
        "ahead. Ignored for the other outcomes.",
    )
    refusal_reason: str | None = Field(
        None,
        max_length=MAX_REASON,
        description="Required for refused: no_money, distrust, already_compulsory, "
        "wants_withdrawal, too_old or other. Ignored for the other outcomes.",
    )
    months_paid: int | None = Field(
        None,
        ge=0,
        le=MAX_INT32,
        description="1 to 120; required for enrolled_new and renewed.",
    )
    amount: int | None = Field(
        None,
        ge=0,
        le=MAX_AMOUNT,
        description="In đồng; required for enrolled_new and renewed, optional for promised.",
    )
    receipt_number: StorableText = Field(
        None, max_length=MAX_RECEIPT, json_schema_extra={"pattern": NO_NUL}
    )


class VisitItem(BaseModel):
    """One visit as recorded on the phone. Unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")

    client_uuid: Annotated[UUID, BeforeValidator(_uuid)] = Field(
        description="Made on the phone when the visit form opened; the idempotency key. "
        "Other spellings Python's uuid module reads (upper case, no hyphens, braces) are accepted "
        "too; the visit is stored under the lower-case hyphenated form."
    )
    household_id: Id
    channel: Channel = Field(strict=False)
    visited_at: Annotated[datetime, BeforeValidator(_aware_datetime)] = Field(
        description="ISO 8601 with a time-zone offset or Z, e.g. 2026-11-22T09:30:00+07:00; "
        f"a year from {MIN_YEAR} to {MAX_YEAR}, not more than 10 minutes in the future. A visit "
        "made longer ago than the server's offline window (14 days unless configured) or in a "
        "half-month whose bulletin is published is still stored, but counts on the day it "
        "arrived and is flagged late for the leader.",
        json_schema_extra={"maxLength": 40, "pattern": VISITED_AT_PATTERN},
    )
    outcomes: list[OutcomeItem] = Field(
        min_length=1,
        max_length=MAX_OUTCOMES,
        description="One outcome per person met, each person at most once.",
    )
    note: StorableText = Field(None, max_length=MAX_NOTE, json_schema_extra={"pattern": NO_NUL})
    latitude: float | None = Field(
        None,
        ge=-90,
        le=90,
        allow_inf_nan=False,
        description="Given together with longitude, or neither.",
    )
    longitude: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float | None = Field(None, ge=0, le=MAX_ACCURACY_M, allow_inf_nan=False)
    scope_token: str | None = Field(
        None,
        max_length=MAX_TOKEN,
        description="The token the household page gave (valid 30 days). Lets a visit to a "
        "household that has since left the canvasser's scope be stored, flagged out_of_scope.",
    )


class SyncRequest(BaseModel):
    """The body of a sync: the visits, each checked on its own (`VisitItem`)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    visits: list[Any] = Field(
        max_length=MAX_BATCH,
        description="The visits to store. Any JSON value is accepted as an item; an item that "
        "does not match VisitItem is rejected on its own, with its errors.",
        json_schema_extra={"items": {"$ref": f"{REF}VisitItem"}},
    )


# --- the answers ----------------------------------------------------------------------------------


class ItemStatus(StrEnum):
    """What became of one item of a batch.

    stored: stored now. duplicate: the same visit was stored before; nothing new stored.
    rejected: not stored, see errors. conflict: not stored, because its client_uuid is already
    stored with other content (or by another canvasser); the phone keeps it, see errors.
    """

    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CONFLICT = "conflict"


ANSWER = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)


class ItemResult(BaseModel):
    """The answer for one item: its UUID as sent, its status, the stored visit and any errors."""

    model_config = ANSWER

    client_uuid: str | None = Field(
        description="The item's client_uuid exactly as sent, or null when the item had no "
        "usable UUID."
    )
    status: ItemStatus
    visit_id: int | None = Field(
        None, description="The stored visit (null when rejected or a conflict)."
    )
    out_of_scope: bool = Field(
        False,
        description="Stored although the household has left the canvasser's scope (allowed by "
        "its scope_token); flagged for the leader.",
    )
    errors: dict[str, str] = Field(
        default_factory=dict,
        description="Field → Vietnamese message; empty unless rejected or a conflict (then "
        "client_uuid alone, saying the visit is kept on the phone). Keys are request fields "
        "(client_uuid, household_id, channel, visited_at, outcomes, outcomes[i], "
        "outcomes[i].<field>, note, latitude, longitude, accuracy_m, scope_token), item (not an "
        "object), household (not in scope), gps, or person_<id> (that person's outcome).",
    )


class SyncResponse(BaseModel):
    """One result per item, in the order sent, and the counts."""

    model_config = ANSWER

    results: list[ItemResult] = Field(description="One per item sent, in the same order.")
    stored: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    rejected: int = Field(ge=0, description="Items not stored, conflicts included.")
    conflicts: int = Field(ge=0, description="Of the rejected, the conflicts.")


class ErrorCode(StrEnum):
    """Why a request as a whole was refused (for the program; `error` is for the user)."""

    BAD_REQUEST = "bad_request"
    BAD_JSON = "bad_json"
    TOO_MANY = "too_many"
    CSRF = "csrf"
    LOGIN_REQUIRED = "login_required"
    FORBIDDEN = "forbidden"
    PASSWORD_CHANGE_REQUIRED = "password_change_required"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    TOO_LARGE = "too_large"
    BUSY = "busy"
    SERVER_ERROR = "server_error"


class ApiError(BaseModel):
    """The answer to a request refused as a whole."""

    model_config = ANSWER

    error: str = Field(description="A Vietnamese message for the user.")
    code: ErrorCode


# --- errors as the outbox shows them --------------------------------------------------------------


def _message(field: str, kind: str) -> str:
    """The message for an error of `kind` on `field` (`outcomes[].amount` for every outcome's)."""
    match field, kind:
        case "item", _:
            return _("Mỗi lượt thăm phải là một đối tượng JSON.")
        case "client_uuid", "missing":
            return _("Thiếu mã lượt thăm (client_uuid).")
        case "client_uuid", _:
            return _("Mã lượt thăm không hợp lệ (phải là UUID).")
        case "household_id", "missing":
            return _("Thiếu mã hộ (household_id).")
        case "outcomes[].person_id", "missing":
            return _("Thiếu mã người được gặp.")
        case (("household_id" | "outcomes[].person_id"), _):
            return _("Mã phải là một số nguyên dương.")
        case "channel", _:
            return _("Hãy chọn hình thức: đến nhà, gọi điện hoặc họp.")
        case "visited_at", "missing":
            return _("Thiếu thời gian thăm.")
        case "visited_at", "out_of_range":
            return _("Thời gian thăm không hợp lệ.")
        case "visited_at", _:
            return _("Thời gian thăm phải theo ISO 8601, có múi giờ (vd. …T09:30:00+07:00).")
        case "outcomes", "too_long":
            return _("Tối đa %(n)s kết quả cho một lượt thăm.", n=MAX_OUTCOMES)
        case "outcomes", "too_short":
            return _("Hãy ghi kết quả cho ít nhất một người đã gặp.")
        case "outcomes", _:
            return _("Kết quả phải là một danh sách (outcomes).")
        case "outcomes[]", _:
            return _("Mỗi kết quả phải là một đối tượng JSON.")
        case "outcomes[].outcome", _:
            return _("Kết quả không hợp lệ.")
        case "outcomes[].follow_up_on", _:
            return _("Ngày phải theo dạng YYYY-MM-DD.")
        case "outcomes[].refusal_reason", _:
            return _("Lý do từ chối không hợp lệ.")
        case "outcomes[].months_paid", _:
            return _("Số tháng đóng phải là một số nguyên.")
        case "outcomes[].amount", _:
            return _("Số tiền phải là số nguyên đồng, từ 0 đến 1.000.000.000.")
        case "outcomes[].receipt_number", "too_long":
            return _("Tối đa %(n)s ký tự.", n=MAX_RECEIPT)
        case "outcomes[].receipt_number", _:
            return _("Phải là một chuỗi ký tự hợp lệ.")
        case "note", "too_long":
            return _("Ghi chú tối đa %(n)s ký tự.", n=MAX_NOTE)
        case "note", _:
            return _("Ghi chú phải là một chuỗi ký tự hợp lệ.")
        case "latitude", _:
            return _("Vĩ độ không hợp lệ.")
        case "longitude", _:
            return _("Kinh độ không hợp lệ.")
        case "accuracy_m", _:
            return _("Độ chính xác vị trí không hợp lệ.")
        case "scope_token", _:
            return _("Mã phạm vi không hợp lệ.")
    return _("Giá trị không hợp lệ.")  # pragma: no cover - every field of the models is above


def _kind(error: dict) -> str:
    # A required field sent as null counts as missing ("Thiếu …").
    if error["type"] == "missing" or error.get("input", 0) is None:
        return "missing"
    if error["type"] in {"string_too_long", "too_long"}:
        return "too_long"
    if error["type"] in {"too_short", "out_of_range"}:
        return error["type"]
    return "invalid"


def item_errors(error: ValidationError) -> dict[str, str]:
    """{field: Vietnamese message} for a refused VisitItem: `item`, `outcomes[0].amount`, …"""
    errors: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_context=False):
        key, field = "", ""
        for part in problem["loc"]:
            if isinstance(part, int):
                key, field = f"{key}[{part}]", f"{field}[]"
            else:
                key, field = f"{key}.{part}" if key else part, f"{field}.{part}" if field else part
        errors.setdefault(key or "item", _message(field or "item", _kind(problem)))
    return errors


# --- the JSON Schemas of the OpenAPI document -----------------------------------------------------


class _Schema(GenerateJsonSchema):
    """Pydantic's JSON Schema (2020-12) without a title on every property."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def component_schemas() -> dict[str, dict]:
    """`components.schemas` of the OpenAPI document: requests as checked, answers as sent."""
    _, top = models_json_schema(
        [
            (SyncRequest, "validation"),
            (VisitItem, "validation"),
            (SyncResponse, "serialization"),
            (ApiError, "serialization"),
        ],
        ref_template=REF + "{model}",
        schema_generator=_Schema,
    )
    return top["$defs"]

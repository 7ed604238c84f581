"""Bookings REST API, scoped to the org of the API key: list with filters, and one booking's
full record (SMS messages, status trail, Temporal UI link).

Times are given twice: as UTC instants (`starts_at`) and as wall time in the org's zone
(`starts_at_local`), so a dashboard needs no time zone logic of its own.
"""

import base64
import binascii
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import quote
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import OrgDep
from api.deps import PoolDep, SettingsDep
from core.domain.normalize import normalize_phone
from core.domain.statuses import BookingStatus
from core.errors import InvalidInput
from core.infra.config import Settings
from core.repositories import booking_queries
from core.repositories.booking_queries import BookingFilter, BookingSummaryRow, PagePosition
from core.services.orgs import Org

router = APIRouter(prefix="/bookings", tags=["bookings"])

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_MAX_FILTER_INPUT = 64
_MAX_CURSOR_INPUT = 200
# An unencoded "+" in a query string arrives as a space: "...T10:00 02:00" meant "+02:00".
_SPACE_FOR_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


class Contact(BaseModel):
    name: str | None
    phone: str | None = Field(description="E.164, e.g. +12125550123")
    email: str | None


class Named(BaseModel):
    id: UUID
    name: str


class BookingSummary(BaseModel):
    id: UUID
    status: BookingStatus
    status_reason: str | None = Field(description="why it failed or was cancelled")
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime = Field(description="UTC")
    starts_at_local: datetime = Field(description="wall time in the org's time zone")
    ends_at_local: datetime = Field(description="wall time in the org's time zone")
    time_zone: str = Field(description="the org's IANA time zone")
    contact: Contact
    provider: Named
    service: Named


class BookingPage(BaseModel):
    items: list[BookingSummary]
    next_cursor: str | None = Field(
        description="pass as `cursor` (with the same filters) for the next page; null at the end"
    )


class SmsMessage(BaseModel):
    kind: str = Field(description="confirmation, reminder, apology, ...")
    status: str = Field(description="pending, queued, sent, delivered, failed, ...")
    error_code: str | None = Field(description="Twilio's error code when it failed")
    to: str
    twilio_sid: str | None
    created_at: datetime
    updated_at: datetime


class StatusEvent(BaseModel):
    from_status: BookingStatus | None = Field(description="null for the booking's creation")
    to_status: BookingStatus
    starts_at: datetime = Field(description="the appointment's start after this change, UTC")
    reason: str | None
    at: datetime


class Workflow(BaseModel):
    id: str
    temporal_ui_url: str = Field(description="the booking's workflow in the Temporal UI")


class BookingDetail(BookingSummary):
    notes: str | None
    calendar_event_id: str | None
    workflow: Workflow
    sms_messages: list[SmsMessage]
    events: list[StatusEvent] = Field(description="every status change and move, oldest first")
    created_at: datetime
    updated_at: datetime


@router.get("", response_model=BookingPage)
async def list_bookings(
    org: OrgDep,
    pool: PoolDep,
    status: Annotated[
        list[str] | None,
        Query(description="held, confirmed, cancelled or failed; repeat it or comma-separate"),
    ] = None,
    starts_from: Annotated[
        str | None,
        Query(
            alias="from",
            description="starts at or after: ISO datetime or date (read in the org's zone)",
        ),
    ] = None,
    starts_before: Annotated[
        str | None,
        Query(
            alias="to",
            description="starts before: ISO datetime, or a date meaning up to the end of that day",
        ),
    ] = None,
    phone: Annotated[
        str | None, Query(description="the contact's phone, in any format the org's region reads")
    ] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> BookingPage:
    """The org's bookings ordered by start time, filtered and paginated."""
    window_start = _instant(starts_from, field="from", tz=org.time_zone, end_of_day=False)
    window_end = _instant(starts_before, field="to", tz=org.time_zone, end_of_day=True)
    if window_start and window_end and window_start >= window_end:
        raise InvalidInput("to must be later than from", field="to")
    filters = BookingFilter(
        statuses=_statuses(status or []),
        starts_from=window_start,
        starts_before=window_end,
        phone=_phone(phone, org),
    )
    rows, more = await booking_queries.page(
        pool,
        org_id=org.id,
        filters=filters,
        after=_decode_cursor(cursor) if cursor and cursor.strip() else None,
        limit=limit,
    )
    items = [_summary(row, org.time_zone) for row in rows]
    last = items[-1] if more and items else None
    return BookingPage(
        items=items,
        next_cursor=_encode_cursor(PagePosition(last.starts_at, last.id)) if last else None,
    )


@router.get(
    "/{booking_id}",
    response_model=BookingDetail,
    responses={404: {"description": "no such booking in this org"}},
)
async def get_booking(
    booking_id: UUID, org: OrgDep, pool: PoolDep, settings: SettingsDep
) -> BookingDetail:
    """One booking with its contact, SMS messages, status trail and Temporal workflow."""
    record = await booking_queries.full_record(pool, org_id=org.id, booking_id=booking_id)
    row = record.booking
    return BookingDetail(
        **_summary(row, org.time_zone).model_dump(),
        notes=row.notes,
        calendar_event_id=row.calendar_event_id,
        workflow=Workflow(
            id=row.workflow_id, temporal_ui_url=temporal_ui_link(settings, row.workflow_id)
        ),
        sms_messages=[
            SmsMessage(
                kind=sms.kind,
                status=sms.status,
                error_code=sms.error_code,
                to=sms.to_phone,
                twilio_sid=sms.twilio_sid,
                created_at=sms.created_at,
                updated_at=sms.updated_at,
            )
            for sms in record.sms_messages
        ],
        events=[StatusEvent.model_validate(event, from_attributes=True) for event in record.events],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def temporal_ui_link(settings: Settings, workflow_id: str) -> str:
    """Where an operator sees (and can signal) the booking's workflow."""
    namespace = quote(settings.temporal_namespace, safe="")
    base = settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"


def _summary(row: BookingSummaryRow, tz: ZoneInfo) -> BookingSummary:
    return BookingSummary(
        id=row.id,
        status=row.status,
        status_reason=row.status_reason,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        starts_at_local=row.starts_at.astimezone(tz),
        ends_at_local=row.ends_at.astimezone(tz),
        time_zone=tz.key,
        contact=Contact(name=row.contact_name, phone=row.contact_phone, email=row.contact_email),
        provider=Named(id=row.provider_id, name=row.provider_name),
        service=Named(id=row.service_id, name=row.service_name),
    )


def _statuses(values: list[str]) -> tuple[BookingStatus, ...]:
    """`?status=held&status=confirmed` and `?status=held,confirmed`, deduplicated."""
    wanted = [part.strip().lower() for value in values for part in value.split(",")]
    try:
        statuses = [BookingStatus(part) for part in wanted if part]
    except ValueError:
        known = ", ".join(BookingStatus)
        raise InvalidInput(f"status must be one of {known}", field="status") from None
    return tuple(dict.fromkeys(statuses))


def _phone(raw: str | None, org: Org) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalize_phone(raw, org.default_region)
    except InvalidInput as exc:
        raise InvalidInput(
            "phone must be a valid phone number, e.g. +12125550123", field="phone"
        ) from exc


def _instant(raw: str | None, *, field: str, tz: ZoneInfo, end_of_day: bool) -> datetime | None:
    """An ISO datetime or date as a UTC instant; dates and offset-less times are read in `tz`.

    A date is the start of that day, or with `end_of_day` the start of the next one, so
    `from=D&to=D` is all of day D.
    """
    if raw is None or not raw.strip():
        return None
    text = _SPACE_FOR_PLUS.sub(r"\1+\2", raw.strip())
    message = f"{field} must be an ISO 8601 date or datetime, e.g. 2026-11-25 or 2026-11-25T14:00"
    if len(text) > _MAX_FILTER_INPUT:
        raise InvalidInput(message, field=field)
    try:
        if len(text) == len("2026-11-25"):
            day = date.fromisoformat(text) + timedelta(days=1 if end_of_day else 0)
            at = datetime.combine(day, time(0), tzinfo=tz)
        else:
            at = datetime.fromisoformat(text)
            if at.tzinfo is None:
                at = at.replace(tzinfo=tz)
        # Converting here, not in the driver, so a time pushed off the calendar is a 422.
        return at.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(message, field=field) from exc


def _encode_cursor(position: PagePosition) -> str:
    raw = json.dumps([position.starts_at.isoformat(), str(position.booking_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> PagePosition:
    """The position a `next_cursor` names; anything this API did not issue is a 422."""
    invalid = InvalidInput("cursor is not a next_cursor this API returned", field="cursor")
    if len(cursor) > _MAX_CURSOR_INPUT:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        if not (
            isinstance(decoded, list)
            and len(decoded) == 2
            and all(isinstance(part, str) for part in decoded)
        ):
            raise invalid
        starts_at = datetime.fromisoformat(decoded[0])
        if starts_at.tzinfo is None:
            raise invalid
        return PagePosition(starts_at.astimezone(UTC), UUID(decoded[1]))
    except (ValueError, OverflowError, binascii.Error) as exc:
        raise invalid from exc

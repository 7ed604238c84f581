"""Payloads of the booking workflow, its update and its activities: one object per call.

api/, worker/, workflows/ and activities/ all import these, so what crosses Temporal is typed and
validated on both sides (pydantic data converter).
"""

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from core.domain.statuses import WorkflowStatus

# Answers the caller caused (a taken time, input that does not validate): a booking and a
# change share them, and the workflow maps an activity's refusal to one of them.
Rejection = Literal["unavailable", "invalid"]
BookOutcome = Literal["booked", "already_booked", Rejection, "error"]
SmsKind = Literal["confirmation", "apology", "reminder", "rescheduled", "cancelled"]


class BookInput(BaseModel):
    """A booking request as the caller gave it; activities normalize and validate it."""

    org_id: UUID
    org_slug: str
    booking_id: UUID
    idempotency_key: str = Field(max_length=500)
    name: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=500)
    caller_phone: str | None = Field(default=None, max_length=100)
    start: str = Field(max_length=100)
    service: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    # The org's BCP 47 locale, for answers said before the booking is resolved against the org;
    # the default keeps recorded histories replaying.
    locale: str = Field(default="en-US", max_length=35)


class BookResult(BaseModel):
    """The `book` update's answer: what the voice agent says to the caller, plus the facts."""

    outcome: BookOutcome
    message: str
    booking_id: UUID | None = None
    start: datetime | None = None
    alternatives: list[datetime] = Field(default_factory=list)
    field: str | None = None


class BookingRequest(BaseModel):
    """A request that passed validation: everything resolved against the org."""

    org_id: UUID
    booking_id: UUID
    workflow_id: str
    name: str | None
    phone: str | None
    email: str | None
    starts_at: datetime
    ends_at: datetime
    occupied_until: datetime
    time_zone: str
    moved_to_this_year: bool
    provider_id: UUID
    provider_name: str
    calendar_id: str
    service_id: UUID
    service_name: str
    notes: str | None
    # BCP 47 locale of the booking's answers and texts; the default keeps recorded histories,
    # made before locales, replaying.
    locale: str = "en-US"


class ReserveResult(BaseModel):
    """Phase 1's decision: the caller's answer and, when this request made a booking, the
    booking as validated (what phase 2 and the workflow's state need)."""

    answer: BookResult
    booking: BookingRequest | None = None


class ContactResult(BaseModel):
    contact_id: UUID


class ReserveSlotInput(BaseModel):
    request: BookingRequest
    contact_id: UUID


class BookingRef(BaseModel):
    """Names one booking of one org; activities re-read what they need from Postgres."""

    org_id: UUID
    booking_id: UUID


class CalendarEventResult(BaseModel):
    event_id: str


class ConfirmBookingInput(BaseModel):
    booking: BookingRef
    calendar_event_id: str


class ReleaseSlotInput(BaseModel):
    booking: BookingRef
    reason: str = Field(max_length=1000)


class SendSmsInput(BaseModel):
    """`send_key` makes a send unique per booking (e.g. "confirmation", "reminder:<start>")."""

    booking: BookingRef
    kind: SmsKind
    send_key: str


class SmsResult(BaseModel):
    status: str
    twilio_sid: str | None = None
    error_code: str | None = None


class ConfirmationResult(BaseModel):
    """Phase 2's one activity: the event it created (or found), and the confirmation text's
    outcome; `sms` is None when the text could not go out yet and must be sent on its own."""

    event_id: str
    sms: SmsResult | None = None


class RescheduleChange(BaseModel):
    """Move a booking: the change as asked (raw; the workflow's activity validates it, unlike
    the already validated `BookingRequest`). `start` as a caller says it: local wall time in
    the org's zone ("2026-11-25T10:00") or ISO 8601 with an offset. The Temporal UI sends this
    as the `reschedule` signal's JSON input: {"start": "2026-11-25T10:00"}."""

    start: str = Field(min_length=1, max_length=100)


class CancelChange(BaseModel):
    """Cancel a booking; the `cancel` signal's JSON input: {"reason": "patient called"}."""

    reason: str = Field(default="cancelled", min_length=1, max_length=1000)


LifecycleOutcome = Literal["rescheduled", "cancelled", "unchanged", Rejection, "refused", "error"]


class LifecycleResult(BaseModel):
    """The answer to a reschedule or cancel: what to tell the caller, plus the facts."""

    outcome: LifecycleOutcome
    message: str
    start: datetime | None = None
    alternatives: list[datetime] = Field(default_factory=list)


class MoveSlotInput(BaseModel):
    booking: BookingRef
    start: str = Field(max_length=100)
    # The booking's locale, for a refusal's alternatives; None (recorded histories) the org's.
    locale: str | None = None


class MovedSlot(BaseModel):
    """Where the booking is after `move_slot`; `previous_start` is where it was."""

    moved: bool
    starts_at: datetime
    ends_at: datetime
    previous_start: datetime
    previous_end: datetime


class RestoreSlotInput(BaseModel):
    booking: BookingRef
    starts_at: datetime
    ends_at: datetime


class CancelBookingInput(BaseModel):
    booking: BookingRef
    reason: str = Field(max_length=1000)


class BookingState(BaseModel):
    """What the `status` query returns: the workflow's whole view of the booking."""

    status: WorkflowStatus
    booking_id: UUID
    answer: BookResult | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    calendar_event_id: str | None = None
    sms: dict[str, str] = Field(default_factory=dict)
    waiting_for: str | None = None
    failure: str | None = None
    reminder_due_at: datetime | None = None
    reminder_sent_for: datetime | None = None
    changes: list[str] = Field(default_factory=list)


class BookingWorkflowResult(BaseModel):
    """The workflow's result: the first answer given and how the booking ended."""

    answer: BookResult
    final_status: WorkflowStatus


class WorkflowTimings(BaseModel):
    """Timer and retry lengths, passed in so tests (which cannot skip time) can shorten them.
    Built from `Settings` (workflows.client.timings_from), which holds their defaults."""

    retry_initial_interval: timedelta
    retry_maximum_interval: timedelta
    calendar_deadline_before_start: timedelta
    reminder_lead_time: timedelta
    completion_grace: timedelta


class BookingWorkflowInput(BaseModel):
    """`phase1` names the answer path: every new booking takes "one-statement"; workflows the
    previous release started have no such field and replay "three-local-activities"."""

    request: BookInput
    timings: WorkflowTimings
    phase1: Literal["three-local-activities", "one-statement"] = "three-local-activities"


class CalendarRef(BaseModel):
    """Names one provider's calendar; activities read the rest from Postgres."""

    org_id: UUID
    provider_id: UUID


class CalendarChannel(BaseModel):
    """A push channel Google keeps open for a calendar: what stopping it takes."""

    id: str
    resource_id: str
    expires_at: datetime | None = None


class CalendarSyncResult(BaseModel):
    """One sync: `removed` when the provider is gone (the sync ends); otherwise whether it was a
    full listing, how many busy blocks it stored and freed, and the open push channel."""

    removed: bool = False
    full: bool = False
    busy_blocks: int = 0
    freed: int = 0
    channel: CalendarChannel | None = None


class StopChannelInput(BaseModel):
    """Stop the calendar's push channel: the one on record, else `channel` (the workflow's
    last known one, for a provider whose rows are already gone)."""

    calendar: CalendarRef
    channel: CalendarChannel | None = None


class CalendarSyncTimings(BaseModel):
    """How often a calendar is reconciled without a push notification, and how long before a
    push channel expires a new one is opened; settings, so tests can shorten them. Built from
    `Settings` (workflows.client.calendar_sync_timings), which holds their defaults."""

    reconcile_interval: timedelta
    channel_renew_before: timedelta
    retry_initial_interval: timedelta
    retry_maximum_interval: timedelta


class CalendarSyncInput(BaseModel):
    calendar: CalendarRef
    timings: CalendarSyncTimings


class CalendarSyncState(BaseModel):
    """What the calendar sync's `status` query returns."""

    syncs: int = 0
    last_result: CalendarSyncResult | None = None
    channel: CalendarChannel | None = None
    push: str = "not yet watched"
    waiting_for: str | None = None

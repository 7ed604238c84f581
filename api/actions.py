"""What a voice tool or a REST call does once its caller is authenticated and its input read.

Both entry points share these, so a booking made by `POST /voice/vapi`, `POST /voice/retell`
or `POST /bookings` is the same workflow with the same answer, and availability is computed
by one engine (`core.scheduling`).
"""

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.inputs import AvailabilityQuery, BookingFields
from api.metrics import ApiMetrics, Channel
from core import messages
from core.config import Settings
from core.errors import BackendUnavailable, InvalidInput, NotFound
from core.logs import bind_log_context
from core.models import BookResult, CancelRequest, LifecycleResult, RescheduleRequest
from core.names import booking_workflow_id
from core.normalize import normalize_phone, parse_day
from core.orgs import Org
from core.repositories import bookings as booking_repo
from core.repositories import orgs as org_repo
from core.scheduling import (
    BusyTimes,
    DayAvailability,
    Provider,
    day_availability,
    provider_and_service,
    rules_for,
)
from workflows.client import book_input, request_booking, timings_from

log = logging.getLogger(__name__)

_TRY_AGAIN = "Sorry, the booking system is busy right now. Please try again in a moment."


@dataclass(frozen=True, slots=True)
class AvailabilityAnswer:
    """Free times on a day (UTC instants) and the sentence an agent can read out."""

    today: date
    provider: str
    service: str
    moved_to_this_year: bool
    free: DayAvailability
    message: str

    def facts(self, org: Org) -> dict[str, Any]:
        """The structured answer beside the sentence: local ISO times in the org's zone."""
        free = self.free
        return {
            "today": self.today.isoformat(),
            "date": free.day.isoformat(),
            "time_zone": org.time_zone.key,
            "provider": self.provider,
            "service": self.service,
            "free_starts": _local_iso(free.starts, org),
            "next_open_day": free.next_day.isoformat() if free.next_day else None,
            "next_free_starts": _local_iso(free.next_starts, org),
            "calendar_checked": free.calendar_checked,
        }


def _bounded_key(key: str) -> str:
    """Keys are stored in workflow payloads (500 characters at most): hash longer ones."""
    if len(key) <= 200:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def booking_facts(result: BookResult, org: Org) -> dict[str, Any]:
    """A booking answer's facts, times as local ISO in the org's zone."""
    return {
        "outcome": result.outcome,
        "booking_id": str(result.booking_id) if result.booking_id else None,
        "start": result.start.astimezone(org.time_zone).isoformat() if result.start else None,
        "alternatives": _local_iso(result.alternatives, org),
    }


def change_facts(result: LifecycleResult, org: Org) -> dict[str, Any]:
    """A reschedule or cancel answer's facts, times as local ISO in the org's zone."""
    return {
        "outcome": result.outcome,
        "start": result.start.astimezone(org.time_zone).isoformat() if result.start else None,
        "alternatives": _local_iso(result.alternatives, org),
    }


def _local_iso(instants: list[datetime], org: Org) -> list[str]:
    return [at.astimezone(org.time_zone).isoformat() for at in instants]


class BookingActions:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        temporal: Client,
        settings: Settings,
        busy_times: BusyTimes,
        metrics: ApiMetrics,
    ) -> None:
        self._pool = pool
        self._temporal = temporal
        self._settings = settings
        self._busy_times = busy_times
        self._metrics = metrics

    async def availability(self, org: Org, query: AvailabilityQuery) -> AvailabilityAnswer:
        """Free starts on the asked day (and the next open day if none); InvalidInput for a bad
        day, service or provider."""
        bind_log_context(org=org.slug, org_id=org.id)
        now = datetime.now(UTC)
        parsed = parse_day(query.date, tz=org.time_zone, now=now)
        async with self._pool.acquire() as conn:
            org_row = await org_repo.org_settings(conn, org_id=org.id)
            provider, service = await provider_and_service(
                conn, org_id=org.id, provider=query.provider, service=query.service
            )
            rules = await rules_for(conn, org=org_row, service=service)
            free = await day_availability(
                conn,
                self._busy_times,
                org_id=org.id,
                provider=Provider(provider["id"], provider["calendar_id"]),
                rules=rules,
                day=parsed.day,
                now=now,
            )
        today = now.astimezone(org.time_zone).date()
        return AvailabilityAnswer(
            today=today,
            provider=provider["name"],
            service=service["name"],
            moved_to_this_year=parsed.moved_to_this_year,
            free=free,
            message=messages.availability(
                today=today,
                day=parsed.day,
                provider=provider["name"],
                starts=free.starts,
                next_day=free.next_day,
                next_starts=free.next_starts,
                tz=org.time_zone,
                step=rules.step,
            ),
        )

    async def book(
        self,
        org: Org,
        fields: BookingFields,
        *,
        idempotency_key: str,
        caller_phone: str | None = None,
        channel: Channel = "rest",
    ) -> BookResult:
        """Run (or join) the booking workflow for this key and return its answer.

        BackendUnavailable when Temporal does not answer within BOOKING_ANSWER_TIMEOUT; the same
        key asked again joins the same workflow, so retrying is safe. Every answer is counted
        by outcome and channel; no answer at all counts as `error`.
        """
        outcome = "error"
        try:
            result = await self._book(
                org, fields, idempotency_key=idempotency_key, caller_phone=caller_phone
            )
            outcome = result.outcome
            return result
        finally:
            self._metrics.bookings.labels(outcome, channel).inc()

    async def _book(
        self, org: Org, fields: BookingFields, *, idempotency_key: str, caller_phone: str | None
    ) -> BookResult:
        request = book_input(
            org_id=org.id,
            org_slug=org.slug,
            idempotency_key=_bounded_key(idempotency_key),
            # The platform's caller number is a default, not input to refuse: drop a bad one.
            caller_phone=caller_phone if caller_phone and len(caller_phone) <= 100 else None,
            **fields.model_dump(),
        )
        bind_log_context(
            org=org.slug,
            org_id=org.id,
            booking_id=request.booking_id,
            workflow_id=booking_workflow_id(request.booking_id),
        )
        try:
            return await asyncio.wait_for(
                request_booking(
                    self._temporal,
                    request,
                    task_queue=self._settings.temporal_task_queue,
                    timings=timings_from(self._settings),
                ),
                timeout=self._settings.booking_answer_timeout.total_seconds(),
            )
        except TimeoutError:
            log.warning("booking %s: no answer in time", request.booking_id)
        except (RPCError, WorkflowUpdateFailedError, WorkflowFailureError) as error:
            log.warning("booking %s: Temporal error %s", request.booking_id, type(error).__name__)
        raise BackendUnavailable(_TRY_AGAIN)


class BookingChanges:
    """Reschedule and cancel: find the booking in the org, then ask its workflow (an update,
    so the caller gets the workflow's answer)."""

    def __init__(
        self, *, pool: asyncpg.Pool, temporal: Client, settings: Settings, metrics: ApiMetrics
    ) -> None:
        self._pool = pool
        self._temporal = temporal
        self._timeout = settings.booking_answer_timeout.total_seconds()
        self._metrics = metrics

    async def reschedule(
        self,
        org: Org,
        request: RescheduleRequest,
        *,
        booking_id: str | None,
        caller_phone: str | None,
        update_id: str,
        channel: Channel = "rest",
    ) -> LifecycleResult:
        return await self._change(
            "reschedule", request, org, booking_id, caller_phone, update_id, channel
        )

    async def cancel(
        self,
        org: Org,
        request: CancelRequest,
        *,
        booking_id: str | None,
        caller_phone: str | None,
        update_id: str,
        channel: Channel = "rest",
    ) -> LifecycleResult:
        return await self._change(
            "cancel", request, org, booking_id, caller_phone, update_id, channel
        )

    async def _change(
        self,
        change: Literal["reschedule", "cancel"],
        request: RescheduleRequest | CancelRequest,
        org: Org,
        booking_id: str | None,
        caller_phone: str | None,
        update_id: str,
        channel: Channel,
    ) -> LifecycleResult:
        """Ask the booking's workflow; its answer is counted by outcome, a raised error by kind."""
        outcome = "error"
        try:
            workflow_id = await self._workflow_of(org, booking_id, caller_phone)
            result = await self._ask(workflow_id, f"{change}_booking", request, update_id)
            outcome = result.outcome
            return result
        except InvalidInput:
            outcome = "invalid"
            raise
        except NotFound:
            outcome = "not_found"
            raise
        finally:
            self._metrics.changes.labels(change, outcome, channel).inc()

    async def _workflow_of(self, org: Org, booking_id: str | None, caller_phone: str | None) -> str:
        """The workflow of the named booking, or of the caller's next upcoming one."""
        bind_log_context(org=org.slug, org_id=org.id)
        if booking_id:
            try:
                parsed = UUID(booking_id)
            except ValueError:
                raise InvalidInput("That booking id isn't valid.", field="booking_id") from None
            try:
                row = await booking_repo.get(self._pool, org_id=org.id, booking_id=parsed)
            except NotFound:
                raise NotFound("I couldn't find that booking.") from None
            workflow_id: str = row["workflow_id"]
            return workflow_id
        if not caller_phone:
            raise InvalidInput(
                "Which booking? I need its id or the caller's number.", field="booking_id"
            )
        phone = normalize_phone(caller_phone, org.default_region)
        upcoming = await booking_repo.next_upcoming_for_phone(
            self._pool, org_id=org.id, phone=phone, after=datetime.now(UTC)
        )
        if upcoming is None:
            raise NotFound("I couldn't find an upcoming appointment for this phone number.")
        found: str = upcoming["workflow_id"]
        return found

    async def _ask(
        self,
        workflow_id: str,
        update: str,
        request: RescheduleRequest | CancelRequest,
        update_id: str,
    ) -> LifecycleResult:
        bind_log_context(workflow_id=workflow_id)  # booking_id follows from it
        handle = self._temporal.get_workflow_handle(workflow_id)
        try:
            return await asyncio.wait_for(
                handle.execute_update(
                    update, request, id=_bounded_key(update_id), result_type=LifecycleResult
                ),
                timeout=self._timeout,
            )
        except WorkflowUpdateFailedError as error:
            # The validator refused (cancelled, failed, already started): its reason is the answer.
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            return LifecycleResult(outcome="refused", message=message)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return LifecycleResult(
                    outcome="refused", message="This booking can no longer be changed."
                )
            log.warning("change of %s: Temporal error %s", workflow_id, error.status)
        except TimeoutError:
            log.warning("change of %s: no answer in time", workflow_id)
        raise BackendUnavailable(_TRY_AGAIN)

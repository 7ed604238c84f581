"""What a voice tool or a REST call does once its caller is authenticated and its input read.

Both entry points share these, so a booking made by `POST /voice/vapi`, `POST /voice/retell`
or `POST /bookings` is the same workflow with the same answer, and availability is computed
by one engine (`core.services.scheduling`).
"""

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from api.inputs import AvailabilityQuery, BookingFields
from api.metrics import ApiMetrics, Channel
from core.domain import messages
from core.domain.ids import booking_workflow_id
from core.domain.normalize import parse_day
from core.errors import BackendUnavailable
from core.infra.config import Settings
from core.infra.logs import bind_log_context
from core.services.orgs import Org
from core.services.scheduling import CatalogCache, DayAvailability, day_availability
from core.temporal.models import BookResult
from workflows.client import book_input, request_booking, timings_from

log = logging.getLogger(__name__)


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
            "free_starts": local_iso(free.starts, org),
            "next_open_day": free.next_day.isoformat() if free.next_day else None,
            "next_free_starts": local_iso(free.next_starts, org),
            # How fresh the calendar's busy times in this answer are (None: never synced).
            "calendar_synced_at": (
                free.calendar_synced_at.isoformat() if free.calendar_synced_at else None
            ),
        }


def bounded_key(key: str) -> str:
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
        "alternatives": local_iso(result.alternatives, org),
    }


def local_iso(instants: list[datetime], org: Org) -> list[str]:
    return [at.astimezone(org.time_zone).isoformat() for at in instants]


class BookingActions:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        temporal: Client,
        settings: Settings,
        catalogs: CatalogCache,
        metrics: ApiMetrics,
    ) -> None:
        self._pool = pool
        self._temporal = temporal
        self._settings = settings
        self._catalogs = catalogs
        self._metrics = metrics

    async def availability(self, org: Org, query: AvailabilityQuery) -> AvailabilityAnswer:
        """Free starts on the asked day (and the next open day if none); InvalidInput for a bad
        day, service or provider."""
        now = datetime.now(UTC)
        parsed = parse_day(query.date, tz=org.time_zone, now=now)
        provider, service, rules, free = await day_availability(
            self._pool,
            self._catalogs,
            org_id=org.id,
            provider_name=query.provider,
            service_name=query.service,
            day=parsed.day,
            now=now,
        )
        today = now.astimezone(org.time_zone).date()
        return AvailabilityAnswer(
            today=today,
            provider=provider.name,
            service=service.name,
            moved_to_this_year=parsed.moved_to_this_year,
            free=free,
            message=messages.availability(
                today=today,
                day=parsed.day,
                provider=provider.name,
                starts=free.starts,
                next_day=free.next_day,
                next_starts=free.next_starts,
                tz=org.time_zone,
                step=rules.step,
                locale=org.locale,
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
            idempotency_key=bounded_key(idempotency_key),
            locale=org.locale,
            # The platform's caller number is a default, not input to refuse: drop a bad one.
            caller_phone=caller_phone if caller_phone and len(caller_phone) <= 100 else None,
            **fields.model_dump(exclude={"language"}),
        )
        # The org is already bound by authentication (api/auth.py).
        bind_log_context(
            booking_id=request.booking_id, workflow_id=booking_workflow_id(request.booking_id)
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
        except (TimeoutError, RPCTimeoutOrCancelledError):
            # wait_for cancels the update RPC at the deadline; the SDK reports that as its own
            # error rather than the CancelledError wait_for would turn into TimeoutError.
            log.warning("booking %s: no answer in time", request.booking_id)
        except (RPCError, WorkflowUpdateFailedError, WorkflowFailureError) as error:
            log.warning("booking %s: Temporal error %s", request.booking_id, type(error).__name__)
        raise BackendUnavailable(messages.say(messages.WORKFLOW_DID_NOT_ANSWER, request.locale))

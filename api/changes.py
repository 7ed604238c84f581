"""Reschedule and cancel: find the caller's booking in the org, then ask its workflow.

The workflow answers (an update), so the caller hears what actually happened: moved, kept
because the new time is taken, or refused because the booking can no longer change.
"""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.actions import bounded_key, local_iso
from api.metrics import ApiMetrics, Channel
from core.domain import messages
from core.domain.language import N_
from core.domain.normalize import normalize_phone
from core.errors import BackendUnavailable, InvalidInput, NotFound
from core.infra.config import Settings
from core.infra.logs import bind_log_context
from core.repositories import bookings as booking_repo
from core.services.orgs import Org
from core.temporal.models import CancelChange, LifecycleResult, RescheduleChange
from workflows.client import cancel_booking, reschedule_booking

log = logging.getLogger(__name__)


def change_facts(result: LifecycleResult, org: Org) -> dict[str, Any]:
    """A reschedule or cancel answer's facts, times as local ISO in the org's zone."""
    return {
        "outcome": result.outcome,
        "start": result.start.astimezone(org.time_zone).isoformat() if result.start else None,
        "alternatives": local_iso(result.alternatives, org),
    }


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

    async def change(
        self,
        org: Org,
        request: RescheduleChange | CancelChange,
        *,
        booking_id: str | None,
        caller_phone: str | None,
        update_id: str,
        channel: Channel = "rest",
    ) -> LifecycleResult:
        """Move or cancel the named booking (or the caller's next upcoming one) by asking its
        workflow; the answer is counted by outcome, a raised error by kind."""
        change = "reschedule" if isinstance(request, RescheduleChange) else "cancel"
        outcome = "error"
        try:
            workflow_id = await self._workflow_of(org, booking_id, caller_phone)
            result = await self._ask(workflow_id, request, update_id)
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
        if booking_id:
            try:
                parsed = UUID(booking_id)
            except ValueError:
                raise InvalidInput(N_("That booking id isn't valid."), field="booking_id") from None
            try:
                booking = await booking_repo.get(self._pool, org_id=org.id, booking_id=parsed)
            except NotFound:
                raise NotFound(N_("I couldn't find that booking.")) from None
            return booking.workflow_id
        if not caller_phone:
            raise InvalidInput(
                N_("Which booking? I need its id or the caller's number."), field="booking_id"
            )
        phone = normalize_phone(caller_phone, org.default_region)
        upcoming = await booking_repo.next_upcoming_for_phone(
            self._pool, org_id=org.id, phone=phone, after=datetime.now(UTC)
        )
        if upcoming is None:
            raise NotFound(N_("I couldn't find an upcoming appointment for this phone number."))
        return upcoming.workflow_id

    async def _ask(
        self, workflow_id: str, request: RescheduleChange | CancelChange, update_id: str
    ) -> LifecycleResult:
        bind_log_context(workflow_id=workflow_id)  # booking_id follows from it
        key = bounded_key(update_id)
        try:
            if isinstance(request, RescheduleChange):
                asked = reschedule_booking(self._temporal, workflow_id, request, update_id=key)
            else:
                asked = cancel_booking(self._temporal, workflow_id, request, update_id=key)
            return await asyncio.wait_for(asked, timeout=self._timeout)
        except WorkflowUpdateFailedError as error:
            # The validator refused (cancelled, failed, already started): its reason is the answer.
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            return LifecycleResult(outcome="refused", message=message)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return LifecycleResult(
                    outcome="refused", message=N_("This booking can no longer be changed.")
                )
            log.warning("change of %s: Temporal error %s", workflow_id, error.status)
        except (TimeoutError, RPCTimeoutOrCancelledError):
            # The SDK reports the update RPC cancelled by wait_for as its own error.
            log.warning("change of %s: no answer in time", workflow_id)
        raise BackendUnavailable(messages.WORKFLOW_DID_NOT_ANSWER)

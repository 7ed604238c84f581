"""What the chapters of BookingWorkflow (lifecycle.py, compensation.py, legacy.py) use of it.

They are functions of the running workflow rather than its methods, so that booking.py reads
as the booking's story; this Protocol names what they may touch, and spares them importing
the workflow class (which imports them).
"""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.activity_options import ActivityOptions
from workflows.progress import BookingProgress

with workflow.unsafe.imports_passed_through():
    from core.temporal.models import (
        BookingRef,
        BookingRequest,
        BookingState,
        BookInput,
        BookResult,
        SmsKind,
        WorkflowTimings,
    )

T = TypeVar("T")


class BookingRun(Protocol):
    """The running BookingWorkflow, as its chapters see it."""

    caller_input: BookInput
    timings: WorkflowTimings
    booking_request: BookingRequest | None
    progress: BookingProgress
    state: BookingState
    side_effects: str  # the side-effect task queue
    one_statement: bool
    settled: bool  # phase 2 is over: changes may proceed
    finished: bool  # cancelled: the workflow ends
    wake: bool  # a change re-arms the reminder timer
    lock: asyncio.Lock

    def rejection(self, error: ActivityError | ApplicationError) -> BookResult: ...
    async def send_sms(self, ref: BookingRef, kind: SmsKind, send_key: str) -> None: ...
    async def attempts(
        self, what: str, attempt: Callable[[], Awaitable[T]], *, give_up_at: datetime | None
    ) -> T: ...
    def durable(
        self, *, heartbeat: timedelta | None = None, give_up_after: timedelta | None = None
    ) -> ActivityOptions: ...
    def calendar_deadline(self, starts_at: datetime) -> datetime: ...
    def ref(self) -> BookingRef: ...
    def zone(self) -> ZoneInfo: ...

    def locale(self) -> str: ...
    def spawn(self, work: Coroutine[Any, Any, None]) -> None: ...

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

    _input: BookInput
    _timings: WorkflowTimings
    _request: BookingRequest | None
    _progress: BookingProgress
    _state: BookingState
    _side_effects: str  # the side-effect task queue
    _one_statement: bool
    _settled: bool  # phase 2 is over: changes may proceed
    _finished: bool  # cancelled: the workflow ends
    _wake: bool  # a change re-arms the reminder timer
    _lock: asyncio.Lock

    def _rejection(self, error: ActivityError | ApplicationError) -> BookResult: ...
    async def _send_sms(self, ref: BookingRef, kind: SmsKind, send_key: str) -> None: ...
    async def _attempts(
        self, what: str, attempt: Callable[[], Awaitable[T]], *, give_up_at: datetime | None
    ) -> T: ...
    def _durable(
        self, *, heartbeat: timedelta | None = None, give_up_after: timedelta | None = None
    ) -> ActivityOptions: ...
    def _calendar_deadline(self, starts_at: datetime) -> datetime: ...
    def _ref(self) -> BookingRef: ...
    def _zone(self) -> ZoneInfo: ...
    def _spawn(self, work: Coroutine[Any, Any, None]) -> None: ...

"""How the booking workflow calls its activities: three kinds of call, each named once.

- `answer_path()`: while a caller waits (phase 1, a move, a cancellation). A local activity on
  the booking task queue, a few quick attempts, then an honest "try again".
- `durable(...)`: side effects and compensation (texts, releasing or restoring a slot,
  deleting an event) on the side-effect task queue, retried by the server with the timings'
  backoff until they succeed, or until a text is no longer worth sending.
- `one_attempt(...)` with `retry_until(...)`: calendar steps that must stop at a deadline
  (creating the event before the appointment, moving it) or whose attempts an operator should
  see (deleting the event after a cancel). The server runs one attempt; the workflow's own
  loop retries it with the same backoff.

Which retry a new activity should use: `durable`, the server's RetryPolicy. The workflow's loop
exists for two things the RetryPolicy cannot do: the workflow sees every failed attempt, so its
current details can say "calendar: creating the event: attempt 6 failed (... 503 ...)" for an
operator; and the retries stop at a deadline computed from the appointment (which a move can
change), after which the workflow compensates. Use it only when a step needs one of those.

Change an option deliberately: running workflows pick it up for the activities they schedule
next, and the replay test compares activity types and order, not timeouts or retry policies.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypedDict, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.failures import describe, retryable

with workflow.unsafe.imports_passed_through():
    from core.temporal.models import CalendarSyncTimings, WorkflowTimings

T = TypeVar("T")

# A caller is waiting: three attempts 200 ms apart, five seconds each.
_ANSWER_TIMEOUT = timedelta(seconds=5)
_ANSWER_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
SIDE_EFFECT_TIMEOUT = timedelta(seconds=30)
# Phase 2's one activity: a calendar insert and a text, each bounded by its client's timeout.
CONFIRMATION_TIMEOUT = timedelta(seconds=75)
# Activities that wait on a vendor heartbeat: a dead worker's attempt is retried elsewhere
# this soon, instead of after the whole start-to-close timeout.
VENDOR_HEARTBEAT = timedelta(seconds=10)
# A text not sent within this is no longer worth sending.
SMS_GIVE_UP_AFTER = timedelta(hours=6)
# Even an imminent appointment gets a few attempts before compensation.
_MIN_CALENDAR_WINDOW = timedelta(seconds=5)
_ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)


class LocalActivityOptions(TypedDict):
    """Keyword arguments of `workflow.execute_local_activity(_method)`."""

    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy


class ActivityOptions(TypedDict):
    """Keyword arguments of `workflow.execute_activity(_method)`; None is the SDK's default."""

    task_queue: str
    start_to_close_timeout: timedelta
    heartbeat_timeout: timedelta | None
    schedule_to_close_timeout: timedelta | None
    retry_policy: RetryPolicy


def answer_path(retry: RetryPolicy = _ANSWER_RETRY) -> LocalActivityOptions:
    """A local activity a caller waits for: `retry` defaults to the few quick attempts."""
    return LocalActivityOptions(start_to_close_timeout=_ANSWER_TIMEOUT, retry_policy=retry)


def backoff(timings: WorkflowTimings | CalendarSyncTimings) -> RetryPolicy:
    """The server-side retry of side effects: doubling from the timings' initial interval up
    to their maximum, without end."""
    return RetryPolicy(
        initial_interval=timings.retry_initial_interval,
        maximum_interval=timings.retry_maximum_interval,
        backoff_coefficient=2.0,
    )


def durable(
    task_queue: str,
    timings: WorkflowTimings,
    *,
    timeout: timedelta = SIDE_EFFECT_TIMEOUT,
    heartbeat: timedelta | None = None,
    give_up_after: timedelta | None = None,
) -> ActivityOptions:
    """A side effect on `task_queue`, retried by the server (`backoff`) until it succeeds or
    `give_up_after` has passed since it was first scheduled."""
    return ActivityOptions(
        task_queue=task_queue,
        start_to_close_timeout=timeout,
        heartbeat_timeout=heartbeat,
        schedule_to_close_timeout=give_up_after,
        retry_policy=backoff(timings),
    )


def one_attempt(
    task_queue: str, *, timeout: timedelta = SIDE_EFFECT_TIMEOUT, heartbeat: timedelta | None = None
) -> ActivityOptions:
    """A single attempt on `task_queue`, for `retry_until` to retry."""
    return ActivityOptions(
        task_queue=task_queue,
        start_to_close_timeout=timeout,
        heartbeat_timeout=heartbeat,
        schedule_to_close_timeout=None,
        retry_policy=_ONE_ATTEMPT,
    )


async def retry_until(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    give_up_at: datetime | None,
    timings: WorkflowTimings,
    report: Callable[[str], None],
) -> T:
    """Run a `one_attempt` activity until it succeeds, with `backoff`'s intervals, reporting
    each failure: "calendar: attempt 6 failed (... 503 ...); retrying in 8 s". A final
    (non-retryable) error, or a retry that would start after `give_up_at`, raises the last
    ActivityError."""
    delay = timings.retry_initial_interval
    number = 1
    while True:
        try:
            return await attempt()
        except ActivityError as error:
            if not retryable(error):
                raise
            if give_up_at is not None and workflow.now() + delay > give_up_at:
                raise
            report(
                f"{what}: attempt {number} failed ({describe(error)}); "
                f"retrying in {delay.total_seconds():g} s"
            )
            await workflow.sleep(delay)
            number += 1
            delay = min(delay * 2, timings.retry_maximum_interval)


def calendar_deadline(starts_at: datetime, timings: WorkflowTimings) -> datetime:
    """When calendar retries for an appointment at `starts_at` stop: the timings' margin before
    the start, but never sooner than a few seconds from now."""
    deadline = starts_at - timings.calendar_deadline_before_start
    return max(deadline, workflow.now() + _MIN_CALENDAR_WINDOW)

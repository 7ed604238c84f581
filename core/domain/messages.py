"""The words callers hear and read: spoken answers and SMS bodies, one line each.

The booking workflow speaks through these too (its sentences run inside the workflow, so they
depend only on their arguments).
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from core.domain.speech import (
    one_line,
    spoken_date,
    spoken_datetime,
    spoken_time,
    spoken_times_list,
)
from core.domain.statuses import BookingStatus, WorkflowStatus

TECHNICAL_PROBLEM = (
    "Sorry, I couldn't complete the booking because of a technical problem. "
    "Please try again in a moment."
)
NOT_BOOKED = "There is no booking to change: it was never made."
# Why a booking cannot be changed, by the workflow's status; a status not listed can change.
CHANGE_REFUSALS: dict[WorkflowStatus, str] = {
    WorkflowStatus.RECEIVED: "This booking is still being made; please try again in a moment.",
    WorkflowStatus.ALREADY_BOOKED: NOT_BOOKED,  # the caller's booking is another workflow's
    WorkflowStatus.UNAVAILABLE: NOT_BOOKED,
    WorkflowStatus.INVALID: NOT_BOOKED,
    WorkflowStatus.ERROR: NOT_BOOKED,
    WorkflowStatus.COMPENSATING: (
        "This booking could not be confirmed and is being released; please book again."
    ),
    WorkflowStatus.FAILED: (
        "This booking could not be confirmed and was released; please book again."
    ),
    WorkflowStatus.CANCELLED: "This booking is already cancelled.",
}
ALREADY_STARTED = "This appointment has already started, so it can't be changed."
HALF_MOVED = "Sorry, the move went only half through; the clinic will call you."


def booked(*, service: str, provider: str, at: datetime, tz: ZoneInfo, moved: bool) -> str:
    when = spoken_datetime(at, tz)
    note = " (this year's date)" if moved else ""
    return one_line(f"Booked: {service} with {provider} on {when}{note}.")


def already_booked(*, service: str, provider: str, at: datetime, tz: ZoneInfo) -> str:
    """The caller asked again for a time they already hold: that booking, not a second one."""
    return one_line(
        f"You're already booked for that time: {service} with {provider} on "
        f"{spoken_datetime(at, tz)}."
    )


def unavailable(*, reason: str, alternatives: list[datetime], tz: ZoneInfo) -> str:
    if not alternatives:
        return one_line(f"{reason} There are no free times in the next few weeks.")
    if _same_day(alternatives, tz):
        day = spoken_date(alternatives[0].astimezone(tz).date())
        options = f"{day} at {spoken_times_list(alternatives, tz)}"
    else:
        options = "; ".join(spoken_datetime(at, tz) for at in alternatives)
    return one_line(f"{reason} The next free times are {options}.")


def availability(
    *,
    today: date,
    day: date,
    provider: str,
    starts: Sequence[datetime],
    next_day: date | None,
    next_starts: Sequence[datetime],
    tz: ZoneInfo,
    step: timedelta,
) -> str:
    """What is free on `day`, anchored on today's date so the agent does not guess the year."""
    anchor = f"Today is {spoken_date(today)}."
    if starts:
        times = free_times(starts, tz=tz, step=step)
        return one_line(f"{anchor} On {spoken_date(day)}, {provider} is free {times}.", limit=600)
    if next_day is None:
        return one_line(
            f"{anchor} {provider} has nothing free on {spoken_date(day)} "
            "or in the following weeks.",
        )
    times = free_times(next_starts, tz=tz, step=step)
    return one_line(
        f"{anchor} {provider} has nothing free on {spoken_date(day)}. "
        f"The next open day is {spoken_date(next_day)}: free {times}.",
        limit=600,
    )


def free_times(starts: Sequence[datetime], *, tz: ZoneInfo, step: timedelta) -> str:
    """Start times said compactly: runs one `step` apart become ranges, the step said once.

    "at 9:00 AM"; "every 30 minutes from 9:00 AM to 10:00 AM, from 11:00 AM to 1:30 PM, and
    at 2:30 PM".
    """
    runs: list[list[datetime]] = []
    for at in starts:
        if runs and at - runs[-1][-1] == step:
            runs[-1].append(at)
        else:
            runs.append([at])
    parts: list[str] = []
    every = f"{_spoken_interval(step)} "
    for run in runs:
        if len(run) == 1:
            parts.append(f"at {spoken_time(run[0], tz)}")
        else:
            parts.append(f"{every}from {spoken_time(run[0], tz)} to {spoken_time(run[-1], tz)}")
            every = ""
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])}, and {parts[-1]}"


def _spoken_interval(step: timedelta) -> str:
    minutes = int(step.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "every hour" if hours == 1 else f"every {hours} hours"
    return f"every {minutes} minutes"


def already_on(at: datetime, tz: ZoneInfo) -> str:
    """A move to the time the booking already has."""
    return f"The appointment is already on {spoken_datetime(at, tz)}."


def moved(at: datetime, tz: ZoneInfo) -> str:
    return f"Done: the appointment is moved to {spoken_datetime(at, tz)}."


def move_undone(kept: datetime, tz: ZoneInfo) -> str:
    """The calendar refused the new time, so the booking went back to `kept`."""
    return (
        "Sorry, I couldn't move the appointment because the calendar refused the change; "
        f"it stays on {spoken_datetime(kept, tz)}."
    )


def cancelled(at: datetime, tz: ZoneInfo) -> str:
    return f"Done: the appointment on {spoken_datetime(at, tz)} is cancelled."


def not_cancelled(status: BookingStatus) -> str:
    """The booking's row was in `status` (no longer held or confirmed) when cancelled."""
    return f"This booking is {status}."


# --- find_appointments: a caller's upcoming bookings ---

NO_UPCOMING = "I couldn't find any upcoming appointments for this number."
# Neither a `phone` argument nor a caller number (a web call, a withheld number).
FIND_NEEDS_A_NUMBER = "Which phone number are the appointments under?"
# The platform's caller number is not a phone number libphonenumber accepts.
CALLER_NUMBER_UNREADABLE = (
    "I can't read the number you're calling from; which phone number are the appointments under?"
)
# At most this many are named aloud: a longer list is more than a caller can follow (and more
# than the 300 characters a tool result is cut to).
SPOKEN_APPOINTMENTS = 3


class SpokenAppointment(NamedTuple):
    service: str
    provider: str
    at: datetime


def upcoming_appointments(
    appointments: Sequence[SpokenAppointment], *, more: bool, tz: ZoneInfo
) -> str:
    """A caller's upcoming appointments in one line, soonest first: "You have 2 upcoming
    appointments: Consultation with Dr. Test on ... at 8:00 AM, and ...". `more`: others follow
    the ones given, so the count is "more than N". Nothing given: `NO_UPCOMING`."""
    if not appointments:
        return NO_UPCOMING
    count = len(appointments)
    said = [
        f"{a.service} with {a.provider} on {spoken_datetime(a.at, tz)}"
        for a in appointments[:SPOKEN_APPOINTMENTS]
    ]
    listed = said[0] if len(said) == 1 else f"{', '.join(said[:-1])}, and {said[-1]}"
    if count == 1 and not more:
        return one_line(f"You have one upcoming appointment: {listed}.")
    total = f"more than {count}" if more else str(count)
    if count <= SPOKEN_APPOINTMENTS and not more:
        return one_line(f"You have {total} upcoming appointments: {listed}.")
    return one_line(f"You have {total} upcoming appointments. The next {len(said)}: {listed}.")


def sms_body(
    kind: str, *, org: str, service: str, provider: str, at: datetime, tz: ZoneInfo
) -> str:
    when = spoken_datetime(at, tz)
    texts = {
        "confirmation": f"{org}: your {service} with {provider} is booked for {when}.",
        "apology": f"{org}: sorry, we could not confirm your {service} on {when}. "
        "Please call us to book again.",
        "reminder": f"{org}: reminder of your {service} with {provider} on {when}.",
        "rescheduled": f"{org}: your {service} with {provider} has moved to {when}.",
        "cancelled": f"{org}: your {service} on {when} is cancelled.",
    }
    return one_line(texts[kind] + " Reply STOP to opt out.", limit=480)


def _same_day(times: list[datetime], tz: ZoneInfo) -> bool:
    return len({at.astimezone(tz).date() for at in times}) == 1


# --- Answers when the booking system itself cannot answer (said by api/, not the workflow) ---

# Temporal did not answer a booking, reschedule or cancel in time; the same request may be retried.
WORKFLOW_DID_NOT_ANSWER = (
    "Sorry, the booking system is busy right now. Please try again in a moment."
)
# Postgres is unreachable, so no request can be served; said on voice calls and REST alike.
DATABASE_UNREACHABLE = (
    "The booking system cannot reach its database right now. Please try again shortly."
)
# A bug in a voice tool: the agent hears that it failed, the log gets the trace.
TOOL_FAILED = "Sorry, something went wrong on our side. Please try again in a moment."

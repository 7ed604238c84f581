"""The words callers hear and read: spoken answers and SMS bodies, one line each, per locale.

Sentences are gettext message ids (English), translated through the catalogs in
`core/domain/locales/` (see `core.domain.language`); `N_` marks a constant for extraction and
`say` translates it. The booking workflow speaks through these too (its sentences run inside the
workflow, so they depend only on their arguments: the catalogs are loaded at import).
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.domain.language import DEFAULT_LOCALE, N_, catalog
from core.domain.speech import (
    one_line,
    spoken_date,
    spoken_datetime,
    spoken_list,
    spoken_time,
    spoken_times_list,
)
from core.domain.statuses import BookingStatus, WorkflowStatus


def say(message: str, locale: str = DEFAULT_LOCALE, **values: object) -> str:
    """`message` (an id marked with `N_`) in `locale`, with `values` filled in, as one line."""
    text = catalog(locale).gettext(message)
    return one_line(text.format(**values) if values else text, limit=600)


TECHNICAL_PROBLEM = N_(
    "Sorry, I couldn't complete the booking because of a technical problem. "
    "Please try again in a moment."
)
NOT_BOOKED = N_("There is no booking to change: it was never made.")
# Why a booking cannot be changed, by the workflow's status; a status not listed can change.
CHANGE_REFUSALS: dict[WorkflowStatus, str] = {
    WorkflowStatus.RECEIVED: N_("This booking is still being made; please try again in a moment."),
    WorkflowStatus.ALREADY_BOOKED: NOT_BOOKED,  # the caller's booking is another workflow's
    WorkflowStatus.UNAVAILABLE: NOT_BOOKED,
    WorkflowStatus.INVALID: NOT_BOOKED,
    WorkflowStatus.ERROR: NOT_BOOKED,
    WorkflowStatus.COMPENSATING: N_(
        "This booking could not be confirmed and is being released; please book again."
    ),
    WorkflowStatus.FAILED: N_(
        "This booking could not be confirmed and was released; please book again."
    ),
    WorkflowStatus.CANCELLED: N_("This booking is already cancelled."),
}
ALREADY_STARTED = N_("This appointment has already started, so it can't be changed.")
HALF_MOVED = N_("Sorry, the move went only half through; the clinic will call you.")


def booked(
    *,
    service: str,
    provider: str,
    at: datetime,
    tz: ZoneInfo,
    moved: bool,
    locale: str = DEFAULT_LOCALE,
) -> str:
    when = spoken_datetime(at, tz, locale)
    if moved:
        return say(
            N_("Booked: {service} with {provider} on {when} (this year's date)."),
            locale,
            service=service,
            provider=provider,
            when=when,
        )
    return say(
        N_("Booked: {service} with {provider} on {when}."),
        locale,
        service=service,
        provider=provider,
        when=when,
    )


def already_booked(
    *, service: str, provider: str, at: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE
) -> str:
    """The caller asked again for a time they already hold: that booking, not a second one."""
    return say(
        N_("You're already booked for that time: {service} with {provider} on {when}."),
        locale,
        service=service,
        provider=provider,
        when=spoken_datetime(at, tz, locale),
    )


def unavailable(
    *, reason: str, alternatives: list[datetime], tz: ZoneInfo, locale: str = DEFAULT_LOCALE
) -> str:
    """`reason`: a message id when the rules refused the time (scheduling.REFUSALS), else
    a sentence already in the caller's words; then the next free times, if any."""
    # gettext("") is the catalog's header, so an empty reason stays empty.
    reason = catalog(locale).gettext(reason) if reason else reason
    if not alternatives:
        return say(
            N_("{reason} There are no free times in the next few weeks."), locale, reason=reason
        )
    if _same_day(alternatives, tz):
        day = spoken_date(alternatives[0].astimezone(tz).date(), locale)
        times = spoken_times_list(alternatives, tz, locale=locale)
        return say(
            N_("{reason} The next free times are {day} at {times}."),
            locale,
            reason=reason,
            day=day,
            times=times,
        )
    options = spoken_list([spoken_datetime(at, tz, locale) for at in alternatives], locale)
    return say(
        N_("{reason} The next free times are {options}."), locale, reason=reason, options=options
    )


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
    locale: str = DEFAULT_LOCALE,
) -> str:
    """What is free on `day`, anchored on today's date so the agent does not guess the year."""
    anchor = say(N_("Today is {today}."), locale, today=spoken_date(today, locale))
    said_day = spoken_date(day, locale)
    if starts:
        times = free_times(starts, tz=tz, step=step, locale=locale)
        free = say(
            N_("On {day}, {provider} is free {times}."),
            locale,
            day=said_day,
            provider=provider,
            times=times,
        )
    elif next_day is None:
        free = say(
            N_("{provider} has nothing free on {day} or in the following weeks."),
            locale,
            provider=provider,
            day=said_day,
        )
    else:
        free = say(
            N_(
                "{provider} has nothing free on {day}. "
                "The next open day is {next_day}: free {times}."
            ),
            locale,
            provider=provider,
            day=said_day,
            next_day=spoken_date(next_day, locale),
            times=free_times(next_starts, tz=tz, step=step, locale=locale),
        )
    return one_line(f"{anchor} {free}", limit=600)


def free_times(
    starts: Sequence[datetime], *, tz: ZoneInfo, step: timedelta, locale: str = DEFAULT_LOCALE
) -> str:
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
    every: str | None = _spoken_interval(step, locale)
    for run in runs:
        if len(run) == 1:
            parts.append(say(N_("at {time}"), locale, time=spoken_time(run[0], tz, locale)))
            continue
        start, end = spoken_time(run[0], tz, locale), spoken_time(run[-1], tz, locale)
        if every is None:
            parts.append(say(N_("from {start} to {end}"), locale, start=start, end=end))
        else:
            parts.append(
                say(N_("{every} from {start} to {end}"), locale, every=every, start=start, end=end)
            )
            every = None
    return spoken_list(parts, locale)


def _spoken_interval(step: timedelta, locale: str) -> str:
    minutes = int(step.total_seconds() // 60)
    if minutes == 60:
        return say(N_("every hour"), locale)
    if minutes % 60 == 0:
        return say(N_("every {hours} hours"), locale, hours=minutes // 60)
    return say(N_("every {minutes} minutes"), locale, minutes=minutes)


def already_on(at: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE) -> str:
    """A move to the time the booking already has."""
    return say(
        N_("The appointment is already on {when}."), locale, when=spoken_datetime(at, tz, locale)
    )


def moved(at: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE) -> str:
    return say(
        N_("Done: the appointment is moved to {when}."),
        locale,
        when=spoken_datetime(at, tz, locale),
    )


def move_undone(kept: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE) -> str:
    """The calendar refused the new time, so the booking went back to `kept`."""
    return say(
        N_(
            "Sorry, I couldn't move the appointment because the calendar refused the change; "
            "it stays on {when}."
        ),
        locale,
        when=spoken_datetime(kept, tz, locale),
    )


def cancelled(at: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE) -> str:
    return say(
        N_("Done: the appointment on {when} is cancelled."),
        locale,
        when=spoken_datetime(at, tz, locale),
    )


# A booking row's status, said in a sentence ("This booking is cancelled.").
_STATUS_WORDS: dict[BookingStatus, str] = {
    BookingStatus.HELD: N_("This booking is held."),
    BookingStatus.CONFIRMED: N_("This booking is confirmed."),
    BookingStatus.CANCELLED: N_("This booking is cancelled."),
    BookingStatus.FAILED: N_("This booking is failed."),
}


def not_cancelled(status: BookingStatus, locale: str = DEFAULT_LOCALE) -> str:
    """The booking's row was in `status` (no longer held or confirmed) when cancelled."""
    return say(_STATUS_WORDS.get(status, N_("This booking can no longer be changed.")), locale)


# Each SMS kind's text; the opt-out line follows every one.
SMS_TEXTS: dict[str, str] = {
    "confirmation": N_("{org}: your {service} with {provider} is booked for {when}."),
    "apology": N_(
        "{org}: sorry, we could not confirm your {service} on {when}. Please call us to book again."
    ),
    "reminder": N_("{org}: reminder of your {service} with {provider} on {when}."),
    "rescheduled": N_("{org}: your {service} with {provider} has moved to {when}."),
    "cancelled": N_("{org}: your {service} on {when} is cancelled."),
}
OPT_OUT_LINE = N_("Reply STOP to opt out.")


def sms_body(
    kind: str,
    *,
    org: str,
    service: str,
    provider: str,
    at: datetime,
    tz: ZoneInfo,
    locale: str = DEFAULT_LOCALE,
) -> str:
    text = (
        catalog(locale)
        .gettext(SMS_TEXTS[kind])
        .format(org=org, service=service, provider=provider, when=spoken_datetime(at, tz, locale))
    )
    return one_line(f"{text} {catalog(locale).gettext(OPT_OUT_LINE)}", limit=480)


def _same_day(times: list[datetime], tz: ZoneInfo) -> bool:
    return len({at.astimezone(tz).date() for at in times}) == 1


# --- Answers when the booking system itself cannot answer (said by api/, not the workflow) ---

# Temporal did not answer a booking, reschedule or cancel in time; the same request may be retried.
WORKFLOW_DID_NOT_ANSWER = N_(
    "Sorry, the booking system is busy right now. Please try again in a moment."
)
# Postgres is unreachable, so no request can be served; said on voice calls and REST alike.
DATABASE_UNREACHABLE = N_(
    "The booking system cannot reach its database right now. Please try again shortly."
)
# A bug in a voice tool: the agent hears that it failed, the log gets the trace.
TOOL_FAILED = N_("Sorry, something went wrong on our side. Please try again in a moment.")

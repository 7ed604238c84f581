"""The words callers hear and read: spoken answers and SMS bodies, one line each."""

from datetime import datetime
from zoneinfo import ZoneInfo

from core.speech import one_line, spoken_date, spoken_datetime, spoken_times_list


def booked(*, service: str, provider: str, at: datetime, tz: ZoneInfo, moved: bool) -> str:
    when = spoken_datetime(at, tz)
    note = " (this year's date)" if moved else ""
    return one_line(f"Booked: {service} with {provider} on {when}{note}.")


def unavailable(*, reason: str, alternatives: list[datetime], tz: ZoneInfo) -> str:
    if not alternatives:
        return one_line(f"{reason} There are no free times in the next few weeks.")
    if _same_day(alternatives, tz):
        day = spoken_date(alternatives[0].astimezone(tz).date())
        options = f"{day} at {spoken_times_list(alternatives, tz)}"
    else:
        options = "; ".join(spoken_datetime(at, tz) for at in alternatives)
    return one_line(f"{reason} The next free times are {options}.")


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

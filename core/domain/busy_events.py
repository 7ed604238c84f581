"""Which events of a provider's Google calendar make the provider busy, and when.

Google's own free/busy rules, applied to the event resources `events.list` returns: an event
counts unless it is cancelled, marked free (`transparency: transparent`), or declined by the
calendar's owner. All-day events are dates in the calendar's time zone. Pure: no I/O.
"""

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from core.domain.availability import Interval


def busy_interval(event: Mapping[str, Any], calendar_tz: ZoneInfo) -> Interval | None:
    """The half-open interval the event keeps the calendar busy, or None if it does not."""
    if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
        return None
    if any(
        a.get("self") and a.get("responseStatus") == "declined"
        for a in event.get("attendees") or []
    ):
        return None
    start = _moment(event.get("start"), calendar_tz)
    end = _moment(event.get("end"), calendar_tz)
    if start is None or end is None or end <= start:
        return None
    return start, end


def _moment(value: object, calendar_tz: ZoneInfo) -> datetime | None:
    if not isinstance(value, Mapping):
        return None
    try:
        if value.get("dateTime"):
            moment = datetime.fromisoformat(str(value["dateTime"]))
            if moment.tzinfo is None:
                zone = value.get("timeZone")
                moment = moment.replace(tzinfo=ZoneInfo(str(zone)) if zone else calendar_tz)
            return moment
        if value.get("date"):
            day = date.fromisoformat(str(value["date"]))
            return datetime.combine(day, time(), tzinfo=calendar_tz)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None
    return None

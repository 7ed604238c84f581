"""State of the Google Calendar sandbox: events per calendar, extra busy blocks, free/busy maths.

Behaviour copied from Google Calendar v3: deleting an event only marks it `cancelled` (it can still
be fetched, and its id stays taken), calendars exist implicitly, and free/busy counts every
non-cancelled, non-transparent event plus any busy blocks a test added.
"""

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Google's rule for client-chosen event ids: base32hex characters, 5 to 1024 of them.
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")


class CalendarApiError(Exception):
    """An error the routes answer in Google's JSON error format."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def rfc3339(moment: datetime, tz: str | None = None) -> str:
    """`2025-11-25T14:00:00Z` in UTC, or with the offset of `tz` when given."""
    if tz and tz != "UTC":
        return moment.astimezone(_zone(tz)).isoformat()
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise CalendarApiError(400, "invalid", f"Invalid value for: {what}") from None
    if moment.tzinfo is None:
        raise CalendarApiError(400, "invalid", f"Invalid value for: {what} (missing offset)")
    return moment


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarApiError(400, "timeZoneInvalid", f"Invalid time zone: {name}") from None


def event_time(event: dict[str, Any], key: str) -> datetime:
    """Start or end of an event as an aware datetime (all-day dates count from midnight there)."""
    value = event.get(key)
    if not isinstance(value, dict):
        raise CalendarApiError(400, "required", f"Missing {key} time.")
    tz = value.get("timeZone")
    if "dateTime" in value:
        moment = datetime.fromisoformat(value["dateTime"])
        if moment.tzinfo is None:
            if not tz:
                raise CalendarApiError(
                    400, "required", f"Missing time zone definition for {key} time."
                )
            moment = moment.replace(tzinfo=_zone(tz))
        return moment
    if "date" in value:
        day = datetime.fromisoformat(value["date"])
        return day.replace(tzinfo=_zone(tz) if tz else UTC)
    raise CalendarApiError(400, "required", f"Missing {key} time.")


def check_times(event: dict[str, Any]) -> None:
    try:
        start, end = event_time(event, "start"), event_time(event, "end")
    except ValueError:
        raise CalendarApiError(400, "invalid", "Invalid start or end time.") from None
    if end < start:
        raise CalendarApiError(400, "timeRangeEmpty", "The specified time range is empty.")


@dataclass
class CalendarState:
    """Events keyed by (calendar id, event id); deleted events stay, marked cancelled.

    `created` lists every insert that stored a new event, as it was stored, in order. Stored
    events alone cannot show a duplicate: a second insert under the same id is refused (409),
    and one under a new id looks like any other event. Creations can be counted per calendar,
    or per whatever the client wrote into the event (its description, say).
    """

    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    busy_blocks: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.events.clear()
        self.busy_blocks.clear()
        self.created.clear()

    def store_new(self, calendar_id: str, event: dict[str, Any]) -> None:
        """Store an event under an id not taken yet, and count the creation."""
        self.events[(calendar_id, event["id"])] = event
        self.created.append({"calendar_id": calendar_id, **copy.deepcopy(event)})

    def get(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        event = self.events.get((calendar_id, event_id))
        if event is None:
            raise CalendarApiError(404, "notFound", "Not Found")
        return event

    def busy(
        self, calendar_id: str, time_min: datetime, time_max: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Merged busy intervals of one calendar, clipped to [time_min, time_max)."""
        intervals = list(self.busy_blocks.get(calendar_id, []))
        for (cal, _), event in self.events.items():
            if cal != calendar_id or event.get("status") == "cancelled":
                continue
            if event.get("transparency") == "transparent":
                continue
            intervals.append((event_time(event, "start"), event_time(event, "end")))
        clipped = sorted(
            (max(start, time_min), min(end, time_max))
            for start, end in intervals
            if start < time_max and end > time_min and end > start
        )
        merged: list[tuple[datetime, datetime]] = []
        for start, end in clipped:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        if end <= start:
            raise ValueError("end must be after start")
        self.busy_blocks.setdefault(calendar_id, []).append((start, end))


def now_rfc3339() -> str:
    """Google's millisecond timestamps, e.g. `2025-11-25T14:00:00.000Z`."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"

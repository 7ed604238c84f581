"""State of the Google Calendar sandbox: events per calendar, busy events added by hand.

Behaviour copied from Google Calendar v3: deleting an event only marks it `cancelled` (it can still
be fetched, and its id stays taken), and calendars exist implicitly.
"""

import copy
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.calendar_push import PushChannels

# Google's rule for client-chosen event ids: base32hex characters, 5 to 1024 of them.
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")


class CalendarApiError(Exception):
    """An error the routes answer in Google's JSON error format."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def rfc3339(moment: datetime) -> str:
    """`2025-11-25T14:00:00Z`: the moment in UTC."""
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

    Every change to an event takes the next number of one sequence (`changes`): a sync token
    is the number a listing reached, so an incremental listing returns what changed after it.
    Invalidating tokens (a new `token_generation`) makes old ones answer 410, as Google does
    when a token has expired.
    """

    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[tuple[str, str], int] = field(default_factory=dict)
    sequence: int = 0
    token_generation: int = 0
    push: PushChannels = field(default_factory=PushChannels)

    def reset(self) -> None:
        self.events.clear()
        self.created.clear()
        self.changes.clear()
        self.token_generation += 1
        self.push.reset()

    def store_new(self, calendar_id: str, event: dict[str, Any]) -> None:
        """Store an event under an id not taken yet, and count the creation."""
        self.events[(calendar_id, event["id"])] = event
        self.created.append({"calendar_id": calendar_id, **copy.deepcopy(event)})
        self.touch(calendar_id, event["id"])

    def touch(self, calendar_id: str, event_id: str) -> None:
        """Record a change to the event and notify the calendar's channels."""
        self.sequence += 1
        self.changes[(calendar_id, event_id)] = self.sequence
        self.push.changed(calendar_id)

    def changed_since(self, calendar_id: str, after: int, upto: int) -> list[dict[str, Any]]:
        """The calendar's events whose last change is in (after, upto], oldest change first."""
        found = [
            (number, self.events[key])
            for key, number in self.changes.items()
            if key[0] == calendar_id and after < number <= upto
        ]
        return [event for _, event in sorted(found, key=lambda pair: pair[0])]

    def get(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        event = self.events.get((calendar_id, event_id))
        if event is None:
            raise CalendarApiError(404, "notFound", "Not Found")
        return event

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> str:
        """A busy event the clinic put in the calendar by hand; returns its id."""
        if end <= start:
            raise ValueError("end must be after start")
        event_id = secrets.token_hex(13)
        now = now_rfc3339()
        self.events[(calendar_id, event_id)] = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "summary": "Busy",
            "start": {"dateTime": rfc3339(start)},
            "end": {"dateTime": rfc3339(end)},
            "transparency": "opaque",
            "created": now,
            "updated": now,
        }
        self.touch(calendar_id, event_id)
        return event_id


def now_rfc3339() -> str:
    """Google's millisecond timestamps, e.g. `2025-11-25T14:00:00.000Z`."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
